"""`kerpix.ops.loops`: unrolled and rolled loops compute the same values."""

import keras
import numpy as np
import pytest

from kerpix import layers
from kerpix.ops import loops


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_unrolled_equals_rolled(reverse):
    xs = np.random.default_rng(0).normal(size=(5, 3, 2)).astype("float32")

    def step(carry, inputs):
        total = carry[0] * 0.5 + inputs[0]
        return (total,), (total,)

    init = (np.zeros((3, 2), "float32"),)
    carry, (ys,) = loops.scan(step, init, (xs,), reverse=reverse)
    with loops.rolled_loops():
        rolled_carry, (rolled_ys,) = loops.scan(
            step, init, (xs,), reverse=reverse
        )
    order = range(4, -1, -1) if reverse else range(5)
    total, want = np.zeros((3, 2), "float32"), np.zeros_like(xs)
    for t in order:
        total = total * 0.5 + xs[t]
        want[t] = total
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ys), want, 1e-6)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(rolled_ys), want, 1e-6
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(rolled_carry[0]),
        keras.ops.convert_to_numpy(carry[0]),
        1e-6,
    )


@pytest.mark.parametrize(
    "layer",
    [
        lambda: layers.RowLSTM(6, num_color_channels=3),
        lambda: layers.DiagonalBiLSTM(6, num_color_channels=3),
    ],
)
def test_lstm_layers_roll_their_loops_with_the_same_outputs(layer):
    layer = layer()
    x = np.random.default_rng(1).normal(size=(2, 5, 4, 6)).astype("float32")
    unrolled = keras.ops.convert_to_numpy(layer(x))
    with loops.rolled_loops():
        rolled = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(rolled, unrolled, rtol=1e-5, atol=1e-6)
