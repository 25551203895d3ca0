import keras
import numpy as np
from keras import ops

from kerpix.layers.cached_layer import CachedLayer
from kerpix.ops.pixels import read_column
from kerpix.ops.pixels import update_column
from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class SpatialLSTM(CachedLayer):
    """Spatial LSTM of RIDE (Theis & Bethge 2015, "Generative Image
    Modeling Using Spatial LSTMs"): a 2-D LSTM whose state at pixel
    `(i, j)` reads the states to its left and above.

        [g, o, i, f_r, f_c] = [tanh, σ, σ, σ, σ](W x_ij + U_c h_{i,j-1}
                                                  + U_r h_{i-1,j} + b)
        c_ij = g ⊙ i + c_{i,j-1} ⊙ f_c + c_{i-1,j} ⊙ f_r
        h_ij = tanh(c_ij ⊙ o)

    with zero states outside the image. `x_ij` is the layer's input at
    `(i, j)` (for the first layer, the causal neighbourhood of the pixel,
    see `CausalNeighborhood`), so `h_ij` depends on the inputs of the
    upper-left quadrant `i' <= i, j' <= j`.

    Computed as an anti-diagonal wavefront: every pixel with `i + j = k`
    in one step (`H + W - 1` steps, unrolled over the static size), on the
    input skewed so that anti-diagonals become columns; no per-pixel ops.

    Args:
        units: int. Hidden units.
        kernel_initializer: initializer of every weight matrix. Defaults
            to `RandomUniform(-0.08, 0.08)` (the RIDE reference code).

    Call arguments:
        inputs: `(N, H, W, D)`.

    Output:
        Hidden states `(N, H, W, units)`.

    Example:

    >>> lstm = kerpix.layers.SpatialLSTM(4)
    >>> tuple(lstm(np.zeros((2, 5, 6, 3))).shape)
    (2, 5, 6, 4)

    References:
        - [Theis & Bethge, 2015](https://arxiv.org/abs/1506.03478)
    """

    def __init__(self, units, kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        validate_positive_int("units", units)
        self.units = units
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.RandomUniform(-0.08, 0.08)
        )

    def build(self, input_shape):
        dims = int(input_shape[-1])
        gates = 5 * self.units
        self.input_kernel = self.add_weight(
            shape=(dims, gates),
            initializer=self.kernel_initializer,
            name="input_kernel",
        )
        # Rows: [h_{i-1,j} (above); h_{i,j-1} (left)].
        self.state_kernel = self.add_weight(
            shape=(2 * self.units, gates),
            initializer=self.kernel_initializer,
            name="state_kernel",
        )
        self.bias = self.add_weight(
            shape=(gates,), initializer="zeros", name="bias"
        )

    def cell(self, z, c_left, c_above):
        """`(h, c)` from the gate pre-activations `z` `(..., 5h)` and the
        neighbours' cells."""
        g, o, i, f_r, f_c = ops.split(z, 5, axis=-1)
        c = (
            ops.tanh(g) * ops.sigmoid(i)
            + c_left * ops.sigmoid(f_c)
            + c_above * ops.sigmoid(f_r)
        )
        return ops.tanh(c * ops.sigmoid(o)), c

    def call(self, inputs):
        height, width = inputs.shape[1], inputs.shape[2]
        units = self.units
        z = ops.einsum(
            "nhwd,dg->nhwg",
            inputs,
            ops.cast(self.input_kernel, self.compute_dtype),
        ) + ops.cast(self.bias, self.compute_dtype)
        # Skew: row i shifted right by i, so column k holds anti-diagonal k.
        skewed = ops.stack(
            [
                ops.pad(row, ((0, 0), (i, height - 1 - i), (0, 0)))
                for i, row in enumerate(ops.unstack(z, axis=1))
            ],
            axis=1,
        )
        columns = ops.unstack(skewed, axis=2)  # (N, H, 5h) each
        kernel = ops.cast(self.state_kernel, self.compute_dtype)
        batch = ops.shape(inputs)[0]
        h = ops.zeros((batch, height, units), self.compute_dtype)
        c = h
        rows = np.arange(height)
        outputs = []
        for k in range(height + width - 1):
            # Row i of column k is pixel (i, k - i); padding stays zero.
            valid = ((k - rows >= 0) & (k - rows < width)).astype("float32")
            valid = ops.cast(valid[:, None], self.compute_dtype)
            # Left neighbour (i, j-1): same row of column k-1; above
            # (i-1, j): the row above in column k-1.
            h_above = ops.pad(
                ops.slice(h, (0, 0, 0), (batch, height - 1, units)),
                ((0, 0), (1, 0), (0, 0)),
            )
            c_above = ops.pad(
                ops.slice(c, (0, 0, 0), (batch, height - 1, units)),
                ((0, 0), (1, 0), (0, 0)),
            )
            z_k = columns[k] + ops.matmul(
                ops.concatenate([h_above, h], -1), kernel
            )
            h, c = self.cell(z_k, c, c_above)
            h, c = h * valid, c * valid
            outputs.append(h)
        hidden = ops.unstack(ops.stack(outputs, axis=2), axis=1)
        return ops.stack(  # unskew: row i starts at column i
            [
                ops.slice(row, (0, i, 0), (batch, width, units))
                for i, row in enumerate(hidden)
            ],
            axis=1,
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    # === Step-wise computation, for cached sampling ===
    # Caches, none as tall as the image: h and c of the row above
    # (read-only along a row) and of the current row (written pixel by
    # pixel, never read and written in the same step, so a compiled loop
    # updates them in place), and h and c of the pixel to the left.
    # `start_row` moves them up a row.

    cache_size = 6

    def initial_cache(self, batch_size, width):
        dtype = self.compute_dtype
        row = ops.zeros((batch_size, width, self.units), dtype)
        pixel = ops.zeros((batch_size, self.units), dtype)
        return row, row, row, row, pixel, pixel

    def start_row(self, cache, i):
        """The caches before a row: the last row becomes the row above."""
        _, h_row, _, c_row, h_prev, _ = cache
        zeros = ops.zeros_like(h_prev)
        return h_row, h_row, c_row, c_row, zeros, zeros

    def step(self, cache, x, i, j):
        """Hidden state `(N, h)` at `(i, j)` from the input there `(N, D)`;
        returns `(h, cache)`."""
        h_above, h_row, c_above, c_row, h_prev, c_prev = cache
        kernel = ops.cast(self.state_kernel, self.compute_dtype)
        z = (
            ops.matmul(x, ops.cast(self.input_kernel, self.compute_dtype))
            + ops.cast(self.bias, self.compute_dtype)
            + ops.matmul(
                ops.concatenate([read_column(h_above, j), h_prev], -1),
                kernel,
            )
        )
        h, c = self.cell(z, c_prev, read_column(c_above, j))
        h_row = update_column(h_row, j, h)
        c_row = update_column(c_row, j, c)
        return h, (h_above, h_row, c_above, c_row, h, c)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
