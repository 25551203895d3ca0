import keras
import numpy as np
import pytest

from kerpix import layers
from kerpix import testing


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_row_lstm(x, is_kernel, is_bias, ss_kernel, units, mask_type):
    """Independent reference (grey images): explicit loops over pixels."""
    n, height, width, _ = x.shape
    k = ss_kernel.shape[0]
    pad = k // 2
    h = np.zeros((n, height + 1, width + 2 * pad, units))
    c = np.zeros((n, height + 1, width, units))
    last = pad if mask_type == "B" else pad - 1  # rightmost tap read
    for i in range(height):
        for j in range(width):
            z = is_bias.copy() + np.zeros((n, 4 * units))
            for t in range(last + 1):
                jj = j + t - pad
                if 0 <= jj < width:
                    z += x[:, i, jj] @ is_kernel[0, t]
            for t in range(k):
                z += h[:, i, j + t] @ ss_kernel[t]  # h row i = image row i-1
            o, f, ig, g = np.split(z, 4, axis=-1)
            c[:, i + 1, j] = sigmoid(f) * c[:, i, j] + sigmoid(ig) * np.tanh(g)
            h[:, i + 1, j + pad] = sigmoid(o) * np.tanh(c[:, i + 1, j])
    return h[:, 1:, pad : pad + width]


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_matches_numpy_reference_with_constant_weights(mask_type):
    units, channels = 3, 2
    layer = layers.RowLSTM(units, kernel_size=3, mask_type=mask_type)
    x = np.random.default_rng(0).normal(size=(2, 4, 5, channels))
    layer.build(x.shape)
    # Golden weights: a fixed pattern, not the initializer.
    is_kernel = np.cos(np.arange(3 * channels * 4 * units)).reshape(
        1, 3, channels, 4 * units
    )
    is_bias = 0.1 * np.arange(4 * units)
    ss_kernel = 0.5 * np.sin(np.arange(3 * units * 4 * units)).reshape(
        3, units, 4 * units
    )
    layer.input_to_state.kernel.assign(is_kernel)
    layer.input_to_state.bias.assign(is_bias)
    layer.state_kernel.assign(ss_kernel)
    got = keras.ops.convert_to_numpy(layer(x.astype("float32")))
    want = numpy_row_lstm(x, is_kernel, is_bias, ss_kernel, units, mask_type)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # Golden value at one site, pinned.
    assert got[0, 3, 4, 0] == pytest.approx(want[0, 3, 4, 0], abs=1e-5)


@pytest.mark.parametrize("colors", [1, 3])
@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_gradient_causality_triangular_receptive_field(colors, mask_type):
    layer = layers.RowLSTM(
        2 * colors, mask_type=mask_type, num_color_channels=colors
    )
    shape = (6, 7, colors)
    for site in [(3, 3, 0), (3, 3, colors - 1), (5, 0, 0), (2, 6, colors - 1)]:
        expected = testing.masked_conv_receptive_field(
            [("row_lstm", 3, mask_type)], shape, site
        )
        # The triangle: row i - 1 reaches column j + 1 (j with mask A,
        # whose hidden state at j + 1 cannot read its own pixel) at most.
        i, j, _ = site
        right = min(j + 1, 6) - (mask_type == "A" and colors == 1)
        if i > 0:
            assert expected[i - 1, right].any()
            assert not expected[i - 1, right + 1 :].any()
        testing.assert_causal(
            layer, shape, site, expected=expected, strict=mask_type == "A"
        )


@pytest.mark.parametrize("colors", [1, 3])
@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_cached_step_equals_the_full_layer(colors, mask_type):
    layer = layers.RowLSTM(
        2 * colors, mask_type=mask_type, num_color_channels=colors
    )
    assert isinstance(layer, layers.CachedLayer)
    testing.assert_layer_step_matches_call(layer, (4, 5, colors))


def test_serialization_and_bad_arguments():
    layer = layers.RowLSTM(6, kernel_size=5, num_color_channels=3)
    again = testing.run_serialization_test(layer)
    assert again.kernel_size == 5
    with pytest.raises(ValueError, match=r"`units`.*num_color_channels=3"):
        layers.RowLSTM(4, num_color_channels=3)
    with pytest.raises(ValueError, match=r"`kernel_size`.*kernel_size=4"):
        layers.RowLSTM(4, kernel_size=4)
