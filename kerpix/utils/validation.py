"""Argument checks shared by layers, heads, models and training."""


def validate_positive_int(name, value):
    """Return `value` if it is a positive int (not a bool), else raise a
    `ValueError` naming the argument and the value."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a positive "
            f"integer. Received: {name}={value!r}"
        )
    return value


def validate_uniform(name, values):
    """Return NumPy `values` as float32 if they all lie in `[0, 1)` (the
    uniform noise that sampling and dequantization take), else raise a
    `ValueError` naming the argument and the range found."""
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
