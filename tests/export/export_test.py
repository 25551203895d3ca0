import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kerpix import models
from kerpix.export.compare import log_prob_feed
from kerpix.models.inputs import example_conditions
from kerpix.testing.tiny_models import TINY_MODELS
from kerpix.testing.tiny_models import build_tiny_model

pytestmark = [pytest.mark.tensorflow_only, pytest.mark.large]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def read_json(path):
    with open(path) as f:
        return json.load(f)


# Every registered tiny model (kerpix.testing.tiny_models: every family
# and its conditioning and head variants) exports through the same step
# interface.
MODELS = sorted(TINY_MODELS)


@pytest.fixture(scope="module", params=MODELS)
def model(request):
    return build_tiny_model(request.param)


@pytest.fixture(scope="module")
def images(model):
    rng = np.random.default_rng(0)
    return rng.integers(0, model.num_levels, (5,) + model.image_shape)


@pytest.fixture(scope="module")
def saved_model_path(model, tmp_path_factory):
    from kerpix.export import export_saved_model

    base = str(tmp_path_factory.mktemp("saved_model"))
    return export_saved_model(model, base, name="pix", version=3)


@pytest.fixture(scope="module")
def onnx_path(model, tmp_path_factory):
    from kerpix.export import export_onnx

    return export_onnx(model, str(tmp_path_factory.mktemp("onnx")))


def test_saved_model_layout_signatures_and_log_prob(
    model, images, saved_model_path
):
    import tensorflow as tf

    assert saved_model_path.endswith(os.path.join("pix", "3"))
    loaded = tf.saved_model.load(saved_model_path)
    encoder = {"encode"} if hasattr(model, "encode") else set()
    assert (
        set(loaded.signatures)
        == {
            "serving_default",
            "sample",
            "sample_step",
        }
        | encoder
    )
    fn = loaded.signatures["serving_default"]
    specs = fn.structured_input_signature[1]
    assert specs["images"].dtype == tf.int32
    feed, expected = log_prob_feed(model, images)
    assert set(specs) == set(feed)
    if getattr(model, "dequantizes", False):
        assert set(specs) == {"images", "dequantization"}
    elif example_conditions(model, 1) is None:
        assert set(specs) == {"images"}
    out = fn(**{k: tf.constant(v) for k, v in feed.items()})
    np.testing.assert_allclose(out["log_prob"].numpy(), expected, rtol=1e-4)
    dims = np.prod(model.image_shape)
    np.testing.assert_allclose(
        out["bits_per_dim"].numpy(),
        -expected / (dims * np.log(2)),
        rtol=1e-4,
    )


def test_saved_model_samples_equal_keras(model, images, saved_model_path):
    from kerpix.export import check_saved_model

    # log_prob, a sample_step loop and the sample signature vs Keras.
    assert check_saved_model(model, saved_model_path, images) < 1e-4


def test_saved_model_cli_lists_the_signatures(saved_model_path):
    cli = shutil.which("saved_model_cli") or os.path.join(
        os.path.dirname(sys.executable), "saved_model_cli"
    )
    result = subprocess.run(
        [cli, "show", "--dir", saved_model_path, "--all"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("serving_default", "sample_step", "sample"):
        assert f"signature_def['{name}']" in result.stdout


def test_onnx_parity_and_signature_json(model, images, onnx_path):
    import onnxruntime

    from kerpix.export import check_onnx

    assert check_onnx(model, onnx_path, images) < 1e-4
    signature = read_json(os.path.join(onnx_path, "signature.json"))
    assert signature["image_shape"] == list(model.image_shape)
    assert signature["num_levels"] == model.num_levels
    assert signature["noise_dims"] == model.noise_dims
    assert signature["conditional"] is bool(model.step_conditional_dims)
    assert signature["num_positions"] == model.num_positions
    for name, endpoint in signature["endpoints"].items():
        if "file" not in endpoint:
            continue
        session = onnxruntime.InferenceSession(
            os.path.join(onnx_path, endpoint["file"]),
            providers=["CPUExecutionProvider"],
        )
        for declared, actual in (
            (endpoint["inputs"], session.get_inputs()),
            (endpoint["outputs"], session.get_outputs()),
        ):
            got = {a.name: (a.type, a.shape) for a in actual}
            assert set(got) == {d["name"] for d in declared}, name
            for d in declared:
                dtype = {
                    "int32": "tensor(int32)",
                    "int64": "tensor(int64)",
                    "float32": "tensor(float)",
                }[d["dtype"]]
                assert got[d["name"]] == (dtype, d["shape"]), d["name"]
    states = [
        s
        for s in signature["endpoints"]["sample_step"]["inputs"]
        if s["name"].startswith("state_")
    ]
    initial = model.initial_state(2)
    assert [s["shape"][1:] for s in states] == [
        list(t.shape[1:]) for t in initial
    ]


def test_standalone_onnx_sampler_reproduces_keras(model, onnx_path, tmp_path):
    noise = np.random.default_rng(5).random(
        (3, model.num_positions, model.noise_dims),
        "float32",
    )
    np.save(tmp_path / "noise.npy", noise)
    condition = example_conditions(model, 3)
    extra = []
    if condition is not None:
        np.save(tmp_path / "condition.npy", condition)
        extra = ["--conditional-input", str(tmp_path / "condition.npy")]
    script = os.path.join(ROOT, "export", "onnx_sample.py")
    code = (
        "import runpy, sys\n"
        "sys.modules['tensorflow'] = None\n"  # it must not need TensorFlow
        "sys.modules['kerpix'] = None\n"  # nor kerpix
        f"sys.argv = [{script!r}] + sys.argv[1:]\n"
        f"runpy.run_path({script!r}, run_name='__main__')\n"
    )
    expected = model.sample(noise=noise, conditional_input=condition, verbose=0)
    for mode, how in (([], "sample.onnx"), (["--step-by-step"], "sample_step")):
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                onnx_path,
                "--noise",
                str(tmp_path / "noise.npy"),
                "--output",
                str(tmp_path / "s.png"),
                "--output-npy",
                str(tmp_path / "s.npy"),
                *extra,
                *mode,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"images/s; {how}" in result.stdout, result.stdout
        np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), expected)
    assert (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")


def test_out_of_range_pixels_are_rejected_in_every_runtime(
    model, images, saved_model_path, onnx_path
):
    """-1 and num_levels alike: the SavedModel fails the call naming the
    input and range, ONNX scores NaN; in-range images are unaffected."""
    import onnxruntime
    import tensorflow as tf

    loaded = tf.saved_model.load(saved_model_path)
    session = onnxruntime.InferenceSession(
        os.path.join(onnx_path, "log_prob.onnx"),
        providers=["CPUExecutionProvider"],
    )
    top = model.num_levels - 1
    for bad in (-1, model.num_levels):
        feed, _ = log_prob_feed(model, images)
        feed["images"] = feed["images"].copy()
        feed["images"][1, 0, 0, 0] = bad
        with pytest.raises(
            tf.errors.InvalidArgumentError,
            match=rf"Input \\?'images\\?' must be in \[0, {top}\]",
        ):
            loaded.signatures["serving_default"](
                **{k: tf.constant(v) for k, v in feed.items()}
            )
        (got,) = session.run(["log_prob"], feed)
        assert np.isnan(got[1]) and np.isfinite(np.delete(got, 1)).all()


def test_check_fails_on_a_different_model(model, images, saved_model_path):
    from kerpix.export import check_saved_model

    other = model.from_config(model.get_config())
    # Untrained models are all near-uniform: make this one sharper.
    other.set_weights([5 * w for w in model.get_weights()])
    with pytest.raises(AssertionError, match="differs? from Keras"):
        check_saved_model(other, saved_model_path, images)


def test_float_ride_is_not_exportable(tmp_path):
    from kerpix.export import export_onnx

    model = models.RIDE((4, 4, 1), num_levels=None, num_hiddens=2)
    with pytest.raises(ValueError, match=r"`model`.*float RIDE"):
        export_onnx(model, str(tmp_path))


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
        match=r"Invalid value for argument `path`: no (log_prob|encode)\.onnx "
        r"in ",
    ):
        check_onnx(model, str(tmp_path), np.zeros((1,) + model.image_shape))


def test_auto_encoder_exports_its_encoder(tmp_path):
    import onnxruntime
    import tensorflow as tf

    from kerpix.export import export_onnx
    from kerpix.export import export_saved_model

    model = build_tiny_model("pixel_cnn_auto_encoder")
    images = np.random.default_rng(0).integers(0, 2, (3, 4, 4, 1))
    expected = model.encode(images)
    path = export_saved_model(model, str(tmp_path / "sm"))
    loaded = tf.saved_model.load(path)
    codes = loaded.signatures["encode"](images=tf.constant(images, tf.int32))
    np.testing.assert_allclose(codes["codes"].numpy(), expected, atol=1e-5)
    onnx_dir = export_onnx(model, str(tmp_path / "onnx"))
    session = onnxruntime.InferenceSession(
        os.path.join(onnx_dir, "encode.onnx"),
        providers=["CPUExecutionProvider"],
    )
    (codes,) = session.run(["codes"], {"images": images.astype("int32")})
    np.testing.assert_allclose(codes, expected, atol=1e-5)
    endpoint = read_json(os.path.join(onnx_dir, "signature.json"))["endpoints"][
        "encode"
    ]
    assert endpoint["outputs"][0]["shape"] == ["batch", 3]
