import keras
import numpy as np
import pytest

from kerpix import layers
from kerpix import testing


def test_shapes_and_serialization():
    for factor, shape in [(4, (7, 7)), ((2, 3), (3, 2))]:
        up = layers.ImageUpsampling(factor, filters=5)
        out = up(np.zeros((2,) + shape + (3,), "float32"))
        f = (factor, factor) if isinstance(factor, int) else factor
        want = (2, shape[0] * f[0], shape[1] * f[1], 5)
        assert tuple(out.shape) == want
        assert up.compute_output_shape((2,) + shape + (3,)) == want
        testing.run_serialization_test(up)


def test_matches_a_numpy_conv_then_transposed_conv():
    up = layers.ImageUpsampling((2, 3), filters=4)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(up(x))
    w = {v.name: keras.ops.convert_to_numpy(v) for v in up.weights}
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    hidden = np.zeros((2, 3, 4, 4))
    for i in range(3):
        for j in range(4):
            patch = padded[:, i : i + 3, j : j + 3]
            hidden[:, i, j] = (
                np.einsum("nabc,abcf->nf", patch, w["conv_kernel"])
                + w["conv_bias"]
            )
    hidden = np.maximum(hidden, 0)
    want = np.zeros((2, 6, 12, 4))
    for i in range(3):
        for j in range(4):
            for a in range(2):
                for b in range(3):
                    want[:, 2 * i + a, 3 * j + b] = (
                        hidden[:, i, j] @ w["upsampling_kernel"][a, b]
                        + w["upsampling_bias"]
                    )
    np.testing.assert_allclose(out, np.maximum(want, 0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"factor": 0}, r"`factor`.*Received: factor=\(0, 0\)"),
        ({"factor": (2,)}, r"`factor`.*Received: factor=\(2,\)"),
        ({"factor": 2, "filters": 0}, r"`filters`.*Received: filters=0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.ImageUpsampling(**kwargs)
