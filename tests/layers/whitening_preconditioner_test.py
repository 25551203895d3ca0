import keras
import numpy as np
import pytest

from kerpix import layers
from kerpix import testing


def correlated_data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(4, 4))
    x = rng.normal(size=(n, 4)) @ mixing + np.array([1.0, -2.0, 0.0, 3.0])
    z = x @ np.array([0.5, -1.0, 0.25, 0.0]) + 0.3 * rng.normal(size=n) + 2
    return x.astype("float32"), z.astype("float32")


def fitted():
    layer = layers.WhiteningPreconditioner()
    layer.adapt(*correlated_data())
    return layer


def test_identity_before_adapt():
    layer = layers.WhiteningPreconditioner()
    x, z = correlated_data(10)
    xw, zw = layer(x, z)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(xw), x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(zw), z)
    assert float(layer.log_jacobian) == 0.0


def test_whitened_inputs_and_decorrelated_outputs():
    layer = fitted()
    x, z = correlated_data(seed=0)
    xw, zw = (keras.ops.convert_to_numpy(t) for t in layer(x, z))
    np.testing.assert_allclose(xw.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(np.cov(xw.T, bias=True), np.eye(4), atol=1e-3)
    # The residual: zero mean, unit variance, uncorrelated with x; its
    # scale is the noise's (0.3), so the log-Jacobian is -log 0.3.
    np.testing.assert_allclose(zw.mean(), 0, atol=1e-4)
    np.testing.assert_allclose(zw.std(), 1, atol=1e-3)
    np.testing.assert_allclose(xw.T @ zw / len(zw), 0, atol=1e-3)
    np.testing.assert_allclose(
        float(layer.log_jacobian), -np.log(0.3), atol=0.03
    )


def test_unwhiten_inverts_whiten_given_the_inputs():
    layer = fitted()
    x, z = correlated_data(50, seed=1)
    zw = layer.whiten_outputs(x, z)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer.unwhiten_outputs(x, zw)),
        z,
        rtol=1e-5,
        atol=1e-5,
    )


def test_log_jacobian_is_the_output_map_slope():
    layer = fitted()
    x, z = correlated_data(5, seed=2)
    eps = 1e-2
    slope = (
        keras.ops.convert_to_numpy(layer.whiten_outputs(x, z + eps))
        - keras.ops.convert_to_numpy(layer.whiten_outputs(x, z))
    ) / eps
    np.testing.assert_allclose(
        np.log(slope), float(layer.log_jacobian), atol=1e-3
    )


def test_keras_file_round_trip_keeps_the_statistics(tmp_path):
    layer = fitted()
    x, z = correlated_data(8, seed=3)
    inputs = keras.Input((4,))
    targets = keras.Input(())
    xw, zw = layer(inputs, targets)
    model = keras.Model([inputs, targets], [xw, zw])
    path = str(tmp_path / "pre.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    for a, b in zip(
        model.predict([x, z], verbose=0), restored.predict([x, z], verbose=0)
    ):
        np.testing.assert_array_equal(a, b)
    testing.run_serialization_test(layers.WhiteningPreconditioner(1e-4))


def test_bad_input():
    with pytest.raises(ValueError, match=r"`epsilon`.*Received: epsilon=0"):
        layers.WhiteningPreconditioner(epsilon=0)
    layer = layers.WhiteningPreconditioner()
    with pytest.raises(ValueError, match=r"`inputs`/`outputs`.*\(5, 4\)"):
        layer.adapt(np.zeros((5, 4)), np.zeros(6))
    layer.adapt(*correlated_data(20))
    with pytest.raises(ValueError, match=r"`inputs`.*4 values per row"):
        layer.adapt(np.zeros((5, 3)), np.zeros(5))
