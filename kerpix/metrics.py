"""Bits per dimension, defined once and used everywhere."""

import math

import keras
import numpy as np


def bits_per_dim(nll_nats, image_shape):
    """Convert a negative log-likelihood in nats/image to bits/dim.

    `bits/dim = nll_nats / (H * W * C * ln 2)`. Works on Python floats,
    NumPy arrays and backend tensors alike.

    Args:
        nll_nats: negative log-likelihood of whole images, in nats.
        image_shape: tuple `(H, W, C)`.

    Example:

    >>> kerpix.metrics.bits_per_dim(784 * math.log(2.0), (28, 28, 1))
    1.0
    """
    image_shape = tuple(int(d) for d in image_shape)
    if len(image_shape) != 3 or min(image_shape) < 1:
        raise ValueError(
            "Invalid value for argument `image_shape`. Expected (H, W, C) "
            f"with positive sizes. Received: image_shape={image_shape!r}"
        )
    return nll_nats / (float(np.prod(image_shape)) * math.log(2.0))


@keras.saving.register_keras_serializable(package="kerpix")
class BitsPerDim(keras.metrics.Mean):
    """Mean bits/dim of images, fed with per-image NLLs in nats.

    `update_state(nll_nats, sample_weight=None)` converts with
    `kerpix.metrics.bits_per_dim` and averages over images.

    Args:
        image_shape: tuple `(H, W, C)` of the modelled images.
        name: str. Defaults to `"bits_per_dim"`.

    Example:

    >>> m = kerpix.metrics.BitsPerDim((2, 2, 1))
    >>> m.update_state(np.array([4 * math.log(2.0), 8 * math.log(2.0)]))
    >>> float(m.result())
    1.5
    """

    def __init__(self, image_shape, name="bits_per_dim", dtype=None):
        super().__init__(name=name, dtype=dtype)
        bits_per_dim(0.0, image_shape)  # validates image_shape
        self.image_shape = tuple(int(d) for d in image_shape)

    def update_state(self, nll_nats, sample_weight=None):
        return super().update_state(
            bits_per_dim(nll_nats, self.image_shape), sample_weight
        )

    def get_config(self):
        return {
            "image_shape": self.image_shape,
            "name": self.name,
            "dtype": self.dtype,
        }
