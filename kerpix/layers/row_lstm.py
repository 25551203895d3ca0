import keras
from keras import ops

from kerpix.layers.cached_layer import CachedLayer
from kerpix.layers.lstm_gates import lstm_cell
from kerpix.layers.masked_conv2d import MaskedConv2D
from kerpix.ops import loops
from kerpix.ops.pixels import read_column
from kerpix.ops.pixels import update_column
from kerpix.ops.pixels import window
from kerpix.utils.validation import validate_color_multiple


@keras.saving.register_keras_serializable(package="kerpix")
class RowLSTM(CachedLayer):
    """Row LSTM of PixelRNN (van den Oord et al. 2016, §3.1): one row at a
    time, top to bottom, every pixel of a row at once.

    With `x_i` the input row `i` and `h_{i-1}`, `c_{i-1}` the states of
    the row above (zeros above the image):

        [o, f, i, g] = K^ss ⊛ h_{i-1} + K^is ⊛ x_i
        c_i = σ(f) ⊙ c_{i-1} + σ(i) ⊙ tanh(g)
        h_i = σ(o) ⊙ tanh(c_i)

    `K^is` is a 1×k masked convolution along the row (mask "B" by default,
    R→G→B colour groups), computed for the whole input at once; `K^ss` an
    unmasked 1×k convolution of the row above. The receptive field is a
    triangle above the pixel, plus the row to its left. The scan over the
    `H` rows (static) is unrolled into the graph: one LSTM cell per row,
    every column at once, no per-pixel ops; it exports as plain
    operations. (`keras.ops.scan` with a tuple carry failed
    to trace under the TensorFlow backend in Keras 3.15.)

    Args:
        units: int. Hidden units `h` (a multiple of the colour channels).
        kernel_size: int. Odd width `k` of both convolutions. Defaults to
            `3`.
        mask_type: `"A"` or `"B"`: whether `K^is` may read the current
            pixel's own colour group. Defaults to `"B"`.
        num_color_channels: int. Defaults to `1`.

    Call arguments:
        inputs: `(N, H, W, C_in)`.
        bias: optional `(N, H, W, 4h)` added to the input-to-state map
            (conditioning that depends on no pixel of the image, e.g. the
            multi-scale PixelRNN's upsampled small image).

    Output:
        Hidden states `(N, H, W, units)`.

    Example:

    >>> lstm = kerpix.layers.RowLSTM(4)
    >>> tuple(lstm(np.zeros((2, 5, 6, 3))).shape)
    (2, 5, 6, 4)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1601.06759)
    """

    def __init__(
        self,
        units,
        kernel_size=3,
        mask_type="B",
        num_color_channels=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        validate_color_multiple("units", units, num_color_channels)
        if not isinstance(kernel_size, int) or kernel_size % 2 == 0:
            raise ValueError(
                "Invalid value for argument `kernel_size`. Expected an odd "
                f"int. Received: kernel_size={kernel_size!r}"
            )
        self.units = units
        self.kernel_size = kernel_size
        self.mask_type = mask_type
        self.num_color_channels = num_color_channels
        self.input_to_state = MaskedConv2D(
            4 * units,
            (1, kernel_size),
            mask_type=mask_type,
            num_color_channels=num_color_channels,
            name="input_to_state",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.input_to_state.build(input_shape)
        self.state_kernel = self.add_weight(
            shape=(self.kernel_size, self.units, 4 * self.units),
            initializer="glorot_uniform",
            name="state_to_state_kernel",
        )

    def _cell(self, z, c_prev):
        return lstm_cell(z, c_prev, self.units, self.num_color_channels)

    def _state_to_state(self, h_prev):
        """`K^ss ⊛ h_{i-1}` along a row: `(N, W, h)` -> `(N, W, 4h)`."""
        pad = self.kernel_size // 2
        width = h_prev.shape[1]
        padded = ops.pad(h_prev, ((0, 0), (pad, pad), (0, 0)))
        batch, units = ops.shape(h_prev)[0], h_prev.shape[-1]
        # ops.slice, not strided slicing (its gradient is slow on CPU).
        windows = ops.stack(
            [
                ops.slice(padded, (0, t, 0), (batch, width, units))
                for t in range(self.kernel_size)
            ],
            axis=2,
        )
        kernel = ops.cast(self.state_kernel, self.compute_dtype)
        return ops.einsum("nwku,kud->nwd", windows, kernel)

    @property
    def bias_size(self):
        """Channels of the `bias` map that `call` and `step` accept."""
        return 4 * self.units

    def call(self, inputs, bias=None):
        z = self.input_to_state(inputs)  # (N, H, W, 4h), all rows at once
        if bias is not None:
            z = z + ops.cast(bias, z.dtype)
        h = ops.zeros(
            (ops.shape(z)[0], z.shape[2], self.units), self.compute_dtype
        )

        def row(carry, inputs):  # one cell per row, every column at once
            h, c = carry
            h, c = self._cell(inputs[0] + self._state_to_state(h), c)
            return (h, c), (h, c)

        _, (hidden, _) = loops.scan(row, (h, h), (ops.moveaxis(z, 1, 0),))
        return ops.moveaxis(hidden, 0, 1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    # === Step-wise computation, for cached sampling ===

    # Caches, none as tall as the image: the input's current row
    # (`MaskedConv2D.initial_cache`), then `h` (columns padded) and `c` of
    # the row above, read-only along a row, and of the current row,
    # written pixel by pixel (never read and written in the same step, so
    # a compiled loop updates them in place); `start_row` makes the
    # current row the row above.

    cache_size = 5

    def initial_cache(self, batch_size, width):
        """Zero caches whose size does not depend on the image height."""
        pad = self.kernel_size // 2
        dtype = self.compute_dtype
        h = ops.zeros((batch_size, width + 2 * pad, self.units), dtype)
        c = ops.zeros((batch_size, width, self.units), dtype)
        return (
            self.input_to_state.initial_cache(batch_size, width),
            h,
            h,
            c,
            c,
        )

    def start_row(self, cache, i, bias_row=None):
        """The caches before row `i`: the last row becomes the row above
        (`bias_row` is not needed; the same call as `DiagonalBiLSTM`'s)."""
        inputs, _, h_row, _, c_row = cache
        inputs = self.input_to_state.next_row(inputs)
        return inputs, h_row, h_row, c_row, c_row

    def step(self, cache, x, i, j, bias=None):
        """Hidden state `(N, h)` at `(i, j)` from the input there `(N, C)`
        (and the `bias` there, `(N, 4h)`, if any).

        Returns `(h, cache)`; the row above must be complete in the cache.
        """
        inputs, h_above, h_row, c_above, c_row = cache
        inputs = self.input_to_state.cache_pixel(inputs, j, x)
        z = self.input_to_state.call_at_pixel(inputs, j)
        if bias is not None:
            z = z + ops.cast(bias, z.dtype)
        above = window(h_above, (j,), (self.kernel_size,))
        kernel = ops.cast(self.state_kernel, self.compute_dtype)
        z = z + ops.matmul(
            ops.reshape(above, (-1, self.kernel_size * self.units)),
            ops.reshape(kernel, (self.kernel_size * self.units, -1)),
        )
        h, c = self._cell(z, read_column(c_above, j))
        pad = self.kernel_size // 2
        h_row = update_column(h_row, j + pad, h)
        c_row = update_column(c_row, j, c)
        return h, (inputs, h_above, h_row, c_above, c_row)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "kernel_size": self.kernel_size,
                "mask_type": self.mask_type,
                "num_color_channels": self.num_color_channels,
            }
        )
        return config
