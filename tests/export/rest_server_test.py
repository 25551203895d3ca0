import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from kerpix import models

pytestmark = [pytest.mark.tensorflow_only, pytest.mark.large]


@pytest.fixture(scope="module")
def model():
    return models.PixelCNN((4, 5, 1), num_levels=4, filters=4, num_layers=1)


@pytest.fixture(scope="module")
def url(model, tmp_path_factory):
    from kerpix.export import export_saved_model
    from kerpix.export.rest_server import make_server

    base = str(tmp_path_factory.mktemp("serving"))
    export_saved_model(model, base, name="pix", version=1)
    export_saved_model(model, base, name="pix", version=2)
    server = make_server("pix", f"{base}/pix", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/v1/models/pix"
    server.shutdown()
    server.server_close()


def call(url, body=None, raw=None):
    data = (
        raw
        if raw is not None
        else (None if body is None else json.dumps(body).encode())
    )
    request = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_status_and_metadata(url):
    status, body = call(url)
    assert status == 200
    # TF Serving's default policy: the latest version only.
    versions = [v["version"] for v in body["model_version_status"]]
    assert versions == ["2"]
    assert body["model_version_status"][0]["state"] == "AVAILABLE"
    status, body = call(url + "/versions/2/metadata")
    assert status == 200
    defs = body["metadata"]["signature_def"]["signature_def"]
    assert set(defs) == {"serving_default", "sample", "sample_step"}
    images = defs["serving_default"]["inputs"]["images"]
    assert images["dtype"] == "DT_INT32"
    # TF Serving's protobuf names: DT_FLOAT, not DT_FLOAT32.
    outputs = defs["serving_default"]["outputs"]
    assert outputs["log_prob"]["dtype"] == "DT_FLOAT"
    noise = defs["sample_step"]["inputs"]["noise"]
    assert noise["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in images["tensor_shape"]["dim"]] == [
        "-1",
        "4",
        "5",
        "1",
    ]


def test_predict_row_and_columnar_formats(url, model):
    images = np.random.default_rng(0).integers(0, 4, (3, 4, 5, 1))
    expected = model.log_prob(images)
    status, body = call(url + ":predict", {"instances": images.tolist()})
    assert status == 200
    got = [row["log_prob"] for row in body["predictions"]]
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    status, body = call(
        url + "/versions/2:predict",
        {
            "signature_name": "serving_default",
            "inputs": {"images": images.tolist()},
        },
    )
    assert status == 200
    np.testing.assert_allclose(body["outputs"]["log_prob"], expected, rtol=1e-4)


def test_sampling_through_the_server_equals_keras(url, model):
    noise = np.random.default_rng(1).random((2, 20, 1), "float32")
    canvas = np.zeros((2, 4, 5, 1), "int32")
    state = [np.asarray(s) for s in model.initial_state(2)]
    for position in range(20):
        inputs = {
            "canvas": canvas.tolist(),
            "position": position,
            "noise": noise[:, position].tolist(),
        }
        inputs.update({f"state_{k}": s.tolist() for k, s in enumerate(state)})
        status, body = call(
            url + ":predict",
            {"signature_name": "sample_step", "inputs": inputs},
        )
        assert status == 200, body
        out = body["outputs"]
        canvas = np.asarray(out["next_canvas"], "int32")
        state = [
            np.asarray(out[f"next_state_{k}"], "float32")
            for k in range(len(state))
        ]
    np.testing.assert_array_equal(canvas, model.sample(noise=noise, verbose=0))
    status, body = call(
        url + ":predict",
        {
            "signature_name": "sample",
            "inputs": {"num_samples": 2, "seed": 3},
        },
    )
    assert status == 200
    assert np.asarray(body["outputs"]).shape == (2, 4, 5, 1)


@pytest.mark.parametrize(
    "path, body, raw, code, message",
    [
        (
            ":predict",
            {"instances": [[[1, 2]]]},
            None,
            400,
            "Input 'images' has shape [1, 1, 2]",
        ),
        (":predict", None, b"{not json", 400, "JSON Parse error"),
        (
            ":predict",
            {"signature_name": "nope", "instances": [1]},
            None,
            400,
            'Serving signature name: "nope" not found',
        ),
        (":predict", {"foo": 1}, None, 400, "Missing 'inputs' or 'instances'"),
        (
            ":predict",
            {"inputs": {"images": [[["a"]]]}},
            None,
            400,
            "Input 'images': cannot convert to int32",
        ),
        (
            "/versions/9:predict",
            {"instances": [1]},
            None,
            404,
            "Servable not found for request: Specific(pix, 9)",
        ),
    ],
)
def test_bad_requests_get_tf_serving_errors(
    url, path, body, raw, code, message
):
    status, answer = call(url + path, body, raw)
    assert status == code
    assert message in answer["error"]


def test_unknown_model_is_404(url):
    status, answer = call(
        url.replace("/pix", "/other") + ":predict", {"instances": [1]}
    )
    assert status == 404
    assert answer["error"] == "Servable not found for request: Latest(other)"


def test_bad_base_path(tmp_path):
    from kerpix.export.rest_server import make_server

    with pytest.raises(ValueError, match=r"has no VERSION/saved_model\.pb"):
        make_server("pix", str(tmp_path), port=0)


def test_serve_script_runs_the_documented_command(model, tmp_path):
    import os
    import subprocess
    import sys

    from kerpix.export import export_saved_model

    export_saved_model(model, str(tmp_path), name="kerpix", version=1)
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    process = subprocess.Popen(
        [
            sys.executable,
            os.path.join(root, "export", "serve.py"),
            "--model_name=kerpix",
            f"--model_base_path={tmp_path}/kerpix",
            "--rest_api_port=0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()  # printed once the model is loaded
        assert line.startswith("Serving kerpix at http://127.0.0.1:"), line
        url = line.split(" at ")[1].strip()
        status, body = call(url)
        assert status == 200
        assert body["model_version_status"][0]["version"] == "1"
    finally:
        process.kill()
        process.communicate(timeout=30)


def test_kerpix_serve_flags(model, tmp_path, capsys):
    from kerpix.cli.main import main

    base = f"--model_base_path={tmp_path}/missing"
    assert main(["serve", base, "--rest_api_port=70000"]) == 2
    assert "[0, 65535]" in capsys.readouterr().err
    assert main(["serve", base, "--rest_api_port=-1", "--port=-1"]) == 2
    assert "both are off" in capsys.readouterr().err
    assert main(["serve"]) == 2
    assert "exactly one of them" in capsys.readouterr().err
    assert main(["serve", base, "--rest_api_port=0"]) == 2
    assert "missing" in capsys.readouterr().err


def test_sample_of_zero_or_too_many_images_is_a_clear_400(url):
    for count in (0, -1, 10_001):
        status, answer = call(
            url + ":predict",
            {
                "signature_name": "sample",
                "inputs": {"num_samples": count, "seed": 0},
            },
        )
        assert status == 400
        assert "Input 'num_samples' must be in [1, 10000]" in answer["error"]


def test_kerpix_serve_refuses_a_damaged_saved_model_in_one_line(
    model, tmp_path, capsys
):
    from kerpix.cli.main import main
    from kerpix.export import export_saved_model

    export_saved_model(model, str(tmp_path), name="pix", version=1)
    graph = tmp_path / "pix" / "1" / "saved_model.pb"
    graph.write_bytes(graph.read_bytes()[:1000])
    base = f"--model_base_path={tmp_path}/pix"
    assert main(["serve", base, "--rest_api_port=0"]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1, error
    assert "Cannot load the SavedModel in" in error
    assert "pix/1" in error and "Re-export it" in error


def test_server_limits_are_checked(tmp_path):
    from kerpix.export.rest_server import make_server

    for argument, value in (
        ("num_threads", 0),
        ("max_request_bytes", "64MB"),
        ("connection_limit", -5),
        ("queue_timeout", 0),
    ):
        with pytest.raises(ValueError, match=f"`{argument}`"):
            make_server("pix", str(tmp_path), port=0, **{argument: value})
