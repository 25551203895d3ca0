import math

import keras
from keras import ops

from kerpix.layers.diagonal_bilstm import DiagonalBiLSTM
from kerpix.layers.image_upsampling import ImageUpsampling
from kerpix.layers.masked_conv2d import MaskedConv2D
from kerpix.layers.row_lstm import RowLSTM
from kerpix.models.backbone import Backbone
from kerpix.models.state_layout import StateLayout
from kerpix.ops.pixels import read_pixel
from kerpix.utils.validation import validate_color_multiple
from kerpix.utils.validation import validate_image_shape
from kerpix.utils.validation import validate_positive_int

LSTM_LAYERS = {"row_lstm": RowLSTM, "diagonal_bilstm": DiagonalBiLSTM}


@keras.saving.register_keras_serializable(package="kerpix")
class PixelRNNBackbone(Backbone):
    """PixelRNN (van den Oord et al. 2016, "Pixel Recurrent Neural
    Networks") with residual LSTM layers (paper Fig. 5).

    A 7×7 mask-A convolution to `2h` features, then `num_layers` residual
    blocks `x + P_{1×1,B}(LSTM(x))` whose LSTM has `h = units` hidden
    units and a mask-B input-to-state convolution, then ReLU, a 1×1 mask-B
    convolution to `output_filters` and ReLU; the head adds the last 1×1
    layer. Colours are split into R→G→B groups throughout.

    Args:
        image_shape: tuple `(H, W, C)`.
        units: int. Hidden units `h` of each LSTM (paper: 16 for binarized
            MNIST, 128 for CIFAR-10). Defaults to `16`.
        num_layers: int. LSTM layers (paper: 7 for MNIST, 12 for
            CIFAR-10). Defaults to `7`.
        lstm: `"row_lstm"` (`RowLSTM`) or `"diagonal_bilstm"`
            (`DiagonalBiLSTM`). Defaults to `"row_lstm"`.
        kernel_size: int. Width of the Row LSTM's convolutions (unused by
            the Diagonal BiLSTM, whose kernels are 1×1 and 2×1). Defaults
            to `3`.
        first_kernel_size: int. Defaults to `7`.
        output_filters: int. Defaults to `2 * units`.
        conditional_shape: `None`, or the shape `(h, w, C')` of a small
            image to condition on (the multi-scale PixelRNN, paper §2.4;
            `H`, `W` multiples of `h`, `w`). The backbone then takes
            `[images, conditional_input]`, the small image flattened to
            `(N, h*w*C')` floats; `ImageUpsampling` enlarges it to an
            `H × W × conditioning_filters` map, and a 1×1 convolution of
            that map per layer is added to the layer's input-to-state map.
        conditioning_filters: int. Channels of the upsampled map.
            Defaults to `32`.

    Example:

    >>> backbone = kerpix.models.PixelRNNBackbone((6, 6, 1), units=4,
    ...                                          num_layers=2)
    >>> tuple(backbone(np.zeros((2, 6, 6, 1))).shape)
    (2, 6, 6, 8)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1601.06759)
    """

    def __init__(
        self,
        image_shape,
        units=16,
        num_layers=7,
        lstm="row_lstm",
        kernel_size=3,
        first_kernel_size=7,
        output_filters=None,
        conditional_shape=None,
        conditioning_filters=32,
        **kwargs,
    ):
        image_shape = validate_image_shape(image_shape)
        if conditional_shape is not None:
            conditional_shape = validate_conditional_shape(
                conditional_shape, image_shape
            )
        validate_positive_int("units", units)
        validate_positive_int("num_layers", num_layers)
        if lstm not in LSTM_LAYERS:
            raise ValueError(
                "Invalid value for argument `lstm`. Expected one of "
                f"{sorted(LSTM_LAYERS)}. Received: lstm={lstm!r}"
            )
        output_filters = output_filters or 2 * units
        colors = image_shape[-1]
        validate_color_multiple("units", units, colors)
        validate_color_multiple("output_filters", output_filters, colors)
        masked = dict(num_color_channels=colors)

        # === Layers ===
        first = MaskedConv2D(
            2 * units, first_kernel_size, mask_type="A", name="first", **masked
        )
        sizes = {"kernel_size": kernel_size} if lstm == "row_lstm" else {}
        lstms = [
            LSTM_LAYERS[lstm](
                units, mask_type="B", name=f"lstm_{k}", **sizes, **masked
            )
            for k in range(num_layers)
        ]
        projections = [
            MaskedConv2D(
                2 * units, 1, mask_type="B", name=f"projection_{k}", **masked
            )
            for k in range(num_layers)
        ]
        output = MaskedConv2D(
            output_filters, 1, mask_type="B", name="output_conv", **masked
        )

        upsampling, biases = None, [None] * num_layers
        if conditional_shape is not None:
            validate_positive_int("conditioning_filters", conditioning_filters)
            upsampling = ImageUpsampling(
                (
                    image_shape[0] // conditional_shape[0],
                    image_shape[1] // conditional_shape[1],
                ),
                conditioning_filters,
                name="upsampling",
            )
            biases = [
                keras.layers.Dense(
                    lstm_layer.bias_size, name=f"conditioning_{k}"
                )
                for k, lstm_layer in enumerate(lstms)
            ]

        # === Functional Model ===
        images = keras.Input(shape=image_shape, name="images")
        inputs, maps = images, [None] * num_layers
        if conditional_shape is not None:
            condition = keras.Input(
                shape=(math.prod(conditional_shape),), name="conditional_input"
            )
            inputs = [images, condition]
            upsampled = upsampling(
                ops.reshape(condition, (-1,) + conditional_shape)
            )
            maps = [bias(upsampled) for bias in biases]
        x = first(images)
        for lstm_layer, projection, bias in zip(lstms, projections, maps):
            x = x + projection(lstm_layer(x, bias=bias))
        outputs = keras.activations.relu(output(keras.activations.relu(x)))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.first = first
        self.lstms = lstms
        self.projections = projections
        self.output_conv = output
        self.upsampling = upsampling
        self.biases = biases

        # === Config ===
        self.image_shape = image_shape
        self.units = units
        self.num_layers = num_layers
        self.lstm = lstm
        self.kernel_size = kernel_size
        self.first_kernel_size = first_kernel_size
        self.output_filters = output_filters
        self.conditional_shape = conditional_shape
        self.conditioning_filters = conditioning_filters
        if conditional_shape is not None:
            self.conditional_dims = math.prod(conditional_shape)

    # === Step interface (see `Backbone`) ===
    # State: `image`, the row buffer of the image (the first layer's
    # input, see `MaskedConv2D.initial_cache`); `lstm_k`, each LSTM's
    # caches (`cache_size` tensors, none as tall as the image; see the
    # layer); when conditional, `bias_maps`: every layer's bias map,
    # computed by `start_image` and only read.

    @property
    def state_layout(self):
        entries = [("image", None)] + [
            (f"lstm_{k}", lstm_layer.cache_size)
            for k, lstm_layer in enumerate(self.lstms)
        ]
        if self.conditional_shape is not None:
            entries.append(("bias_maps", None))
        return StateLayout(entries)

    def initial_state(self, batch_size):
        height, width, _ = self.image_shape
        named = {"image": self.first.initial_cache(batch_size, width)}
        for k, lstm_layer in enumerate(self.lstms):
            named[f"lstm_{k}"] = lstm_layer.initial_cache(batch_size, width)
        if self.conditional_shape is not None:
            size = sum(lstm_layer.bias_size for lstm_layer in self.lstms)
            named["bias_maps"] = keras.ops.zeros(
                (batch_size, height, width, size), self.compute_dtype
            )
        return self.state_layout.pack(named)

    def _bias_maps(self, conditional_input):
        """Every layer's bias map, concatenated on the channel axis."""
        small = ops.reshape(conditional_input, (-1,) + self.conditional_shape)
        upsampled = self.upsampling(small)
        return ops.concatenate([bias(upsampled) for bias in self.biases], -1)

    def _split_biases(self, biases):
        """Per-layer pieces of the concatenated bias maps (or `None`s)."""
        if self.conditional_shape is None:
            return [None] * self.num_layers
        sizes = [lstm_layer.bias_size for lstm_layer in self.lstms]
        if len(sizes) == 1:
            return [biases]
        cuts = [sum(sizes[: k + 1]) for k in range(len(sizes) - 1)]
        return ops.split(biases, cuts, axis=-1)

    @property
    def starts_images(self):
        return self.conditional_shape is not None

    starts_rows = True

    def start_image(self, state, conditional_input=None):
        """When conditional, every layer's bias map, once per image."""
        named = self.state_layout.unpack(state)
        if self.conditional_shape is not None:
            named["bias_maps"] = self._bias_maps(conditional_input)
        return self.state_layout.pack(named)

    def start_row(self, state, i, conditional_input=None):
        """Once per row: the image's and every LSTM's caches move up a row
        (the Diagonal BiLSTM's computing the right-to-left states of the
        finished row above)."""
        named = self.state_layout.unpack(state)
        named["image"] = self.first.next_row(named["image"])
        rows = [None] * self.num_layers
        if self.lstm == "diagonal_bilstm" and self.conditional_shape:
            # Row i - 1 of the bias maps (row -1 is not used).
            above = ops.take(named["bias_maps"], ops.maximum(i - 1, 0), axis=1)
            rows = self._split_biases(above)
        for k, (lstm_layer, bias_row) in enumerate(zip(self.lstms, rows)):
            named[f"lstm_{k}"] = lstm_layer.start_row(
                named[f"lstm_{k}"], i, bias_row
            )
        return self.state_layout.pack(named)

    def step(self, state, pixel, i, j, conditional_input=None):
        if self.image_shape[-1] > 1:
            # Colours read the pixel's earlier sub-pixels; with one colour
            # the mask-A first layer reads nothing of the pixel itself.
            state = self.commit(state, pixel, i, j)
        named = self.state_layout.unpack(state)
        biases = None
        if self.conditional_shape is not None:
            biases = read_pixel(named["bias_maps"], i, j)
        x = self.first.call_at_pixel(named["image"], j)
        for k, (lstm_layer, projection, bias) in enumerate(
            zip(self.lstms, self.projections, self._split_biases(biases))
        ):
            h, named[f"lstm_{k}"] = lstm_layer.step(
                named[f"lstm_{k}"], x, i, j, bias
            )
            x = x + projection.call_pointwise(h)
        x = self.output_conv.call_pointwise(keras.activations.relu(x))
        return keras.activations.relu(x), self.state_layout.pack(named)

    def commit(self, state, pixel, i, j):
        # The LSTM caches at (i, j) are final after the last colour pass
        # (no feature sees the sub-pixel of their own group): only the image
        # needs the completed pixel.
        named = self.state_layout.unpack(state)
        named["image"] = self.first.cache_pixel(named["image"], j, pixel)
        return self.state_layout.pack(named)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_shape": self.image_shape,
                "units": self.units,
                "num_layers": self.num_layers,
                "lstm": self.lstm,
                "kernel_size": self.kernel_size,
                "first_kernel_size": self.first_kernel_size,
                "output_filters": self.output_filters,
                "conditional_shape": self.conditional_shape,
                "conditioning_filters": self.conditioning_filters,
            }
        )
        return config


def validate_conditional_shape(conditional_shape, image_shape):
    """`conditional_shape` as 3 ints dividing the image's grid, or raise."""
    try:
        shape = tuple(int(d) for d in conditional_shape)
    except TypeError:
        shape = None
    if (
        shape is None
        or len(shape) != 3
        or min(shape) < 1
        or image_shape[0] % shape[0]
        or image_shape[1] % shape[1]
    ):
        raise ValueError(
            "Invalid value for argument `conditional_shape`. Expected the "
            "small image's (height, width, channels), with height and width "
            f"dividing the image's {image_shape[:2]}. Received: "
            f"conditional_shape={conditional_shape!r}"
        )
    return shape
