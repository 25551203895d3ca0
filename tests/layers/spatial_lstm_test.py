import keras
import numpy as np
import pytest

from kerpix import layers
from kerpix import testing


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_spatial_lstm(x, input_kernel, state_kernel, bias, units):
    """Per-pixel loops, the paper's equations."""
    n, height, width, _ = x.shape
    h = np.zeros((n, height + 1, width + 1, units))
    c = np.zeros_like(h)
    for i in range(height):
        for j in range(width):
            above, left = h[:, i, j + 1], h[:, i + 1, j]
            z = (
                x[:, i, j] @ input_kernel
                + np.concatenate([above, left], -1) @ state_kernel
                + bias
            )
            g, o, i_, f_r, f_c = np.split(z, 5, axis=-1)
            c[:, i + 1, j + 1] = (
                np.tanh(g) * sigmoid(i_)
                + c[:, i + 1, j] * sigmoid(f_c)
                + c[:, i, j + 1] * sigmoid(f_r)
            )
            h[:, i + 1, j + 1] = np.tanh(c[:, i + 1, j + 1] * sigmoid(o))
    return h[:, 1:, 1:]


def test_matches_a_per_pixel_numpy_reference():
    lstm = layers.SpatialLSTM(3, kernel_initializer="glorot_uniform")
    x = np.random.default_rng(0).normal(size=(2, 4, 5, 2)).astype("float32")
    got = keras.ops.convert_to_numpy(lstm(x))
    lstm.bias.assign(np.random.default_rng(1).normal(size=(15,)))
    got = keras.ops.convert_to_numpy(lstm(x))
    weights = [keras.ops.convert_to_numpy(w) for w in lstm.weights]
    want = numpy_spatial_lstm(x, *weights, units=3)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("site", [(2, 3, 0), (0, 4, 0), (4, 0, 0), (4, 5, 0)])
def test_state_reads_exactly_the_upper_left_quadrant(site):
    lstm = layers.SpatialLSTM(2)
    shape = (5, 6, 1)
    expected = np.zeros(shape, bool)
    expected[: site[0] + 1, : site[1] + 1] = True
    # Two output groups would split units by colour; one channel here.
    testing.assert_causal(lstm, shape, site, expected=expected, strict=False)


def test_step_matches_the_wavefront():
    # Caches are rows and pixels, none image-sized.
    testing.assert_layer_step_matches_call(layers.SpatialLSTM(3), (3, 4, 2))


def test_serialization_and_bad_units():
    testing.run_serialization_test(layers.SpatialLSTM(4))
    with pytest.raises(ValueError, match=r"`units`.*Received: units=0"):
        layers.SpatialLSTM(0)


def test_causal_neighborhood_is_rides_3x5_window():
    x = np.arange(5 * 6).reshape(1, 5, 6, 1).astype("float32") + 1
    out = keras.ops.convert_to_numpy(layers.CausalNeighborhood()(x))
    assert out.shape == (1, 5, 6, 12)
    padded = np.pad(x[0, :, :, 0], ((2, 0), (2, 2)))
    i, j = 3, 2
    want = [
        padded[i + di + 2, j + dj + 2] for di in (-2, -1) for dj in range(-2, 3)
    ]
    want += [padded[i + 2, j - 2 + 2], padded[i + 2, j - 1 + 2]]
    np.testing.assert_array_equal(out[0, i, j], want)
    # Never the pixel itself or anything after it.
    testing.assert_causal(
        layers.CausalNeighborhood(),
        (5, 6, 1),
        (2, 2, 0),
        strict=True,
        expected=_window((5, 6, 1), (2, 2)),
    )
    testing.run_serialization_test(layers.CausalNeighborhood(1, 1, 0))
    with pytest.raises(ValueError, match=r"`rows`.*Received: rows=-1"):
        layers.CausalNeighborhood(rows=-1)


def _window(shape, site):
    i, j = site
    field = np.zeros(shape, bool)
    for di, dj in layers.CausalNeighborhood().offsets:
        if 0 <= i + di < shape[0] and 0 <= j + dj < shape[1]:
            field[i + di, j + dj] = True
    return field
