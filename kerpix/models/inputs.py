"""How an `ImageDensityModel` receives images and conditioning."""

import keras
import numpy as np

IMAGES = "images"
CONDITIONAL_INPUT = "conditional_input"


def split_inputs(inputs):
    """`(images, conditional_input)` from a tensor, tuple/list or dict."""
    if isinstance(inputs, dict):
        return inputs[IMAGES], inputs.get(CONDITIONAL_INPUT)
    if isinstance(inputs, (list, tuple)):
        return inputs[0], (inputs[1] if len(inputs) > 1 else None)
    return inputs, None


def validate_conditional(model, conditional_input, batch_size, argument):
    """Check `conditional_input` against the model; raise `ValueError`.

    Unconditional models take `None`; class-conditional ones integer labels
    `(N,)` in `[0, num_classes)`; vector-conditional ones floats
    `(N, conditional_dims)`. Values are checked when concrete.
    """
    dims, classes = model.conditional_dims, model.num_classes
    if not dims:
        if conditional_input is not None:
            raise ValueError(
                f"Invalid value for argument `{argument}`. This model is "
                f"unconditional; pass {argument}=None. Received: "
                f"{argument} of type {type(conditional_input).__name__}"
            )
        return
    if classes:
        expected = f"integer class labels of shape ({batch_size},)"
    else:
        expected = f"float vectors of shape ({batch_size}, {dims})"
    if conditional_input is None:
        raise ValueError(
            f"Invalid value for argument `{argument}`. This model is "
            f"conditional; pass {expected}. Received: {argument}=None"
        )
    shape = tuple(conditional_input.shape)
    want = (batch_size,) if classes else (batch_size, dims)
    if shape != want:
        raise ValueError(
            f"Invalid value for argument `{argument}`. Expected {expected}. "
            f"Received: {argument}.shape={shape}"
        )
    if not classes:
        return
    dtype = keras.backend.standardize_dtype(conditional_input.dtype)
    if not dtype.startswith(("int", "uint")):
        raise ValueError(
            f"Invalid value for argument `{argument}`. Expected {expected}. "
            f"Received: {argument}.dtype={dtype}"
        )
    try:
        labels = np.asarray(conditional_input)
    except Exception:  # A symbolic tensor: nothing concrete to check.
        return
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(
            f"Invalid value for argument `{argument}`. Class labels must "
            f"be in [0, {classes - 1}] for num_classes={classes}. Received: "
            f"labels in [{labels.min()}, {labels.max()}]"
        )
