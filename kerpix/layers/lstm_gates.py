"""The LSTM cell update shared by the PixelRNN layers (keras.ops only)."""

import numpy as np
from keras import ops


def gate_order(units, num_color_channels):
    """Channel permutation from colour-grouped `[o, f, i, g]` blocks to
    `[o | f | i | g]`, each in colour-group order.

    A masked convolution's `4h` outputs come in `C` contiguous colour
    groups, each holding `[o, f, i, g]` of `h/C` units; after the
    permutation, unit `k` of every gate belongs to the same colour group,
    so the cell never mixes colours.
    """
    per = units // num_color_channels
    return np.array(
        [
            c * 4 * per + gate * per + k
            for gate in range(4)
            for c in range(num_color_channels)
            for k in range(per)
        ],
        "int32",
    )


def lstm_cell(z, c_prev, units, num_color_channels):
    """`(h, c)` from pre-activations `z` `(…, 4h)` and the cell `c_prev`:

    c = σ(f) ⊙ c_prev + σ(i) ⊙ tanh(g),   h = σ(o) ⊙ tanh(c)
    """
    if num_color_channels > 1:
        z = ops.take(z, gate_order(units, num_color_channels), axis=-1)
    o, f, i, g = ops.split(z, 4, axis=-1)
    c = ops.sigmoid(f) * c_prev + ops.sigmoid(i) * ops.tanh(g)
    return ops.sigmoid(o) * ops.tanh(c), c
