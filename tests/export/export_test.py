import json
import os

import numpy as np
import pytest

from kerpix import models

pytestmark = [pytest.mark.tensorflow_only, pytest.mark.large]


def read_json(path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def model():
    return models.PixelCNN((6, 6, 3), num_levels=8, filters=6, num_layers=1)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 8, (5, 6, 6, 3))


def test_saved_model_layout_signature_and_parity(model, images, tmp_path):
    import tensorflow as tf

    from kerpix.export import check_saved_model
    from kerpix.export import export_saved_model

    path = export_saved_model(model, str(tmp_path), name="pix", version=3)
    assert path == os.path.join(str(tmp_path), "pix", "3")
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    loaded = tf.saved_model.load(path)
    fn = loaded.signatures["serving_default"]
    (spec,) = fn.structured_input_signature[1].values()
    assert spec.name == "images" and spec.dtype == tf.int32
    assert set(fn.structured_outputs) == {"log_prob", "bits_per_dim"}
    out = fn(images=tf.constant(images, tf.int32))
    expected = model.log_prob(images)
    np.testing.assert_allclose(out["log_prob"].numpy(), expected, rtol=1e-4)
    np.testing.assert_allclose(
        out["bits_per_dim"].numpy(),
        -expected / (6 * 6 * 3 * np.log(2)),
        rtol=1e-4,
    )
    assert check_saved_model(model, path, images) < 1e-4


def test_onnx_parity_and_signature(model, images, tmp_path):
    import onnxruntime

    from kerpix.export import check_onnx
    from kerpix.export import export_onnx

    path = export_onnx(model, str(tmp_path))
    session = onnxruntime.InferenceSession(
        os.path.join(path, "log_prob.onnx"),
        providers=["CPUExecutionProvider"],
    )
    (inp,) = session.get_inputs()
    assert inp.name == "images" and inp.type == "tensor(int32)"
    assert inp.shape == ["batch", 6, 6, 3]
    names = sorted(o.name for o in session.get_outputs())
    assert names == ["bits_per_dim", "log_prob"]
    (got,) = session.run(["log_prob"], {"images": images.astype("int32")})
    np.testing.assert_allclose(got, model.log_prob(images), rtol=1e-4)
    assert check_onnx(model, path, images) < 1e-4
    signature = read_json(os.path.join(path, "signature.json"))
    assert signature["image_shape"] == [6, 6, 3]
    assert signature["num_levels"] == 8
    assert signature["endpoints"]["log_prob"]["inputs"][0]["name"] == "images"


def test_check_fails_on_a_different_model(model, images, tmp_path):
    from kerpix.export import check_saved_model
    from kerpix.export import export_saved_model

    path = export_saved_model(model, str(tmp_path))
    other = models.PixelCNN((6, 6, 3), num_levels=8, filters=6, num_layers=1)
    # Untrained models are all near-uniform: make this one sharper.
    other.set_weights([5 * w for w in model.get_weights()])
    with pytest.raises(AssertionError, match="log_prob differs from Keras"):
        check_saved_model(other, path, images)


def test_bad_export_arguments(model, tmp_path):
    from kerpix.export import check_onnx
    from kerpix.export import export_saved_model

    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `version`\. TF Serving needs a "
        r"positive integer\. Received: version=0",
    ):
        export_saved_model(model, str(tmp_path), version=0)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `path`: no log_prob\.onnx in ",
    ):
        check_onnx(model, str(tmp_path), np.zeros((1, 6, 6, 3), "int32"))
