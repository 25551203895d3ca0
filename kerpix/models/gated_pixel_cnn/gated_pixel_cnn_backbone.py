import keras
from keras import ops

from kerpix.layers.gated_pixel_cnn_block import GatedPixelCNNBlock
from kerpix.layers.masked_conv2d import MaskedConv2D
from kerpix.layers.spatial_conditioning import SpatialConditioning
from kerpix.models.backbone import Backbone
from kerpix.models.state_layout import StateLayout
from kerpix.ops.pixels import read_column
from kerpix.utils.validation import validate_color_multiple
from kerpix.utils.validation import validate_image_shape
from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class GatedPixelCNNBackbone(Backbone):
    """Gated PixelCNN (van den Oord et al. 2016, "Conditional Image
    Generation with PixelCNN Decoders"), optionally conditional.

    A first `GatedPixelCNNBlock` with a `first_kernel_size` kernel reads
    the image (horizontal mask "A"), `num_layers - 1` blocks with
    `kernel_size` follow, then ReLU, a 1×1 mask-B convolution to
    `output_filters` and ReLU; the head adds the last 1×1 layer. The
    vertical stack feeds the horizontal one one row down, so the receptive
    field is every pixel above and to the left within reach: no blind spot.

    Args:
        image_shape: tuple `(H, W, C)`.
        filters: int. Channels of each stack. Defaults to `64`.
        num_layers: int. Gated blocks. Defaults to `7`.
        kernel_size: int. Odd kernel of the later blocks. Defaults to `5`.
        first_kernel_size: int. Odd kernel of the first block. Defaults
            to `7`.
        output_filters: int. Width of the output 1×1 layer. Defaults to
            `filters`.
        conditional_dims: int or `None`. Size of the conditioning vector
            `h` (a one-hot class or any embedding) taken as a second input
            `conditional_input`; every block adds `V h` to both stacks.
        spatial_conditioning: bool. Map `h` to `s = m(h)` of the image's
            height and width with a `SpatialConditioning` network first;
            every block then adds the location-dependent `V * s`.
            Defaults to `False`.
        conditioning_filters: int. Channels of `s`. Defaults to `32`.
        conditioning_upsamplings: int. Stride-2 upsamplings of the
            network `m`. Defaults to `2`.

    Example:

    >>> backbone = kerpix.models.GatedPixelCNNBackbone(
    ...     (8, 8, 3), filters=6, num_layers=2)
    >>> tuple(backbone(np.zeros((2, 8, 8, 3))).shape)
    (2, 8, 8, 6)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1606.05328)
    """

    def __init__(
        self,
        image_shape,
        filters=64,
        num_layers=7,
        kernel_size=5,
        first_kernel_size=7,
        output_filters=None,
        conditional_dims=None,
        spatial_conditioning=False,
        conditioning_filters=32,
        conditioning_upsamplings=2,
        **kwargs,
    ):
        image_shape = validate_image_shape(image_shape)
        if conditional_dims is not None:
            validate_positive_int("conditional_dims", conditional_dims)
        if spatial_conditioning and not conditional_dims:
            raise ValueError(
                "Invalid value for argument `spatial_conditioning`. It maps "
                "the conditioning vectors to maps, so it needs "
                "conditional_dims. Received: spatial_conditioning=True, "
                f"conditional_dims={conditional_dims!r}"
            )
        validate_positive_int("filters", filters)
        validate_positive_int("num_layers", num_layers)
        output_filters = output_filters or filters
        validate_positive_int("output_filters", output_filters)
        colors = image_shape[-1]
        validate_color_multiple("filters", filters, colors)
        validate_color_multiple("output_filters", output_filters, colors)

        # === Layers ===
        conditioning = None
        block_conditional_dims = conditional_dims
        if spatial_conditioning:
            conditioning = SpatialConditioning(
                image_shape[:2],
                conditioning_filters,
                conditioning_upsamplings,
                name="spatial_conditioning",
            )
            block_conditional_dims = conditioning_filters
        blocks = [
            GatedPixelCNNBlock(
                filters,
                first_kernel_size if i == 0 else kernel_size,
                first=i == 0,
                num_color_channels=colors,
                conditional_dims=block_conditional_dims,
                name=f"gated_block_{i}",
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
        images = keras.Input(shape=image_shape, name="images")
        inputs, extra = images, ()
        if conditional_dims:
            condition = keras.Input(
                shape=(conditional_dims,), name="conditional_input"
            )
            inputs, extra = [images, condition], (condition,)
            if conditioning is not None:
                extra = (conditioning(condition),)
        v, h = images, images
        for block in blocks:
            v, h = block((v, h) + extra)
        x = output(keras.activations.relu(h))
        outputs = keras.activations.relu(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.blocks = blocks
        self.output_conv = output
        self.conditioning = conditioning

        # === Config ===
        self.image_shape = image_shape
        self.filters = filters
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.first_kernel_size = first_kernel_size
        self.output_filters = output_filters
        self.conditional_dims = conditional_dims
        self.spatial_conditioning = spatial_conditioning
        self.conditioning_filters = conditioning_filters
        self.conditioning_upsamplings = conditioning_upsamplings

    # === Step interface (see `Backbone`) ===
    # State, per block k: `block_k/vertical`, the row buffer of its
    # vertical input (the image for block 0; see
    # `MaskedConv2D.initial_cache`), `block_k/horizontal`, that of its
    # horizontal input (the current row), and `block_k/link`, the
    # vertical pre-activation of the row above (for the v→h link); with
    # spatial conditioning, `conditioning`: the map s = m(h), computed by
    # `start_image` and only read.

    @property
    def state_layout(self):
        entries = [
            (f"block_{k}/{part}", None)
            for k in range(len(self.blocks))
            for part in ("vertical", "horizontal", "link")
        ]
        if self.spatial_conditioning:
            entries.append(("conditioning", None))
        return StateLayout(entries)

    def initial_state(self, batch_size):
        height, width, _ = self.image_shape
        dtype = self.compute_dtype
        named = {}
        for k, block in enumerate(self.blocks):
            named[f"block_{k}/vertical"] = block.vertical.initial_cache(
                batch_size, width
            )
            named[f"block_{k}/horizontal"] = block.horizontal.initial_cache(
                batch_size, width
            )
            named[f"block_{k}/link"] = ops.zeros(
                (batch_size, width, 2 * self.filters), dtype
            )
        if self.spatial_conditioning:
            named["conditioning"] = ops.zeros(
                (batch_size, height, width, self.conditioning_filters), dtype
            )
        return self.state_layout.pack(named)

    starts_rows = True
    # Its starts export whole, and faster so (export graph rule
    # `narrow-conditionals`).
    narrow_start_conditionals = False

    @property
    def starts_images(self):
        return self.spatial_conditioning

    def start_image(self, state, conditional_input=None):
        """With spatial conditioning, the map `s = m(h)`, once per image."""
        named = self.state_layout.unpack(state)
        if self.spatial_conditioning:
            named["conditioning"] = self.conditioning(conditional_input)
        return self.state_layout.pack(named)

    def start_row(self, state, i, conditional_input=None):
        """The vertical stacks of the (complete) row above, once per row;
        the image's row buffer then moves up for row `i`."""
        return ops.cond(
            ops.greater(i, 0),
            lambda: self._vertical_rows(state, i - 1, conditional_input),
            lambda: tuple(state),
        )

    def step(self, state, pixel, i, j, conditional_input=None):
        named = self.state_layout.unpack(state)
        condition = conditional_input
        if self.spatial_conditioning:
            # Row i by a gather, not a slice: XLA wants a slice's start
            # row at compile time, and i comes from the sampler's input
            # row (one compilation per starting row; see
            # `kerpix.ops.pixels.raster_indices`).
            condition = read_column(
                ops.take(named["conditioning"], i, axis=1), j
            )
        h = ops.cast(pixel, self.compute_dtype)
        for k, block in enumerate(self.blocks):
            link_in = read_column(named[f"block_{k}/link"], j)
            h, named[f"block_{k}/horizontal"] = block.horizontal_step(
                named[f"block_{k}/horizontal"], h, link_in, j, condition
            )
        x = self.output_conv.call_pointwise(keras.activations.relu(h))
        return keras.activations.relu(x), self.state_layout.pack(named)

    def commit(self, state, pixel, i, j):
        # Only the image itself needs the completed pixel: in the padded
        # image (vertical stack) and in the first block's row cache
        # (horizontal stack). Hidden features at (i, j) never see the
        # sub-pixel of their own colour group, so the last pass made them
        # final.
        first = self.blocks[0]
        named = self.state_layout.unpack(state)
        named["block_0/vertical"] = first.vertical.cache_pixel(
            named["block_0/vertical"], j, pixel
        )
        named["block_0/horizontal"] = first.horizontal.cache_pixel(
            named["block_0/horizontal"], j, pixel
        )
        return self.state_layout.pack(named)

    def _vertical_rows(self, state, r, conditional_input=None):
        named = self.state_layout.unpack(state)
        condition = conditional_input
        if self.spatial_conditioning:
            condition = ops.take(named["conditioning"], r, axis=1)  # row r
        for k, block in enumerate(self.blocks):
            v_pre, v_out = block.vertical_row(
                named[f"block_{k}/vertical"], condition
            )
            named[f"block_{k}/link"] = v_pre
            if k + 1 < len(self.blocks):
                below = f"block_{k + 1}/vertical"
                named[below] = self.blocks[k + 1].vertical.push_row(
                    named[below], v_out
                )
        named["block_0/vertical"] = self.blocks[0].vertical.next_row(
            named["block_0/vertical"]
        )
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
                "conditional_dims": self.conditional_dims,
                "spatial_conditioning": self.spatial_conditioning,
                "conditioning_filters": self.conditioning_filters,
                "conditioning_upsamplings": self.conditioning_upsamplings,
            }
        )
        return config
