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
