import keras
from keras import ops

from kerpix.utils.validation import validate_num_levels


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
        validate_num_levels(num_levels)
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
