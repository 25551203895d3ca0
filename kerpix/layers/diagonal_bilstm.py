import keras
import numpy as np
from keras import ops

from kerpix.layers.cached_layer import CachedLayer
from kerpix.layers.lstm_gates import lstm_cell
from kerpix.layers.masked_conv2d import MaskedConv2D
from kerpix.ops import loops
from kerpix.ops.pixels import read_column
from kerpix.ops.pixels import update_column
from kerpix.utils.validation import validate_color_multiple


@keras.saving.register_keras_serializable(package="kerpix")
class DiagonalBiLSTM(CachedLayer):
    """Diagonal BiLSTM of PixelRNN (van den Oord et al. 2016, §3.2).

    Each direction is a diagonal LSTM: the input is skewed (row `i`
    shifted right by `i`), a 1×1 input-to-state convolution gives the
    gates' input part, and the scan runs over the skewed columns, i.e. the
    image's diagonals, all pixels of a diagonal at once, with a 2×1
    state-to-state convolution of the previous column. In image
    coordinates the state at `(i, j)` reads the states at `(i, j-1)` and
    `(i-1, j)`; its cell continues `c_{i,j-1}`.

    - The left-to-right direction runs on the input with a masked (mask
      "B" by default, R→G→B groups) input-to-state convolution.
    - The right-to-left direction runs on the mirrored input, so its state
      at `(i, j)` sees row `i` to the right of `j`: its output is **shifted
      down one row** before the two are added, and then only reads rows
      above. Its input-to-state convolution needs no mask.

    Output: `h_L(i, j) + h_R(i-1, j)` (zeros for the first row).

    Args:
        units: int. Hidden units of each direction (a multiple of the
            colour channels).
        mask_type: `"A"` or `"B"` for the left-to-right input-to-state
            convolution. Defaults to `"B"`.
        num_color_channels: int. Defaults to `1`.

    Call arguments:
        inputs: `(N, H, W, C_in)`.
        bias: optional `(N, H, W, 8h)` added to the input-to-state maps
            (first `4h` channels: left-to-right, last `4h`: right-to-left;
            in image coordinates), for conditioning that depends on no
            pixel of the image.

    Example:

    >>> lstm = kerpix.layers.DiagonalBiLSTM(4)
    >>> tuple(lstm(np.zeros((2, 5, 6, 3))).shape)
    (2, 5, 6, 4)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1601.06759)
    """

    def __init__(self, units, mask_type="B", num_color_channels=1, **kwargs):
        super().__init__(**kwargs)
        validate_color_multiple("units", units, num_color_channels)
        self.units = units
        self.mask_type = mask_type
        self.num_color_channels = num_color_channels
        self.input_to_state = MaskedConv2D(
            4 * units,
            1,
            mask_type=mask_type,
            num_color_channels=num_color_channels,
            name="input_to_state",
            dtype=self.dtype_policy,
        )
        self.reverse_input_to_state = keras.layers.Dense(
            4 * units, name="reverse_input_to_state", dtype=self.dtype_policy
        )

    def build(self, input_shape):
        self.input_to_state.build(input_shape)
        self.reverse_input_to_state.build(input_shape)
        # Taps of the 2×1 state-to-state convolution: [above, beside].
        self.state_kernel = self.add_weight(
            shape=(2, self.units, 4 * self.units),
            initializer="glorot_uniform",
            name="state_to_state_kernel",
        )
        self.reverse_state_kernel = self.add_weight(
            shape=(2, self.units, 4 * self.units),
            initializer="glorot_uniform",
            name="reverse_state_to_state_kernel",
        )

    def _cell(self, z, c_prev):
        return lstm_cell(z, c_prev, self.units, self.num_color_channels)

    def _kernels(self, reverse):
        kernel = self.reverse_state_kernel if reverse else self.state_kernel
        kernel = ops.cast(kernel, self.compute_dtype)
        return kernel[0], kernel[1]

    def _diagonal_scan(self, z):
        """Hidden states `(2, N, H, W, h)` of both directions at once.

        `z` `(2, N, H, W, 4h)` holds the left-to-right input part and the
        right-to-left one of the mirrored image; stacking the directions
        halves the number of (small, overhead-bound) operations.
        """
        height, width = z.shape[2], z.shape[3]
        # Skew: row i shifted right by i, so column k holds diagonal k.
        skewed = ops.stack(
            [
                ops.pad(row, ((0, 0), (0, 0), (i, height - 1 - i), (0, 0)))
                for i, row in enumerate(ops.unstack(z, axis=2))
            ],
            axis=2,
        )
        # [above; beside] taps of each direction as one (2h, 4h) matrix.
        kernel = ops.cast(
            ops.stack(
                [
                    ops.reshape(self.state_kernel, (2 * self.units, -1)),
                    ops.reshape(
                        self.reverse_state_kernel, (2 * self.units, -1)
                    ),
                ]
            ),
            self.compute_dtype,
        )
        rows = np.arange(height)
        # Row i of column k is pixel (i, k - i); padding stays zero.
        k = np.arange(height + width - 1)[:, None]
        valid = ((k - rows >= 0) & (k - rows < width)).astype("float32")
        valid = ops.cast(valid[:, :, None], self.compute_dtype)
        directions, batch = z.shape[0], ops.shape(z)[1]
        h = ops.zeros((directions, batch, height, self.units), z.dtype)

        def column(carry, inputs):
            h, c = carry
            z_k, valid_k = inputs
            h_above = ops.pad(
                ops.slice(
                    h, (0, 0, 0, 0), (directions, batch, height - 1, self.units)
                ),
                ((0, 0), (0, 0), (1, 0), (0, 0)),
            )
            z_k = z_k + ops.einsum(
                "dnhu,dux->dnhx", ops.concatenate([h_above, h], -1), kernel
            )
            h, c = self._cell(z_k, c)
            h, c = h * valid_k, c * valid_k
            return (h, c), (h, c)

        # ops.unstack / ops.slice inside (via `loops.scan`), not strided
        # slicing: its gradient trained several times slower on CPU.
        _, (columns, _) = loops.scan(
            column, (h, h), (ops.moveaxis(skewed, 3, 0), valid)
        )
        hidden = ops.unstack(ops.moveaxis(columns, 0, 3), axis=2)
        return ops.stack(  # unskew: row i starts at column i
            [
                ops.slice(
                    row, (0, 0, i, 0), (directions, batch, width, self.units)
                )
                for i, row in enumerate(hidden)
            ],
            axis=2,
        )

    @property
    def bias_size(self):
        """Channels of the `bias` map that `call` and `step` accept."""
        return 8 * self.units

    def call(self, inputs, bias=None):
        z_left = self.input_to_state(inputs)
        z_right = self.reverse_input_to_state(inputs)
        if bias is not None:
            bias_left, bias_right = ops.split(
                ops.cast(bias, z_left.dtype), 2, -1
            )
            z_left, z_right = z_left + bias_left, z_right + bias_right
        # A 1×1 layer on the mirrored image is the mirrored 1×1 output.
        z = ops.stack([z_left, ops.flip(z_right, axis=2)])
        left, right = ops.unstack(self._diagonal_scan(z), 2)
        right = ops.flip(right, axis=2)
        # Shift down one row: h_R(i-1, j) reaches (i, j).
        right = ops.pad(right[:, :-1], ((0, 0), (1, 0), (0, 0), (0, 0)))
        return left + right

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    # === Step-wise computation, for cached sampling ===
    # Caches, none as tall as the image: the layer's input along the
    # current row (`MaskedConv2D.initial_cache`); the left-to-right `h` of
    # the row above (read-only along a row) and of the current row
    # (written pixel by pixel, never read and written in the same step, so
    # a compiled loop updates it in place); `h` and `c` of the pixel to
    # the left; and the right-to-left `h` of the row above. `start_row`
    # moves them up a row.

    cache_size = 6

    def initial_cache(self, batch_size, width):
        dtype = self.compute_dtype
        row = ops.zeros((batch_size, width, self.units), dtype)
        pixel = ops.zeros((batch_size, self.units), dtype)
        return (
            self.input_to_state.initial_cache(batch_size, width),
            row,
            row,
            pixel,
            pixel,
            row,
        )

    def start_row(self, cache, i, bias_row=None):
        """The caches before row `i`: the last row becomes the row above,
        with (for `i > 0`) its right-to-left states, computed along it
        (`bias_row`: that row of the `bias` map `(N, W, 8h)`, if any)."""
        inputs, _, h_row, h_prev, c_prev, h_right = cache
        zeros = ops.zeros_like(h_prev)
        h_right = ops.cond(
            ops.greater(i, 0),
            lambda: self._reverse_row(inputs, h_right, bias_row),
            lambda: h_right,
        )
        inputs = self.input_to_state.next_row(inputs)
        return inputs, h_row, h_row, zeros, zeros, h_right

    def _reverse_row(self, inputs, h_above, bias_row=None):
        """The right-to-left states along the row in `inputs` (complete),
        right to left, given those of the row above."""
        above, beside = self._kernels(True)
        z_row = self.reverse_input_to_state(inputs[:, -1])
        if bias_row is not None:
            z_row = z_row + ops.split(ops.cast(bias_row, z_row.dtype), 2, -1)[1]
        h = ops.zeros_like(h_above[:, 0])

        def cell(carry, inputs):  # right to left along the row
            h, c = carry
            z_j, h_above_j = inputs
            z = z_j + ops.matmul(h_above_j, above) + ops.matmul(h, beside)
            h, c = self._cell(z, c)
            return (h, c), (h, c)

        # One loop op, not W unrolled cells: its per-row cost stays that
        # of the row's W cells at any width.
        with loops.rolled_loops():
            _, (hs, _) = loops.scan(
                cell,
                (h, h),
                (ops.moveaxis(z_row, 1, 0), ops.moveaxis(h_above, 1, 0)),
                reverse=True,
            )
        return ops.moveaxis(hs, 0, 1)

    def step(self, cache, x, i, j, bias=None):
        """Output `(N, h)` at `(i, j)` from the input there (and the `bias`
        there, `(N, 8h)`, if any); `start_row(cache, i)` must have run."""
        inputs, h_above, h_row, h_prev, c_prev, h_right = cache
        inputs = self.input_to_state.cache_pixel(inputs, j, x)
        above, beside = self._kernels(False)
        z = (
            self.input_to_state.call_pointwise(x)
            + ops.matmul(read_column(h_above, j), above)
            + ops.matmul(h_prev, beside)
        )
        if bias is not None:
            z = z + ops.split(ops.cast(bias, z.dtype), 2, -1)[0]
        h, c = self._cell(z, c_prev)
        h_row = update_column(h_row, j, h)
        output = h + read_column(h_right, j)
        return output, (inputs, h_above, h_row, h, c, h_right)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "mask_type": self.mask_type,
                "num_color_channels": self.num_color_channels,
            }
        )
        return config
