"""Argument checks shared by layers, heads, models and training."""

import keras
import numpy as np


def validate_positive_int(name, value):
    """Return `value` if it is a positive int (not a bool), else raise a
    `ValueError` naming the argument and the value."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a positive "
            f"integer. Received: {name}={value!r}"
        )
    return value


def validate_num_levels(num_levels):
    """`num_levels`, the intensity levels of a sub-pixel: an int >= 2."""
    if (
        isinstance(num_levels, bool)
        or not isinstance(num_levels, int)
        or num_levels < 2
    ):
        raise ValueError(
            "Invalid value for argument `num_levels`. Expected an integer "
            f">= 2. Received: num_levels={num_levels!r}"
        )


def validate_uniform(name, values):
    """Return NumPy `values` as float32 if they all lie in `[0, 1)` (the
    uniform noise that sampling and dequantization take), else raise a
    `ValueError` naming the argument and the range found (NaN fails:
    no comparison with it is true, so it would slip through a range
    check and draw level 0)."""
    if values.size and np.isnan(values).any():
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected uniform values "
            f"in [0, 1). Received: {int(np.isnan(values).sum())} NaN "
            "values"
        )
    if values.size and (values.min() < 0 or values.max() >= 1):
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected uniform values "
            f"in [0, 1). Received: values in [{values.min()}, {values.max()}]"
        )
    return values.astype("float32")


def validate_image_shape(image_shape):
    """Return `image_shape` as a tuple of 3 ints, or raise `ValueError`."""
    try:
        shape = tuple(int(d) for d in image_shape)
    except TypeError:
        shape = None
    if shape is None or len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            "Invalid value for argument `image_shape`. Expected (height, "
            "width, channels) with positive sizes, channels last, e.g. "
            f"(28, 28, 1). Received: image_shape={image_shape!r}"
        )
    return shape


def validate_color_multiple(name, value, colors):
    """`value` must be a positive int that splits evenly into `colors`
    colour groups."""
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < 1
        or value % colors
    ):
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a positive "
            f"multiple of {colors} (num_color_channels={colors}: each colour "
            f"gets the same number of features). Received: {name}={value!r}"
        )
    return value


def validate_images(images, image_shape, num_levels, argument="images"):
    """Check a batch of images `(N,) + image_shape`; return it as NumPy
    when it is concrete.

    `num_levels` set: integer values in `[0, num_levels)`.
    `num_levels=None`: float images (e.g. a float RIDE's whitened values).
    Raises a `ValueError` naming `argument`, the value received and the
    fix. Values are only checked when they are concrete (NumPy arrays or
    eager tensors), never inside a traced graph (the tensor is returned
    as it is).
    """
    if not hasattr(images, "shape"):
        images = np.asarray(images)
    shape = tuple(images.shape)
    expected = (None,) + tuple(image_shape)
    if len(shape) != 4:
        if len(shape) == 3 and tuple(shape) == tuple(image_shape):
            fix = f"add a batch axis: {argument}[None]"
        elif len(shape) == 3 and image_shape[-1] == 1:
            fix = f"add a channel axis: {argument}[..., None]"
        else:
            fix = f"pass a batch of shape {expected}"
        raise ValueError(
            f"Invalid value for argument `{argument}`. Expected a 4D batch "
            f"of shape {expected}; {fix}. Received: {argument}.shape={shape}"
        )
    if tuple(shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"Invalid value for argument `{argument}`. Expected images of "
            f"shape {expected} (channels last). Received: "
            f"{argument}.shape={shape}"
        )
    dtype = keras.backend.standardize_dtype(images.dtype)
    integer = dtype.startswith("int") or dtype.startswith("uint")
    if num_levels is None:
        if integer or dtype == "bool":
            raise ValueError(
                f"Invalid value for argument `{argument}`. This model "
                "(num_levels=None) takes float images. Received: "
                f"{argument}.dtype={dtype}"
            )
        return _concrete(images)
    if not integer:
        raise ValueError(
            f"Invalid value for argument `{argument}`. Expected integer "
            f"pixel values in [0, {num_levels}) (e.g. uint8); quantize "
            f"float images first. Received: {argument}.dtype={dtype}"
        )
    values = _concrete(images)
    if not isinstance(values, np.ndarray):
        return values
    if values.size and (values.min() < 0 or values.max() >= num_levels):
        raise ValueError(
            f"Invalid value for argument `{argument}`. Expected values in "
            f"[0, {num_levels - 1}] for num_levels={num_levels}. Received: "
            f"values in [{values.min()}, {values.max()}]"
        )
    return values


def _concrete(tensor):
    """`tensor` as NumPy, or as it is when symbolic (inside a graph)."""
    if isinstance(tensor, np.ndarray):
        return tensor
    try:
        return np.asarray(tensor)
    except Exception:  # A symbolic tensor: nothing concrete to check.
        return tensor


def validate_dequantization_noise(noise, images, num_levels):
    """Uniform `noise` `[0, 1)` of the shape of integer `images` (models
    with `num_levels`), as float32 NumPy; raises `ValueError` otherwise."""
    if num_levels is None:
        raise ValueError(
            "Invalid value for argument `noise`: float models "
            "(num_levels=None) are not dequantized; pass noise=None."
        )
    noise = np.asarray(noise)
    if noise.shape != images.shape or noise.dtype.kind != "f":
        raise ValueError(
            "Invalid value for argument `noise`. Expected floats of the "
            f"images' shape {images.shape}. Received: shape={noise.shape}, "
            f"dtype={noise.dtype}"
        )
    return validate_uniform("noise", noise)
