"""Thresholded MNIST with labels for the examples (shared by both)."""

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
