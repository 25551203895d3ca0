import keras
import numpy as np
import pytest

from kerpix import heads
from kerpix import testing


def make_head(dtype="float32", dims=4):
    head = heads.MCGSMHead(
        num_components=3, num_scales=2, num_features=3, dtype=dtype
    )
    head.build((None, dims))
    rng = np.random.default_rng(0)
    for weight in head.weights:
        weight.assign(rng.normal(scale=0.7, size=weight.shape))
    return head


def numpy_log_prob(head, y, h):
    w = {
        v.name: keras.ops.convert_to_numpy(v).astype("float64")
        for v in head.weights
    }
    energy = (h @ w["features"]) ** 2 @ (w["beta"] ** 2).T  # (N, C)
    log_gate = w["eta"] - 0.5 * np.exp(w["alpha"]) * energy[:, :, None]
    log_gate -= np.log(np.exp(log_gate).sum(axis=(1, 2), keepdims=True))
    mean = h @ w["predictors"] + w["means"]
    precision = np.exp(w["log_precisions"][:, None] + w["alpha"])
    expert = np.sqrt(precision / (2 * np.pi)) * np.exp(
        -0.5 * precision * (y[:, None, None] - mean[:, :, None]) ** 2
    )
    return np.log((np.exp(log_gate) * expert).sum(axis=(1, 2)))


def test_log_prob_matches_a_numpy_reference():
    head = make_head()
    rng = np.random.default_rng(1)
    h, y = rng.normal(size=(6, 4)), rng.normal(size=(6,))
    got = keras.ops.convert_to_numpy(
        head.log_prob(y.astype("float32"), h.astype("float32"))
    )
    np.testing.assert_allclose(got, numpy_log_prob(head, y, h), rtol=1e-4)


def test_each_conditional_integrates_to_one():
    head = make_head()
    h = np.random.default_rng(2).normal(size=(5, 4)).astype("float32")
    y = np.linspace(-60, 60, 60001).astype("float32")
    log_p = head.log_prob(
        np.broadcast_to(y[:, None], (len(y), 5)),
        np.broadcast_to(h, (len(y), 5, 4)),
    )
    density = np.exp(keras.ops.convert_to_numpy(log_p).astype("float64"))
    np.testing.assert_allclose(np.trapezoid(density, y, axis=0), 1, atol=1e-4)


def test_autodiff_gradient_matches_finite_differences():
    # float64 where the backend has it by default (JAX needs x64 mode).
    dtype = "float32" if keras.backend.backend() == "jax" else "float64"
    eps, rtol = (1e-3, 2e-2) if dtype == "float32" else (1e-6, 1e-5)
    head = make_head(dtype)
    rng = np.random.default_rng(3)
    h = rng.normal(size=(4, 4)).astype(dtype)
    y = keras.ops.convert_to_tensor(rng.normal(size=(4,)), dtype)

    def total(x):
        return keras.ops.sum(head.log_prob(y, x))

    grad = testing.input_gradient(lambda x: x, h, total)
    numeric = np.zeros(h.shape)
    for idx in np.ndindex(h.shape):
        up, down = h.copy(), h.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (
            float(total(keras.ops.convert_to_tensor(up, dtype)))
            - float(total(keras.ops.convert_to_tensor(down, dtype)))
        ) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=rtol, atol=rtol * 1e-2)


def test_samples_follow_the_conditional():
    head = make_head()
    h = np.random.default_rng(4).normal(size=(1, 4)).astype("float32")
    noise = np.random.default_rng(5).random((20000, 2)).astype("float32")
    samples = keras.ops.convert_to_numpy(
        head.sample(np.broadcast_to(h, (20000, 4)), noise)
    )
    y = np.linspace(-60, 60, 120001)
    with np.errstate(divide="ignore"):  # log(0) far in the tails
        log_p = numpy_log_prob(head, y, np.broadcast_to(h, (len(y), 4)))
    density = np.exp(log_p)
    cdf = np.cumsum(density) * (y[1] - y[0])
    for q in np.quantile(samples, [0.1, 0.3, 0.5, 0.7, 0.9]):
        empirical = np.mean(samples <= q)
        assert abs(np.interp(q, y, cdf) - empirical) < 0.015


def test_serialization_and_bad_arguments():
    testing.run_serialization_test(heads.MCGSMHead(2, 2, 2))
    with pytest.raises(
        ValueError, match=r"`num_scales`.*Received: num_scales=0"
    ):
        heads.MCGSMHead(num_scales=0)
