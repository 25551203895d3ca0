"""Shared by the examples: labelled binary MNIST and a timed training run."""

import time

import keras
import numpy as np

import kerpix


def binarized_mnist_with_labels(split, data_dir=None, limit=None):
    """`(images, labels)`: MNIST thresholded at 128 (pixels >= 128 -> 1).

    A fixed threshold, not the stochastic binarization of
    `binarized_mnist.npz` (which has no labels), so these numbers are not
    comparable with the paper's binarized-MNIST table.
    """
    ds = kerpix.data.load("mnist", split, data_dir=data_dir, with_labels=True)
    if limit:
        ds = ds.take(limit)
    pairs = list(ds.as_numpy_iterator())
    images = np.stack([p[0] for p in pairs]) >= 128
    labels = np.array([p[1] for p in pairs], "int32")
    return images.astype("int32"), labels


def train_for(model, x, y=None, minutes=4.0, learning_rate=2e-3, **fit_kwargs):
    """Compile with Adam and fit for a wall-clock budget (checked after
    every batch); return the training minutes."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    start = time.monotonic()
    model.fit(
        x,
        y,
        epochs=1000,
        callbacks=[kerpix.training.TimeBudget(minutes)],
        verbose=2,
        **fit_kwargs,
    )
    return (time.monotonic() - start) / 60


def test_nll(model, images, **log_prob_kwargs):
    """Mean test NLL in nats/image and bits/dim."""
    nats = float(np.mean(-model.log_prob(images, **log_prob_kwargs)))
    return nats, float(kerpix.metrics.bits_per_dim(nats, model.image_shape))
