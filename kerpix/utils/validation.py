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
