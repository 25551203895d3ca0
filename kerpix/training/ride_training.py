"""RIDE's training schedule (Theis & Bethge 2015): SGD with momentum 0.9
over a patch-size curriculum with a decreasing learning rate, the MCGSM
fine-tuned with L-BFGS after each stage (`finetune_mcgsm`).

A RIDE's weights do not depend on the image size, so each stage trains a
`model.resized(patch)` copy on random crops and copies the weights back.
"""

import keras
import numpy as np

from kerpix.training.ride_finetuning import finetune_mcgsm

# (patch size, epochs, learning rate): growing patches, shrinking steps.
DEFAULT_STAGES = ((8, 2, 1e-3), (12, 2, 5e-4), (16, 2, 2.5e-4))


def train_ride(
    model,
    images,
    validation_images,
    stages=DEFAULT_STAGES,
    batch_size=32,
    momentum=0.9,
    finetune_iterations=50,
    finetune_images=1000,
    seed=0,
    adapt=True,
    verbose=1,
):
    """Train `model` (a `kerpix.models.RIDE`) with the paper's schedule.

    For each `(patch, epochs, learning_rate)` stage: random `patch ×
    patch` crops of `images` (a new crop per image and epoch), SGD with
    `momentum` on the NLL bound, then `finetune_mcgsm` on crops of up to
    `finetune_images` training and validation images. The weights end up
    in `model` (its own size may differ from the patches).

    Args:
        model: a `RIDE` / `MCGSM`.
        images, validation_images: integer images at least as large as the
            largest patch.
        stages: sequence of `(patch, epochs, learning_rate)`.
        batch_size: int. Defaults to `32`.
        momentum: float. Defaults to `0.9`.
        finetune_iterations: L-BFGS iterations per stage (0: none).
        finetune_images: int. Images used for fine-tuning.
        seed: int. Seed of the crops and the dequantization noise.
        adapt: bool. Fit the model's preconditioner to `images` first
            (`RIDE.adapt`). Defaults to `True`.
        verbose: 0, 1 or 2.

    Returns:
        A list of per-stage dicts: `patch`, Keras `history`, fine-tuning
        `finetune` history.
    """
    images = np.asarray(images)
    validation_images = np.asarray(validation_images)
    largest = max(patch for patch, _, _ in stages)
    height, width = images.shape[1:3]
    if largest > min(height, width) or largest > min(
        validation_images.shape[1:3]
    ):
        raise ValueError(
            "Invalid value for argument `stages`. Patches must fit in the "
            f"images ({height}×{width}). Received: largest patch {largest}"
        )
    if adapt:
        model.adapt(images, seed=seed)
    rng = np.random.default_rng(seed)
    report = []
    for patch, epochs, learning_rate in stages:
        stage = model.resized((patch, patch, 1))
        stage.compile(
            optimizer=keras.optimizers.SGD(learning_rate, momentum=momentum)
        )
        # One pass over `epochs` fresh crops per image = `epochs` epochs.
        crops = _crops(images, patch, epochs, rng)
        history = stage.fit(
            crops,
            epochs=1,
            batch_size=batch_size,
            validation_data=_crops(validation_images, patch, 1, rng),
            verbose=verbose,
        )
        finetune = None
        if finetune_iterations:
            finetune = finetune_mcgsm(
                stage,
                _crops(images[:finetune_images], patch, 1, rng),
                _crops(validation_images[:finetune_images], patch, 1, rng),
                max_iterations=finetune_iterations,
                seed=seed,
                verbose=int(verbose == 1),
            )
        model.set_weights(stage.get_weights())
        report.append(
            {"patch": patch, "history": history.history, "finetune": finetune}
        )
    return report


def _crops(images, patch, repeats, rng):
    """`repeats` random `patch × patch` crops of every image, stacked."""
    n, height, width = images.shape[:3]
    out = []
    for _ in range(repeats):
        i = rng.integers(0, height - patch + 1, n)
        j = rng.integers(0, width - patch + 1, n)
        out.append(
            np.stack(
                [
                    img[a : a + patch, b : b + patch]
                    for img, a, b in zip(images, i, j)
                ]
            )
        )
    return np.concatenate(out)
