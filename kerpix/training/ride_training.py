"""RIDE's training schedule (Theis & Bethge 2015; the reference code's
`code/experiments/train.py`): SGD with momentum 0.9 over a patch-size
curriculum with a falling learning rate, one epoch per stage, the MCGSM
fine-tuned with L-BFGS after each stage, and validation early stopping
between stages.

A RIDE's weights do not depend on the image size, so each stage trains a
`model.resized(patch)` copy on patches and copies the weights back.
"""

import time

import keras
import numpy as np

from kerpix.training.ride_finetuning import finetune_mcgsm

# The reference code's defaults: patch sizes 8, 10, ..., 22 with learning
# rates 1, .5, .1, .05, .01, .005, .001, .0005 of the mean NLL per pixel
# (nats), one epoch each.
PAPER_STAGES = (
    (8, 1, 1.0),
    (10, 1, 0.5),
    (12, 1, 0.1),
    (14, 1, 0.05),
    (16, 1, 0.01),
    (18, 1, 0.005),
    (20, 1, 0.001),
    (22, 1, 0.0005),
)


def train_ride(
    model,
    images,
    validation_images,
    stages=PAPER_STAGES,
    batch_size=50,
    momentum=0.9,
    finetune_iterations=50,
    finetune_images=4000,
    augment=True,
    train_means=False,
    max_minutes=None,
    finetune_share=0.25,
    on_worse="stop",
    seed=0,
    adapt=True,
    max_steps=None,
    verbose=1,
):
    """Train `model` (a `kerpix.models.RIDE`) with the paper's schedule.

    For each `(patch, epochs, learning_rate)` stage: every training image
    is cut into `patch × patch` tiles at a random offset (plus their
    left-right mirror images with `augment`), and SGD with `momentum`
    makes `epochs` passes over the tiles. `learning_rate` is the step on
    the **mean NLL per pixel** in nats, as in the reference code (kerpix's
    loss is the NLL per image, so SGD is given `learning_rate / patch²`:
    the same update). Then `finetune_mcgsm` fits the MCGSM by L-BFGS on
    tiles of up to `finetune_images` training images. After every stage
    the bound on `validation_images` (at their own size) is measured; a
    stage that makes it worse is undone and training stops, as in the
    reference code. The weights end up in `model` (its own size may
    differ from the patches).

    Args:
        model: a `RIDE` / `MCGSM` with integer levels.
        images, validation_images: integer images at least as large as
            the largest patch.
        stages: sequence of `(patch, epochs, learning_rate)`. Defaults to
            `PAPER_STAGES` (the reference code's).
        batch_size: int. Defaults to `50` (the reference code's).
        momentum: float. Defaults to `0.9`.
        finetune_iterations: L-BFGS iterations per stage (0: none): an
            int, or one int per stage.
        finetune_images: int. Tiles (random, of all the training and of
            all the validation images) used for fine-tuning.
        augment: bool. Train on left-right mirror images too. Defaults to
            `True` (the reference code's default).
        train_means: bool. Train the MCGSM's output means (the reference
            code does not by default: the preconditioner centres the
            outputs). Defaults to `False`.
        max_minutes: float or `None`: wall-clock budget of the whole
            schedule. When set, the time left is shared equally among the
            stages left (so every stage of the curriculum runs, each on as
            many tiles as its share allows: a stage's SGD stops at
            `1 - finetune_share` of its share, fine-tuning at the end of
            it), and the shares replace whole epochs.
        finetune_share: float in (0, 1): with `max_minutes`, the part of
            each stage's time left to L-BFGS. Defaults to `0.25`.
        on_worse: what follows a stage that made the validation bound
            worse (it is always undone): `"stop"` ends training (the
            reference code's rule), `"undo"` goes on with the next stage
            from the best weights (under `max_minutes`, so that the time
            left is not lost to one noisy stage).
        seed: int. Seed of the tile offsets and the dequantization noise.
        adapt: bool. Fit the model's preconditioner to `images` first
            (`RIDE.adapt`). Defaults to `True`.
        max_steps: `None`, an int, or one int per stage: the most SGD
            steps of a stage (its epochs' tiles are cut there). A fixed
            number of steps (and of `finetune_iterations`) trains the same
            model on any machine, where `max_minutes` does not.
        verbose: 0, 1 or 2.

    Returns:
        A list of per-stage dicts: `patch`, `learning_rate`, Keras
        `history`, `sgd_steps`, fine-tuning `finetune` history, `validation_nll`
        (nats per image after the stage), `seconds` (since the start),
        `kept` (False for the stage undone by early stopping).
    """
    start = time.monotonic()
    images = np.asarray(images)
    validation_images = np.asarray(validation_images)
    stages = [tuple(stage) for stage in stages]
    if not stages or any(len(stage) != 3 for stage in stages):
        raise ValueError(
            "Invalid value for argument `stages`. Expected a non-empty "
            "sequence of (patch, epochs, learning_rate). Received: "
            f"stages={stages!r}"
        )
    largest = max(patch for patch, _, _ in stages)
    height, width = images.shape[1:3]
    if largest > min(height, width) or largest > min(
        validation_images.shape[1:3]
    ):
        raise ValueError(
            "Invalid value for argument `stages`. Patches must fit in the "
            f"images ({height}×{width}). Received: largest patch {largest}"
        )
    if on_worse not in ("stop", "undo"):
        raise ValueError(
            "Invalid value for argument `on_worse`. Expected 'stop' or "
            f"'undo'. Received: on_worse={on_worse!r}"
        )
    if not 0 < finetune_share < 1:
        raise ValueError(
            "Invalid value for argument `finetune_share`. Expected a float "
            f"in (0, 1). Received: finetune_share={finetune_share!r}"
        )
    _validate_max_minutes(max_minutes)
    max_steps = _per_stage("max_steps", max_steps, len(stages), 1)
    finetune_iterations = _per_stage(
        "finetune_iterations", finetune_iterations, len(stages), 0
    )
    deadline = None if max_minutes is None else start + 60 * max_minutes

    if adapt:
        model.adapt(images, seed=seed)
    rng = np.random.default_rng(seed)
    training = images
    if augment:  # left-right mirror images too
        training = np.concatenate([images, images[:, :, ::-1]])
    best_nll = _validation_nll(model, validation_images, seed)
    best_weights = model.get_weights()
    report = []
    for k, (patch, epochs, learning_rate) in enumerate(stages):
        stage_end = sgd_end = None
        if deadline is not None:
            now = time.monotonic()
            if now >= deadline:
                break
            stage_end = now + (deadline - now) / (len(stages) - k)
            sgd_end = now + (stage_end - now) * (1 - finetune_share)
        stage = model.resized((patch, patch, 1))
        stage.head.means.trainable = bool(train_means)
        stage.compile(
            optimizer=keras.optimizers.SGD(
                learning_rate / patch**2, momentum=momentum
            )
        )
        # `epochs` passes, each over all tiles of every (mirrored) image.
        tiles = np.concatenate(
            [_tiles(training, patch, rng) for _ in range(epochs)]
        )
        rng.shuffle(tiles)
        if max_steps[k] is not None:
            tiles = tiles[: max_steps[k] * batch_size]
        monitor = _StageMonitor(sgd_end)
        history = stage.fit(
            tiles,
            epochs=1,
            batch_size=batch_size,
            callbacks=[monitor],
            verbose=verbose,
        )
        finetune = None
        if finetune_iterations[k]:
            finetune = finetune_mcgsm(
                stage,
                _tiles(images, patch, rng, finetune_images),
                _tiles(validation_images, patch, rng, finetune_images),
                max_iterations=finetune_iterations[k],
                max_seconds=(
                    None
                    if stage_end is None
                    else max(1.0, stage_end - time.monotonic())
                ),
                seed=seed,
                verbose=int(verbose == 1),
            )
        model.set_weights(stage.get_weights())
        nll = _validation_nll(model, validation_images, seed)
        kept = bool(nll <= best_nll)
        report.append(
            {
                "patch": patch,
                "learning_rate": learning_rate,
                "history": history.history,
                "sgd_steps": monitor.steps,
                "finetune": finetune,
                "validation_nll": nll,
                "seconds": time.monotonic() - start,
                "kept": kept,
            }
        )
        if verbose:
            verdict = "kept" if kept else f"worse: undone, {on_worse}"
            print(
                f"stage {patch}×{patch}: validation {nll:.2f} nats/image "
                f"({verdict})",
                flush=True,
            )
        if not kept:
            model.set_weights(best_weights)
            if on_worse == "stop":
                break
            continue
        best_nll, best_weights = nll, model.get_weights()
    return report


def train_mcgsm(
    model,
    images,
    validation_images,
    num_pixels=1_000_000,
    num_validation_pixels=200_000,
    max_iterations=3000,
    patience=20,
    max_minutes=None,
    seed=0,
    adapt=True,
    verbose=1,
):
    """Train the plain MCGSM (`kerpix.models.MCGSM`, or any RIDE's head on
    its spatial LSTMs as they are) the way the RIDE reference code trains
    its MCGSM baseline (`code/experiments/mcgsm/train.py`): L-BFGS on about
    `num_pixels` training pixels (whole images, at random) with validation
    early stopping on about `num_validation_pixels`, up to
    `max_iterations` iterations.

    Args:
        model: a `RIDE` / `MCGSM` with integer levels.
        images, validation_images: integer images of the model's size.
        num_pixels, num_validation_pixels: ints. Defaults to 10⁶ and
            2·10⁵ (the reference code's).
        max_iterations: int. Defaults to `3000` (the reference code's).
        patience: int. L-BFGS iterations without a better validation NLL
            before stopping. Defaults to `20`.
        max_minutes: float or `None`: wall-clock budget.
        seed: int. Seed of the image choice and the dequantization noise.
        adapt: bool. Fit the preconditioner to `images` first.
        verbose: 0 or 1.

    Returns:
        The `finetune_mcgsm` history, with `seconds` (the whole run).
    """
    start = time.monotonic()
    images = np.asarray(images)
    validation_images = np.asarray(validation_images)
    _validate_max_minutes(max_minutes)
    if adapt:
        model.adapt(images, seed=seed)
    rng = np.random.default_rng(seed)
    pixels = int(np.prod(images.shape[1:3]))

    def subset(x, count):
        count = max(1, min(len(x), -(-count // pixels)))
        return x[np.sort(rng.choice(len(x), count, replace=False))]

    history = finetune_mcgsm(
        model,
        subset(images, num_pixels),
        subset(validation_images, num_validation_pixels),
        max_iterations=max_iterations,
        patience=patience,
        max_seconds=(
            None
            if max_minutes is None
            else max(1.0, start + 60 * max_minutes - time.monotonic())
        ),
        seed=seed,
        verbose=verbose,
    )
    history["seconds"] = time.monotonic() - start
    return history


def _per_stage(name, value, num_stages, low):
    """`value` (None, an int >= `low`, or one per stage) as a list of one
    entry per stage."""
    values = value if isinstance(value, (list, tuple)) else [value] * num_stages
    ok = len(values) == num_stages and all(
        v is None
        or (
            isinstance(v, (int, np.integer))
            and not isinstance(v, bool)
            and v >= low
        )
        for v in values
    )
    if not ok:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected None, an "
            f"integer >= {low} or one per stage ({num_stages}). Received: "
            f"{name}={value!r}"
        )
    return list(values)


def _validate_max_minutes(max_minutes):
    if max_minutes is not None and not max_minutes > 0:
        raise ValueError(
            "Invalid value for argument `max_minutes`. Expected a positive "
            f"number or None. Received: max_minutes={max_minutes!r}"
        )


def _validation_nll(model, images, seed):
    return float(-np.mean(model.log_prob(images, seed=seed)))


class _StageMonitor(keras.callbacks.Callback):
    """Counts SGD steps; stops `fit` after the batch during which the
    deadline (if any) passed."""

    def __init__(self, deadline=None):
        super().__init__()
        self.deadline = deadline
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.model.stop_training = True


def _tiles(images, patch, rng, limit=None):
    """All `patch × patch` tiles of every image on a grid at one random
    offset (each pixel in at most one tile), stacked; or `limit` of them
    at random."""
    height, width = images.shape[1:3]
    i0 = rng.integers(0, height % patch + 1)
    j0 = rng.integers(0, width % patch + 1)
    tiles = [
        images[:, i : i + patch, j : j + patch]
        for i in range(i0, height - patch + 1, patch)
        for j in range(j0, width - patch + 1, patch)
    ]
    tiles = np.concatenate(tiles)
    if limit is not None and limit < len(tiles):
        tiles = tiles[rng.choice(len(tiles), limit, replace=False)]
    return tiles
