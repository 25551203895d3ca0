import keras
import numpy as np
import pytest

from kerpix import layers
from kerpix import testing


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_diagonal_lstm(z, kernel, units):
    """One direction in image coordinates, explicit loops (no skewing):
    the state at (i, j) reads (i - 1, j) with tap 0 and (i, j - 1) with
    tap 1, and continues the cell of (i, j - 1)."""
    n, height, width, _ = z.shape
    h = np.zeros((n, height + 1, width + 1, units))
    c = np.zeros((n, height + 1, width + 1, units))
    for i in range(height):
        for j in range(width):
            pre = z[:, i, j] + h[:, i, j + 1] @ kernel[0]
            pre = pre + h[:, i + 1, j] @ kernel[1]
            o, f, ig, g = np.split(pre, 4, axis=-1)
            c[:, i + 1, j + 1] = sigmoid(f) * c[:, i + 1, j] + sigmoid(
                ig
            ) * np.tanh(g)
            h[:, i + 1, j + 1] = sigmoid(o) * np.tanh(c[:, i + 1, j + 1])
    return h[:, 1:, 1:]


def test_matches_numpy_reference_with_constant_weights():
    units, channels = 2, 3
    layer = layers.DiagonalBiLSTM(units)
    x = np.random.default_rng(0).normal(size=(2, 4, 5, channels))
    layer.build(x.shape)
    w_l = np.cos(np.arange(channels * 4 * units)).reshape(channels, -1)
    w_r = np.sin(np.arange(channels * 4 * units)).reshape(channels, -1)
    b = 0.1 * np.arange(4 * units)
    k_l = 0.5 * np.sin(np.arange(2 * units * 4 * units)).reshape(2, units, -1)
    k_r = 0.5 * np.cos(np.arange(2 * units * 4 * units)).reshape(2, units, -1)
    layer.input_to_state.kernel.assign(w_l[None, None])
    layer.input_to_state.bias.assign(b)
    layer.reverse_input_to_state.kernel.assign(w_r)
    layer.reverse_input_to_state.bias.assign(-b)
    layer.state_kernel.assign(k_l)
    layer.reverse_state_kernel.assign(k_r)
    got = keras.ops.convert_to_numpy(layer(x.astype("float32")))
    # Mask B with one colour: the 1×1 input-to-state is unmasked.
    left = numpy_diagonal_lstm(x @ w_l + b, k_l, units)
    right = numpy_diagonal_lstm((x @ w_r - b)[:, :, ::-1], k_r, units)
    right = right[:, :, ::-1]
    want = left.copy()
    want[:, 1:] += right[:, :-1]  # the right-to-left output, one row down
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("colors", [1, 3])
@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_gradient_causality_full_context(colors, mask_type):
    layer = layers.DiagonalBiLSTM(
        2 * colors, mask_type=mask_type, num_color_channels=colors
    )
    shape = (5, 6, colors)
    for site in [(3, 3, 0), (3, 3, colors - 1), (4, 0, 0), (0, 5, colors - 1)]:
        expected = testing.masked_conv_receptive_field(
            [("diagonal_bilstm", mask_type)], shape, site
        )
        # Everything above the row is reached, right-hand side included
        # (a 1×1 mask-A kernel is empty for grey images).
        if mask_type == "B":
            assert expected[: site[0]].all()
        testing.assert_causal(
            layer, shape, site, expected=expected, strict=mask_type == "A"
        )


def test_without_the_shift_down_the_gradient_test_catches_a_leak():
    # The classic bug: adding the right-to-left states unshifted lets
    # (i, j) see (i, j + 1).
    class Unshifted(layers.DiagonalBiLSTM):
        def call(self, inputs):
            import keras.ops as ops

            z_right = ops.flip(self.reverse_input_to_state(inputs), axis=2)
            z = ops.stack([self.input_to_state(inputs), z_right])
            left, right = ops.unstack(self._diagonal_scan(z), 2)
            return left + ops.flip(right, axis=2)

    with pytest.raises(AssertionError, match="future sub-pixels"):
        testing.assert_causal(Unshifted(2), (4, 5, 1), (2, 1, 0))


@pytest.mark.parametrize("colors", [1, 3])
@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_cached_step_equals_the_full_layer(colors, mask_type):
    layer = layers.DiagonalBiLSTM(
        2 * colors, mask_type=mask_type, num_color_channels=colors
    )
    assert isinstance(layer, layers.CachedLayer)
    testing.assert_layer_step_matches_call(layer, (4, 5, colors))


def test_serialization_and_bad_arguments():
    layer = layers.DiagonalBiLSTM(6, num_color_channels=3)
    testing.run_serialization_test(layer)
    with pytest.raises(ValueError, match=r"`units`.*num_color_channels=3"):
        layers.DiagonalBiLSTM(4, num_color_channels=3)
