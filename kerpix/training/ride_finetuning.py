"""RIDE's MCGSM fine-tuning: the spatial LSTMs frozen, the head's
parameters fitted with L-BFGS (`scipy.optimize`), validation early
stopping (the RIDE paper's step after each training stage).

TensorFlow backend (gradients by `tf.GradientTape`); imports SciPy.
"""

import time

import keras
import numpy as np


def finetune_mcgsm(
    model,
    images,
    validation_images,
    max_iterations=100,
    patience=20,
    max_seconds=None,
    seed=0,
    verbose=1,
):
    """Fit `model.head` (an MCGSM) with L-BFGS on fixed hidden states.

    The hidden states of `images` (one dequantization draw from `seed`)
    are computed once with the spatial LSTMs as they are; L-BFGS-B
    minimises the mean NLL per pixel of the head over all the head's
    parameters at once. After every iteration the validation NLL is
    computed; the parameters with the best one are kept, and the search
    stops after `patience` iterations without improvement.

    Args:
        model: a `kerpix.models.RIDE` (or `MCGSM`).
        images, validation_images: images as `model.log_prob` takes them
            (keep them to a few thousand: their hidden states are held in
            memory).
        max_iterations: int. L-BFGS iterations. Defaults to `100`.
        patience: int. Iterations without a better validation NLL before
            stopping (L-BFGS often gets worse for a few iterations before
            it improves). Defaults to `20`.
        max_seconds: float or `None`: stop after this many seconds.
        seed: int. Seed of the dequantization noise.
        verbose: 0 or 1: one line per iteration.

    Returns:
        History dict: `train_nll` and `validation_nll` (nats per pixel of
        the preconditioned values) per iteration, `best_iteration`.
    """
    import scipy.optimize
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "finetune_mcgsm computes gradients with TensorFlow: run it with "
            f"KERAS_BACKEND=tensorflow. Received backend "
            f"{keras.backend.backend()!r}."
        )
    head = model.head
    variables = head.trainable_variables
    shapes = [tuple(v.shape) for v in variables]
    sizes = [int(np.prod(s)) for s in shapes]

    def features(images, chunk=256):
        images = model.validate_images(images)
        noise_seed = keras.random.SeedGenerator(seed)
        hs, zs = [], []
        for k in range(0, len(images), chunk):  # bounded memory
            y = model.to_values(images[k : k + chunk], seed=noise_seed)
            h, z = model.backbone.features_and_targets(model.normalize(y))
            hs.append(keras.ops.convert_to_numpy(h))
            zs.append(keras.ops.convert_to_numpy(z))
        return tf.constant(np.concatenate(hs)), tf.constant(np.concatenate(zs))

    h, z = features(images)
    h_valid, z_valid = features(validation_images)

    def get_theta():
        return np.concatenate(
            [np.ravel(keras.ops.convert_to_numpy(v)) for v in variables]
        ).astype("float64")

    def set_theta(theta):
        offset = 0
        for v, shape, size in zip(variables, shapes, sizes):
            v.assign(np.reshape(theta[offset : offset + size], shape))
            offset += size

    @tf.function(reduce_retracing=True)
    def loss_and_grads(h, z):
        with tf.GradientTape() as tape:
            nll = -tf.reduce_mean(head.log_prob(z, h))
        grads = tape.gradient(nll, [v.value for v in variables])
        return nll, grads

    @tf.function(reduce_retracing=True)
    def loss(h, z):
        return -tf.reduce_mean(head.log_prob(z, h))

    def objective(theta):
        set_theta(theta)
        nll, grads = loss_and_grads(h, z)
        flat = np.concatenate([np.ravel(g.numpy()) for g in grads])
        return float(nll), flat.astype("float64")

    history = {"train_nll": [], "validation_nll": []}
    best = {"nll": float(loss(h_valid, z_valid)), "theta": get_theta()}
    history["best_iteration"] = 0
    waited = [0]
    deadline = None if max_seconds is None else time.monotonic() + max_seconds

    def callback(intermediate_result):
        theta = intermediate_result.x
        set_theta(theta)
        train_nll = float(loss(h, z))
        valid_nll = float(loss(h_valid, z_valid))
        history["train_nll"].append(train_nll)
        history["validation_nll"].append(valid_nll)
        if verbose:
            print(
                f"L-BFGS {len(history['train_nll'])}: train {train_nll:.4f}, "
                f"validation {valid_nll:.4f} nats/pixel",
                flush=True,
            )
        if valid_nll < best["nll"]:
            best.update(nll=valid_nll, theta=np.copy(theta))
            history["best_iteration"] = len(history["validation_nll"])
            waited[0] = 0
        else:
            waited[0] += 1
            if waited[0] >= patience:
                raise StopIteration  # validation early stopping
        if deadline is not None and time.monotonic() >= deadline:
            raise StopIteration  # out of time

    scipy.optimize.minimize(
        objective,
        get_theta(),
        jac=True,
        method="L-BFGS-B",
        callback=callback,
        options={"maxiter": max_iterations},
    )
    set_theta(best["theta"])
    return history
