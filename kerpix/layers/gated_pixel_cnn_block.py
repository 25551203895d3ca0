import keras
import numpy as np
from keras import ops

from kerpix.layers.masked_conv2d import MaskedConv2D
from kerpix.layers.masked_conv2d import pointwise
from kerpix.ops.shifts import down_shift


@keras.saving.register_keras_serializable(package="kerpix")
class GatedPixelCNNBlock(keras.layers.Layer):
    """Gated PixelCNN layer: vertical and horizontal stacks, no blind spot.

    With `v` the vertical stack (everything above) and `h` the horizontal
    stack (the row to the left):

        v_pre = V_{k×k} * v                       (rows <= i, mask "V")
        h_pre = H_{1×k} * h + L_{1×1} * down_shift(v_pre)
        v' = tanh(v_pre_f) ⊙ σ(v_pre_g)
        h' = h + O_{1×1} * (tanh(h_pre_f) ⊙ σ(h_pre_g))

    The horizontal convolution is masked "A" in the first block (which
    reads the image) and "B" afterwards, with R→G→B colour groups; the
    vertical stack reaches the horizontal one only shifted one row down.
    Together they cover every pixel above and to the left, unlike stacked
    masked convolutions. The first block has no residual connection, so
    the horizontal stream after block `n` is the sum of every block's
    output `O * gate(h_pre)`: the skip outputs of the paper are that
    stream, read once by the backbone's output layers.

    Args:
        filters: int. Channels `F` of each stack (a multiple of the colour
            channels).
        kernel_size: int. Odd size `k`. Defaults to `5`.
        first: bool. The block that reads the image. Defaults to `False`.
        num_color_channels: int. Defaults to `1`.
        conditional_dims: int or `None`. Channels `D` of the conditioning
            `c`, added to both stacks before the gate as `V c`. A vector
            `(N, D)` (e.g. a one-hot class) gives a per-image bias, the
            paper's location-independent conditioning; a map
            `(N, H, W, D)` (`s = m(h)`, see `SpatialConditioning`) a
            1×1 convolution `V * s`, its location-dependent one. Defaults
            to `None`.

    Call arguments:
        inputs: tuple `(v, h)`, each `(N, H, W, channels)`, plus the
            conditioning (vectors or maps) as a third item when
            `conditional_dims` is set.

    Output:
        Tuple `(v', h')`, each `(N, H, W, filters)`.

    Example:

    >>> block = kerpix.layers.GatedPixelCNNBlock(4, first=True)
    >>> image = np.zeros((1, 6, 6, 1))
    >>> v, h = block((image, image))
    >>> tuple(h.shape)
    (1, 6, 6, 4)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1606.05328)
    """

    def __init__(
        self,
        filters,
        kernel_size=5,
        first=False,
        num_color_channels=1,
        conditional_dims=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if (
            not isinstance(filters, int)
            or filters < 1
            or (filters % num_color_channels)
        ):
            raise ValueError(
                "Invalid value for argument `filters`. Expected a positive "
                f"multiple of num_color_channels={num_color_channels}. "
                f"Received: filters={filters!r}"
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.first = first
        self.num_color_channels = num_color_channels
        self.conditional_dims = conditional_dims
        colors = dict(
            num_color_channels=num_color_channels, dtype=self.dtype_policy
        )
        self.vertical = MaskedConv2D(
            2 * filters, kernel_size, mask_type="V", name="vertical", **colors
        )
        self.horizontal = MaskedConv2D(
            2 * filters,
            (1, kernel_size),
            mask_type="A" if first else "B",
            name="horizontal",
            **colors,
        )
        # Reads rows above only (after down_shift): no colour mask needed.
        self.link = keras.layers.Conv2D(
            2 * filters, 1, name="link", dtype=self.dtype_policy
        )
        self.output_conv = MaskedConv2D(
            filters, 1, mask_type="B", name="output_conv", **colors
        )
        if conditional_dims:
            # V^T h (vectors) or V * s (maps, a 1×1 convolution) of the
            # paper: a Dense layer acts on the last axis of either.
            self.condition_v = keras.layers.Dense(
                2 * filters,
                use_bias=False,
                name="condition_v",
                dtype=self.dtype_policy,
            )
            self.condition_h = keras.layers.Dense(
                2 * filters,
                use_bias=False,
                name="condition_h",
                dtype=self.dtype_policy,
            )

    def build(self, input_shape):
        expected = 3 if self.conditional_dims else 2
        if not (
            isinstance(input_shape, (list, tuple))
            and len(input_shape) == expected
            and all(isinstance(s, (list, tuple)) for s in input_shape)
        ):
            structure = (
                "(v, h, conditional_input)" if expected == 3 else "(v, h)"
            )
            raise ValueError(
                "Invalid value for argument `inputs`. A GatedPixelCNNBlock "
                f"(conditional_dims={self.conditional_dims}) is called on a "
                f"tuple {structure}: the vertical and horizontal stacks, "
                "(N, H, W, C) each"
                + (", and the conditioning" if expected == 3 else "")
                + f". Received: input_shape={input_shape!r}"
            )
        v_shape, h_shape = input_shape[:2]
        if self.conditional_dims:
            self.condition_v.build((None, self.conditional_dims))
            self.condition_h.build((None, self.conditional_dims))
        if not self.first and h_shape[-1] != self.filters:
            raise ValueError(
                f"A GatedPixelCNNBlock with filters={self.filters} and "
                f"first=False needs {self.filters}-channel inputs. Received: "
                f"input_shape={tuple(h_shape)}"
            )
        pre_shape = tuple(v_shape[:-1]) + (2 * self.filters,)
        self.vertical.build(v_shape)
        self.horizontal.build(h_shape)
        self.link.build(pre_shape)
        self.output_conv.build(tuple(h_shape[:-1]) + (self.filters,))

    def call(self, inputs):
        v, h = inputs[:2]
        v_pre = self.vertical(v)
        if self.conditional_dims:
            v_pre = v_pre + self._spread(self.condition_v(inputs[2]), 4)
        h_pre = self.horizontal(h) + self.link(down_shift(v_pre))
        if self.conditional_dims:
            h_pre = h_pre + self._spread(self.condition_h(inputs[2]), 4)
        h_out = self.output_conv(self.gate(h_pre))
        if not self.first:
            h_out = h + h_out
        return self.gate(v_pre), h_out

    @staticmethod
    def _spread(bias, rank):
        """A per-image `(N, 2F)` bias broadcast to `rank` dims; maps (or
        rows of maps) pass through."""
        while len(bias.shape) < rank:
            bias = ops.expand_dims(bias, 1)
        return bias

    def gate(self, x):
        """`tanh(f) ⊙ σ(g)`, halves taken inside each colour group.

        The `2F` channels are laid out `[R_f, R_g, G_f, G_g, B_f, B_g]` (the
        contiguous colour groups of the masked convolutions). One gather
        reorders them to `[f | g]`, then `ops.split`: strided slices or a
        5-D reshape trained 3× slower on CPU, and a concatenate inside the
        sampling step's graph conditional does not export (export graph
        rule `no-conv-in-step`).
        """
        if self.num_color_channels > 1:
            x = ops.take(x, self._gate_order, axis=-1)
        f, g = ops.split(x, 2, axis=-1)
        return ops.tanh(f) * ops.sigmoid(g)

    @property
    def _gate_order(self):
        # Channel k of colour c's f half sits at 2*c*per + k, its g half at
        # (2*c + 1)*per + k.
        per = self.filters // self.num_color_channels
        colors = range(self.num_color_channels)
        f = [2 * c * per + k for c in colors for k in range(per)]
        g = [(2 * c + 1) * per + k for c in colors for k in range(per)]
        return np.array(f + g, "int32")

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[1][:-1]) + (self.filters,)
        return shape, shape

    # === Step-wise computation, for cached sampling ===

    def vertical_row(self, v_cache, conditional=None):
        """`(v_pre, v')` along the current row of `v_cache`, `(N, W, 2F)`
        and `(N, W, F)`.

        `v_cache` is the vertical convolution's row buffer of its input
        (`MaskedConv2D.initial_cache`), its current row complete;
        `conditional` is a vector `(N, D)` or that row of the conditioning
        map `(N, W, D)`.
        """
        v_pre = self.vertical.call_at_row(v_cache)
        if self.conditional_dims:
            v_pre = v_pre + self._spread(self.condition_v(conditional), 3)
        return v_pre, self.gate(v_pre)

    def horizontal_step(self, h_row, h_in, link_in, j, conditional=None):
        """`(h', h_row)` at column `j` of the current row.

        `h_row` is the horizontal convolution's row buffer (one row: the
        current one, padded); `h_in` `(N, C)` is the input at `j` and
        `link_in` `(N, 2F)` the vertical pre-activation one row up;
        `conditional` `(N, D)` is the vector, or the map at `(i, j)`.
        """
        h_row = self.horizontal.cache_pixel(h_row, j, h_in)
        h_pre = self.horizontal.call_at_pixel(h_row, j)
        h_pre = h_pre + pointwise(self.link, link_in)
        if self.conditional_dims:
            h_pre = h_pre + self.condition_h(conditional)
        h_out = self.output_conv.call_pointwise(self.gate(h_pre))
        if not self.first:
            h_out = h_in + h_out
        return h_out, h_row

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "first": self.first,
                "num_color_channels": self.num_color_channels,
                "conditional_dims": self.conditional_dims,
            }
        )
        return config
