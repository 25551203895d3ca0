import math

import keras
from keras import ops

from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class SpatialConditioning(keras.layers.Layer):
    """Deconvolutional network `s = m(h)`: vectors to conditioning maps.

    The location-dependent conditioning of Conditional PixelCNN
    (van den Oord et al. 2016, eq. 5): a dense layer maps `h` to a
    `⌈H/2^n⌉ × ⌈W/2^n⌉ × filters` map, then `n` ReLU + 2×2 stride-2
    transposed convolutions double it up to the image size (cropped to
    `H × W`). Gated blocks add `V * s` (a 1×1 convolution) to both stacks.
    The map depends on `h` only, never on pixels, so it cannot break
    causality.

    The 2×2 stride-2 transposed convolution (each input pixel paints its
    own 2×2 output block) is one einsum and a reshape, so the network also
    runs inside graph conditionals of the exported sampling step (export
    graph rule `no-conv-in-step`).

    Args:
        image_size: tuple `(H, W)` of the output maps.
        filters: int. Channels of the maps. Defaults to `32`.
        num_upsamplings: int `n >= 0`. Defaults to `2`.

    Call arguments:
        inputs: `(N, D)` conditioning vectors.

    Output:
        `(N, H, W, filters)` maps.

    Example:

    >>> m = kerpix.layers.SpatialConditioning((7, 5), filters=4)
    >>> tuple(m(np.zeros((2, 3))).shape)
    (2, 7, 5, 4)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1606.05328)
    """

    def __init__(self, image_size, filters=32, num_upsamplings=2, **kwargs):
        super().__init__(**kwargs)
        size = tuple(image_size) if hasattr(image_size, "__len__") else ()
        if len(size) != 2 or not all(
            isinstance(d, int) and d > 0 for d in size
        ):
            raise ValueError(
                "Invalid value for argument `image_size`. Expected (height, "
                f"width), positive ints. Received: image_size={image_size!r}"
            )
        validate_positive_int("filters", filters)
        if not isinstance(num_upsamplings, int) or num_upsamplings < 0:
            raise ValueError(
                "Invalid value for argument `num_upsamplings`. Expected an "
                f"integer >= 0. Received: num_upsamplings={num_upsamplings!r}"
            )
        self.image_size = size
        self.filters = filters
        self.num_upsamplings = num_upsamplings
        factor = 2**num_upsamplings
        self.base_size = tuple(math.ceil(d / factor) for d in size)
        self.dense = keras.layers.Dense(
            self.base_size[0] * self.base_size[1] * filters,
            name="dense",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.kernels = [
            self.add_weight(
                shape=(2, 2, self.filters, self.filters),
                initializer="glorot_uniform",
                name=f"upsampling_kernel_{k}",
            )
            for k in range(self.num_upsamplings)
        ]
        self.biases = [
            self.add_weight(
                shape=(self.filters,),
                initializer="zeros",
                name=f"upsampling_bias_{k}",
            )
            for k in range(self.num_upsamplings)
        ]

    def call(self, inputs):
        height, width = self.base_size
        x = ops.reshape(self.dense(inputs), (-1, height, width, self.filters))
        for kernel, bias in zip(self.kernels, self.biases):
            x = ops.einsum("nhwc,abcf->nhawbf", ops.relu(x), kernel)
            height, width = 2 * height, 2 * width
            x = ops.reshape(x, (-1, height, width, self.filters)) + bias
        if (height, width) != self.image_size:
            x = x[:, : self.image_size[0], : self.image_size[1], :]
        return x

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.image_size + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": self.image_size,
                "filters": self.filters,
                "num_upsamplings": self.num_upsamplings,
            }
        )
        return config
