"""From 8-bit images to a model's `num_levels` integer levels."""

import numpy as np


def to_levels(images, num_levels):
    """Map 8-bit images (values in [0, 255]) to integers in
    `[0, num_levels)` by rounding `x * (num_levels - 1) / 255`: the levels a
    `num_levels` model takes. Evenly spaced grey values, as
    `dead_leaves(num_grey_levels=L)` draws (`0, 85, 170, 255` for 4),
    map to `0 … L-1` exactly.

    Args:
        images: integer or float array of values in [0, 255].
        num_levels: int in [2, 256].

    Returns:
        int32 array of the same shape.

    Example:

    >>> x = kerpix.data.dead_leaves(2, (8, 8, 1), num_grey_levels=4)
    >>> sorted(set(kerpix.data.to_levels(x, 4).ravel()) - {0, 1, 2, 3})
    []
    """
    if (
        not isinstance(num_levels, (int, np.integer))
        or isinstance(num_levels, bool)
        or not 2 <= num_levels <= 256
    ):
        raise ValueError(
            "Invalid value for argument `num_levels`. Expected an integer "
            f"in [2, 256]. Received: num_levels={num_levels!r}"
        )
    images = np.asarray(images)
    if images.size and (
        np.isnan(images).any() if images.dtype.kind == "f" else False
    ):
        raise ValueError(
            "Invalid value for argument `images`. Expected values in "
            "[0, 255]. Received: NaN values"
        )
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(
            "Invalid value for argument `images`. Expected values in "
            f"[0, 255]. Received: values in [{images.min()}, "
            f"{images.max()}]"
        )
    scaled = images.astype("float64") * ((num_levels - 1) / 255.0)
    return np.round(scaled).astype("int32")
