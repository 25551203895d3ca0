import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="kerpix")
class ImageQuantizer(keras.layers.Layer):
    """Map integer images in `[0, num_levels)` to floats in `[-1, 1]`.

    `x -> 2 x / (num_levels - 1) - 1`. It lives inside the model graph so
    that saved and exported models accept raw integer images.

    Args:
        num_levels: int. Values per sub-pixel. Defaults to `256`.

    Example:

    >>> q = kerpix.models.ImageQuantizer(num_levels=256)
    >>> np.asarray(q(np.array([[[[0, 255]]]], "uint8")))
    array([[[[-1.,  1.]]]], dtype=float32)
    """

    def __init__(self, num_levels=256, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_levels, int) or num_levels < 2:
            raise ValueError(
                "Invalid value for argument `num_levels`. Expected an integer "
                f">= 2. Received: num_levels={num_levels!r}"
            )
        self.num_levels = num_levels

    def call(self, images):
        x = ops.cast(images, self.compute_dtype)
        return x * (2.0 / (self.num_levels - 1)) - 1.0

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["num_levels"] = self.num_levels
        return config


def validate_images(images, image_shape, num_levels, argument="images"):
    """Check integer images `(N,) + image_shape` with values in range.

    Raises a `ValueError` naming `argument`, the value received and the
    fix. Values are only checked when they are concrete (NumPy arrays or
    eager tensors), never inside a traced graph.
    """
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
    if not (dtype.startswith("int") or dtype.startswith("uint")):
        raise ValueError(
            f"Invalid value for argument `{argument}`. Expected integer "
            f"pixel values in [0, {num_levels}) (e.g. uint8); quantize "
            f"float images first. Received: {argument}.dtype={dtype}"
        )
    try:
        values = np.asarray(images)
    except Exception:  # A symbolic tensor: nothing concrete to check.
        return
    if values.size and (values.min() < 0 or values.max() >= num_levels):
        raise ValueError(
            f"Invalid value for argument `{argument}`. Expected values in "
            f"[0, {num_levels - 1}] for num_levels={num_levels}. Received: "
            f"values in [{values.min()}, {values.max()}]"
        )
