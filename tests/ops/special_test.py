import keras
import numpy as np
import pytest

from kerpix import ops


def test_erfinv_matches_scipy_to_float32_accuracy():
    special = pytest.importorskip("scipy.special")
    x = np.concatenate(
        [np.linspace(-0.9999999, 0.9999999, 20001), 1 - np.logspace(-7, -1, 50)]
    ).astype("float32")
    got = keras.ops.convert_to_numpy(ops.erfinv(x)).astype("float64")
    want = special.erfinv(x.astype("float64"))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_normal_quantile_inverts_the_normal_cdf():
    special = pytest.importorskip("scipy.special")
    u = np.random.default_rng(0).uniform(1e-4, 1 - 1e-4, 1000)
    z = keras.ops.convert_to_numpy(ops.normal_quantile(u.astype("float32")))
    np.testing.assert_allclose(special.ndtr(z), u, rtol=1e-5, atol=1e-6)
