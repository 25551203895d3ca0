"""How an `ImageDensityModel` receives images and conditioning."""

import keras
import numpy as np

from kerpix.utils.validation import validate_images

IMAGES = "images"
CONDITIONAL_INPUT = "conditional_input"


def split_inputs(inputs):
    """`(images, conditional_input)` from a tensor, tuple/list or dict."""
    if isinstance(inputs, dict):
        return inputs[IMAGES], inputs.get(CONDITIONAL_INPUT)
    if isinstance(inputs, (list, tuple)):
        return inputs[0], (inputs[1] if len(inputs) > 1 else None)
    return inputs, None


def example_conditions(model, count, seed=0):
    """Conditioning for `count` checks: labels cycling through the classes,
    random vectors, or `None` for an unconditional model."""
    if not model.step_conditional_dims:
        return None
    if model.num_classes:
        return (np.arange(count) % model.num_classes).astype("int32")
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, model.step_conditional_dims)).astype(
        "float32"
    )


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


def validate_mask(mask, image_shape, num_images):
    """A completion mask, `(H, W)` or `(N, H, W)` booleans (True = known
    pixel), broadcast to `(N, H, W)`; raises `ValueError` otherwise."""
    mask = np.asarray(mask)
    grid = tuple(image_shape[:2])
    if mask.dtype != bool or mask.shape not in (grid, (num_images,) + grid):
        raise ValueError(
            "Invalid value for argument `mask`. Expected booleans (True "
            f"= known pixel) of shape {grid} or "
            f"{(num_images,) + grid}. Received: mask.dtype="
            f"{mask.dtype}, mask.shape={mask.shape}"
        )
    return np.broadcast_to(mask, (num_images,) + grid)


def reject_conditional(conditional_input, argument):
    """Models that compute their conditioning from the images take none."""
    if conditional_input is not None:
        raise ValueError(
            f"Invalid value for argument `{argument}`. This model computes "
            "its conditioning from the images (an auto-encoder's codes); "
            f"pass images only. Received: {argument} of type "
            f"{type(conditional_input).__name__}"
        )


def prepare_training_data(model, x, y, argument):
    """Check training data and pack any conditioning into the inputs.

    Keras passes `x` to the model and `y` to the loss; a density model's
    target is its input, so labels travel with the images as
    `{"images", "conditional_input"}`.
    """
    label_argument = "y" if y is not None else "conditional_input"
    packs = model.conditional_dims and not model.conditions_on_own_images

    def check_labels(labels, batch_size, name):
        if model.conditions_on_own_images:
            reject_conditional(labels, name)
        else:
            validate_conditional(model, labels, batch_size, name)

    if hasattr(x, "element_spec"):  # a tf.data.Dataset
        if y is not None:
            raise ValueError(
                "Invalid value for argument `y`. With a dataset, yield "
                "(images, labels) pairs from it instead. Received: y of "
                f"type {type(y).__name__}"
            )
        spec = x.element_spec
        if isinstance(spec, dict):
            return x, None  # already packed (fit's own validation)
        pairs = isinstance(spec, tuple)
        if len((spec[0] if pairs else spec).shape) == 3:
            raise ValueError(
                f"Invalid value for argument `{argument}`. The dataset "
                "yields unbatched images; call .batch(batch_size) on "
                f"it. Expected batches of shape "
                f"{(None,) + model.image_shape}."
            )
        # Only the first batch is checked: more would cost a data pass.
        first = next(iter(x.take(1)), None)
        if first is None:
            raise ValueError(
                f"Invalid value for argument `{argument}`: the dataset is "
                "empty. Pass a dataset with at least one batch."
            )
        images = first[0] if pairs else first
        labels = first[1] if pairs and len(first) > 1 else None
        validate_images(images, model.image_shape, model.num_levels, argument)
        check_labels(labels, images.shape[0], f"{argument} labels")
        if packs:
            x = x.map(lambda i, c: {IMAGES: i, CONDITIONAL_INPUT: c})
        return x, None
    if x is None or hasattr(x, "__next__"):
        return x, y  # generators are not inspected
    if isinstance(x, dict):
        images, labels = x[IMAGES], x.get(CONDITIONAL_INPUT)
    elif isinstance(x, (list, tuple)):
        images, labels = x[0], (x[1] if len(x) > 1 else None)
    else:
        images, labels = x, y
    validate_images(images, model.image_shape, model.num_levels, argument)
    check_labels(labels, len(images), label_argument)
    if packs:
        return {IMAGES: images, CONDITIONAL_INPUT: labels}, None
    return images, None
