import keras

from kerpix.utils.validation import validate_image_shape
from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class ImageEncoder(keras.Model):
    """Convolutional encoder: preprocessed images to low-dimensional codes.

    `num_downsamplings` blocks of two 3×3 ReLU convolutions (the second
    with stride 2; the filters double from block to block), then flatten
    and a dense layer to `code_size`: the code `h` of a PixelCNN
    auto-encoder. The encoder sees the whole image; only the decoder is
    autoregressive.

    Args:
        image_shape: tuple `(H, W, C)`.
        code_size: int. Size of the code `h`. Defaults to `10`.
        filters: int. Filters of the first block. Defaults to `32`.
        num_downsamplings: int. Stride-2 blocks. Defaults to `2`.

    Example:

    >>> encoder = kerpix.models.ImageEncoder((8, 8, 1), code_size=4)
    >>> tuple(encoder(np.zeros((2, 8, 8, 1))).shape)
    (2, 4)
    """

    def __init__(
        self,
        image_shape,
        code_size=10,
        filters=32,
        num_downsamplings=2,
        **kwargs,
    ):
        image_shape = validate_image_shape(image_shape)
        validate_positive_int("code_size", code_size)
        validate_positive_int("filters", filters)
        if not isinstance(num_downsamplings, int) or num_downsamplings < 0:
            raise ValueError(
                "Invalid value for argument `num_downsamplings`. Expected an "
                "integer >= 0. Received: "
                f"num_downsamplings={num_downsamplings!r}"
            )

        # === Functional Model ===
        images = keras.Input(shape=image_shape, name="images")
        x = images
        for k in range(num_downsamplings):
            width = filters * 2**k
            x = keras.layers.Conv2D(
                width, 3, padding="same", activation="relu", name=f"conv_{k}"
            )(x)
            x = keras.layers.Conv2D(
                width,
                3,
                strides=2,
                padding="same",
                activation="relu",
                name=f"downsample_{k}",
            )(x)
        x = keras.layers.Flatten(name="flatten")(x)
        codes = keras.layers.Dense(code_size, name="code")(x)
        super().__init__(inputs=images, outputs=codes, **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.code_size = code_size
        self.filters = filters
        self.num_downsamplings = num_downsamplings

    def get_config(self):
        return {
            "image_shape": self.image_shape,
            "code_size": self.code_size,
            "filters": self.filters,
            "num_downsamplings": self.num_downsamplings,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
