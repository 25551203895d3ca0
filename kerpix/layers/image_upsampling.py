import keras
from keras import ops

from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class ImageUpsampling(keras.layers.Layer):
    """Upsampling network of the multi-scale PixelRNN (van den Oord et al.
    2016, §2.4): a small image to an enlarged feature map.

    A 3×3 convolution ("same" padding) of the small image to `filters`
    features, ReLU, then an `f_h × f_w` stride-`(f_h, f_w)` transposed
    convolution (each small pixel paints its own `f_h × f_w` block) to the
    full size, ReLU. The map depends on the small image only.

    Both convolutions are written as einsums over shifted copies (no conv
    op), so the network also runs inside the graph conditional of an
    exported sampling step (export graph rule `no-conv-in-step`).

    Args:
        factor: tuple `(f_h, f_w)` of positive ints (or one int).
        filters: int. Channels of the output map. Defaults to `32`.

    Call arguments:
        inputs: `(N, h, w, C)` floats.

    Output:
        `(N, h * f_h, w * f_w, filters)`.

    Example:

    >>> up = kerpix.layers.ImageUpsampling(4, filters=8)
    >>> tuple(up(np.zeros((2, 7, 7, 1))).shape)
    (2, 28, 28, 8)
    """

    def __init__(self, factor, filters=32, **kwargs):
        super().__init__(**kwargs)
        factor = (factor, factor) if isinstance(factor, int) else factor
        factor = tuple(factor) if hasattr(factor, "__len__") else ()
        if len(factor) != 2 or not all(
            isinstance(f, int) and f > 0 for f in factor
        ):
            raise ValueError(
                "Invalid value for argument `factor`. Expected a positive "
                f"int or (f_h, f_w). Received: factor={factor!r}"
            )
        validate_positive_int("filters", filters)
        self.factor = factor
        self.filters = filters

    def build(self, input_shape):
        channels = int(input_shape[-1])
        fh, fw = self.factor
        self.conv_kernel = self.add_weight(
            shape=(3, 3, channels, self.filters),
            initializer="glorot_uniform",
            name="conv_kernel",
        )
        self.conv_bias = self.add_weight(
            shape=(self.filters,), initializer="zeros", name="conv_bias"
        )
        self.upsampling_kernel = self.add_weight(
            shape=(fh, fw, self.filters, self.filters),
            initializer="glorot_uniform",
            name="upsampling_kernel",
        )
        self.upsampling_bias = self.add_weight(
            shape=(self.filters,), initializer="zeros", name="upsampling_bias"
        )

    def call(self, inputs):
        height, width = inputs.shape[1], inputs.shape[2]
        batch, channels = ops.shape(inputs)[0], inputs.shape[3]
        padded = ops.pad(inputs, ((0, 0), (1, 1), (1, 1), (0, 0)))
        windows = ops.stack(
            [
                ops.slice(
                    padded, (0, a, b, 0), (batch, height, width, channels)
                )
                for a in range(3)
                for b in range(3)
            ],
            axis=3,
        )
        kernel = ops.reshape(self.conv_kernel, (9, channels, self.filters))
        x = ops.einsum("nhwkc,kcf->nhwf", windows, kernel) + self.conv_bias
        x = ops.einsum("nhwc,abcf->nhawbf", ops.relu(x), self.upsampling_kernel)
        fh, fw = self.factor
        x = ops.reshape(x, (-1, height * fh, width * fw, self.filters))
        return ops.relu(x + self.upsampling_bias)

    def compute_output_shape(self, input_shape):
        fh, fw = self.factor
        return (
            input_shape[0],
            input_shape[1] * fh,
            input_shape[2] * fw,
            self.filters,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "filters": self.filters})
        return config
