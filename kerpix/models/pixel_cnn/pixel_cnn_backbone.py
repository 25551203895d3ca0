import keras

from kerpix.layers import residual_block  # noqa: F401 (the default)
from kerpix.layers.cached_layer import get_block
from kerpix.layers.masked_conv2d import MaskedConv2D
from kerpix.models.backbone import Backbone
from kerpix.models.state_layout import StateLayout
from kerpix.utils.validation import validate_color_multiple
from kerpix.utils.validation import validate_image_shape
from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class PixelCNNBackbone(Backbone):
    """Masked-convolution PixelCNN (PixelRNN paper §3.5, Table 1).

    A `first_kernel_size`² mask-A convolution with `2h = filters` channels,
    `num_layers` residual blocks of `kernel_size`² mask-B convolutions
    (`kerpix.layers.ResidualBlock`, or any block registered with
    `kerpix.layers.register_block`), then ReLU and a 1×1 mask-B convolution
    followed by ReLU; the head adds the last 1×1 mask-B layer (the paper's
    "ReLU followed by 1×1 conv, mask B (2 layers)").

    The receptive field of stacked masked convolutions has a blind spot:
    pixels above-right of the current one that the masks never chain to.
    `kerpix.testing` computes it exactly and the causality test checks the
    gradient is non-zero on it and zero elsewhere.

    Args:
        image_shape: tuple `(H, W, C)`.
        filters: int. Channels `2h` of the residual stream. Defaults to
            `64`.
        num_layers: int. Number of residual blocks. Defaults to `7`.
        kernel_size: int. Odd kernel size inside the blocks. Defaults
            to `3`.
        first_kernel_size: int. Odd kernel size of the mask-A layer.
            Defaults to `7`.
        output_filters: int. Channels of the final 1×1 layer. Defaults
            to `filters`.
        block: str. The registered block stacked `num_layers` times
            (`kerpix.layers.BLOCKS`). Defaults to `"residual"`.

    Input shape:
        `(batch_size, H, W, C)` floats in `[-1, 1]`.

    Output shape:
        `(batch_size, H, W, output_filters)`.

    Example:

    >>> backbone = kerpix.models.PixelCNNBackbone((8, 8, 3), filters=6,
    ...                                           num_layers=1)
    >>> tuple(backbone(np.zeros((2, 8, 8, 3))).shape)
    (2, 8, 8, 6)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1601.06759)
    """

    def __init__(
        self,
        image_shape,
        filters=64,
        num_layers=7,
        kernel_size=3,
        first_kernel_size=7,
        output_filters=None,
        block="residual",
        **kwargs,
    ):
        block_class = get_block(block)
        image_shape = validate_image_shape(image_shape)
        validate_positive_int("filters", filters)
        validate_positive_int("num_layers", num_layers)
        output_filters = output_filters or filters
        validate_positive_int("output_filters", output_filters)
        colors = image_shape[-1]
        validate_color_multiple("filters", filters, colors)
        validate_color_multiple("output_filters", output_filters, colors)

        # === Layers ===
        first = MaskedConv2D(
            filters,
            first_kernel_size,
            mask_type="A",
            num_color_channels=colors,
            name="first_conv",
        )
        blocks = [
            block_class(
                filters,
                kernel_size,
                num_color_channels=colors,
                name=f"{block}_block_{i}",
            )
            for i in range(num_layers)
        ]
        output = MaskedConv2D(
            output_filters,
            1,
            mask_type="B",
            num_color_channels=colors,
            name="output_conv",
        )

        # === Functional Model ===
        inputs = keras.Input(shape=image_shape, name="images")
        x = first(inputs)
        for layer in blocks:
            x = layer(x)
        x = output(keras.activations.relu(x))
        outputs = keras.activations.relu(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.first = first
        self.blocks = blocks
        self.output_conv = output

        # === Config ===
        self.image_shape = image_shape
        self.filters = filters
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.first_kernel_size = first_kernel_size
        self.output_filters = output_filters
        self.block = block

    # === Step interface (see `Backbone`) ===
    # State: the row buffer of the input image (the first layer's rows)
    # and of each block's middle map.

    @property
    def state_layout(self):
        return StateLayout(
            [("image", None)]
            + [
                (f"block_{k}", block.cache_size)
                for k, block in enumerate(self.blocks)
            ]
        )

    def initial_state(self, batch_size):
        """Zero row buffers (none as tall as the image)."""
        width = self.image_shape[1]
        named = {"image": self.first.initial_cache(batch_size, width)}
        for k, block in enumerate(self.blocks):
            named[f"block_{k}"] = block.initial_cache(batch_size, width)
        return self.state_layout.pack(named)

    starts_rows = True

    def start_row(self, state, i, conditional_input=None):
        """Once per row: every row buffer moves up a row."""
        named = self.state_layout.unpack(state)
        named["image"] = self.first.next_row(named["image"])
        for k, block in enumerate(self.blocks):
            named[f"block_{k}"] = block.start_row(named[f"block_{k}"], i)
        return self.state_layout.pack(named)

    def step(self, state, pixel, i, j, conditional_input=None):
        if self.image_shape[-1] > 1:
            # Colours read the pixel's earlier sub-pixels; with one colour
            # the mask-A first layer reads nothing of the pixel itself.
            state = self.commit(state, pixel, i, j)
        named = self.state_layout.unpack(state)
        x = self.first.call_at_pixel(named["image"], j)
        for k, block in enumerate(self.blocks):
            x, named[f"block_{k}"] = block.step(named[f"block_{k}"], x, i, j)
        x = self.output_conv.call_pointwise(keras.activations.relu(x))
        return keras.activations.relu(x), self.state_layout.pack(named)

    def commit(self, state, pixel, i, j):
        # Hidden caches at (i, j) are final after the last colour pass (they
        # never see the sub-pixel of their own group); only the input image
        # needs the completed pixel.
        named = self.state_layout.unpack(state)
        named["image"] = self.first.cache_pixel(named["image"], j, pixel)
        return self.state_layout.pack(named)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_shape": self.image_shape,
                "filters": self.filters,
                "num_layers": self.num_layers,
                "kernel_size": self.kernel_size,
                "first_kernel_size": self.first_kernel_size,
                "output_filters": self.output_filters,
                "block": self.block,
            }
        )
        return config
