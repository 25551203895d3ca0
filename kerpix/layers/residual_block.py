import keras

from kerpix.layers.cached_layer import CachedLayer
from kerpix.layers.cached_layer import register_block
from kerpix.layers.masked_conv2d import MaskedConv2D


@register_block("residual")
@keras.saving.register_keras_serializable(package="kerpix")
class ResidualBlock(CachedLayer):
    """PixelCNN residual block of masked convolutions (PixelRNN Fig. 5).

    `y = x + Conv1x1_B(ReLU(ConvKxK_B(ReLU(Conv1x1_B(ReLU(x))))))`, the
    inner convolutions having `filters // 2` channels (the paper's `h` for
    a `2h`-channel stream). All three convolutions use mask "B", so the
    block is causal in raster-then-colour order.

    Args:
        filters: int. Channels of the input and output (`2h`).
        kernel_size: int. Odd size of the middle masked convolution.
            Defaults to `3`.
        num_color_channels: int. Colour groups of the channels.
            Defaults to `1`.

    Input shape:
        `(batch_size, height, width, filters)`.

    Output shape:
        Same as the input.

    Example:

    >>> block = kerpix.layers.ResidualBlock(filters=8)
    >>> tuple(block(np.zeros((1, 5, 5, 8))).shape)
    (1, 5, 5, 8)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1601.06759)
    """

    def __init__(self, filters, kernel_size=3, num_color_channels=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters < 2:
            raise ValueError(
                "Invalid value for argument `filters`. Expected an integer "
                f">= 2 (the inner layers use filters // 2). Received: "
                f"filters={filters!r}"
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.num_color_channels = num_color_channels
        conv = dict(
            mask_type="B",
            num_color_channels=num_color_channels,
            dtype=self.dtype_policy,
        )
        self.reduce = MaskedConv2D(filters // 2, 1, name="reduce", **conv)
        self.spatial = MaskedConv2D(
            filters // 2, kernel_size, name="spatial", **conv
        )
        self.expand = MaskedConv2D(filters, 1, name="expand", **conv)

    def build(self, input_shape):
        if input_shape[-1] != self.filters:
            raise ValueError(
                f"ResidualBlock with filters={self.filters} needs inputs "
                f"with {self.filters} channels. Received: "
                f"input_shape={tuple(input_shape)}"
            )
        inner_shape = tuple(input_shape[:-1]) + (self.filters // 2,)
        self.reduce.build(input_shape)
        self.spatial.build(inner_shape)
        self.expand.build(inner_shape)

    def call(self, inputs):
        x = self.reduce(keras.activations.relu(inputs))
        x = self.spatial(keras.activations.relu(x))
        x = self.expand(keras.activations.relu(x))
        return inputs + x

    # === Step-wise (one pixel) computation, for cached sampling ===

    # The cache: the row buffer of the middle convolution's input (see
    # `MaskedConv2D.initial_cache`); its size does not depend on the image
    # height.
    cache_size = 1

    def initial_cache(self, batch_size, width):
        return (self.spatial.initial_cache(batch_size, width),)

    def start_row(self, cache, i):
        """`cache` before row `i` (`MaskedConv2D.next_row`)."""
        (rows,) = cache
        return (self.spatial.next_row(rows),)

    def step(self, cache, inputs, i, j):
        """Block output at pixel `(i, j)` from its input there, `(N, F)`.

        Writes the pixel's reduced features into the cache and reads the
        middle convolution's causal window from it. Returns
        `(outputs, cache)`.
        """
        (rows,) = cache
        reduced = self.reduce.call_pointwise(keras.activations.relu(inputs))
        reduced = keras.activations.relu(reduced)
        rows = self.spatial.cache_pixel(rows, j, reduced)
        x = self.spatial.call_at_pixel(rows, j)
        x = self.expand.call_pointwise(keras.activations.relu(x))
        return inputs + x, (rows,)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "num_color_channels": self.num_color_channels,
            }
        )
        return config
