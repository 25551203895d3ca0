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
    versions = [v["version"] for v in body["model_version_status"]]
    assert versions == ["2", "1"]
    assert body["model_version_status"][0]["state"] == "AVAILABLE"
    status, body = call(url + "/versions/1/metadata")
    assert status == 200
    defs = body["metadata"]["signature_def"]["signature_def"]
    assert set(defs) == {"serving_default", "sample", "sample_step"}
    images = defs["serving_default"]["inputs"]["images"]
    assert images["dtype"] == "DT_INT32"
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
        url + "/versions/1:predict",
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
    # --port is tensorflow_model_server's gRPC flag: refused, with the fix.
    assert main(["serve", base, "--port=8500"]) == 2
    assert "--rest_api_port" in capsys.readouterr().err
    assert main(["serve", base, "--rest_api_port=70000"]) == 2
    assert "[0, 65535]" in capsys.readouterr().err
    assert main(["serve", base, "--rest_api_port=0"]) == 2
    assert "missing" in capsys.readouterr().err


def raw_post(url, body, content_length):
    """POST `body` with a given Content-Length header (urllib would set its
    own)."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, 60)
    try:
        connection.putrequest("POST", parts.path)
        connection.putheader("Content-Length", content_length)
        connection.endheaders()
        connection.send(body)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def step_inputs(model, **changes):
    """A valid `sample_step` request (columnar) with some inputs changed."""
    inputs = {
        "canvas": np.zeros((1,) + model.image_shape, "int32").tolist(),
        "position": 0,
        "noise": [[0.5] * model.noise_dims],
    }
    for k, state in enumerate(model.initial_state(1)):
        inputs[f"state_{k}"] = np.asarray(state).tolist()
    inputs.update(changes)
    return {"signature_name": "sample_step", "inputs": inputs}


def test_strict_json_types_and_ranges(url, model):
    """TF Serving's JSON rules: every bad value is a 400 that names the
    input, what was expected and what was received; nothing is silently
    truncated, and the connection always gets an answer."""
    images = np.random.default_rng(0).integers(0, 4, (2, 4, 5, 1))
    cases = [
        # Floats for an int32 input (were truncated to the integers).
        (
            {"instances": (images + 0.25).tolist()},
            "Input 'images': cannot convert to int32: expected JSON "
            f"integers; received the number {images.flat[0] + 0.25}",
        ),
        (
            step_inputs(model, position=0.5),
            "Input 'position': cannot convert to int64: expected JSON "
            "integers; received the number 0.5",
        ),
        # Out of int32 range (was an uncaught OverflowError).
        (
            {"instances": np.full((1, 4, 5, 1), 2**40).tolist()},
            "Input 'images': 1099511627776 is outside the range of int32",
        ),
        ({"instances": [[[[True]]]]}, "received a boolean"),
        # signature_name that is not a string (was a TypeError).
        (
            {"signature_name": ["sample"], "instances": images.tolist()},
            "'signature_name' must be a string; received [\"sample\"]",
        ),
        # Unknown inputs (were ignored).
        (
            {"inputs": {"images": images.tolist(), "extra": 1}},
            "Unknown input(s) ['extra']; this signature takes ['images']",
        ),
        (
            {"instances": [{"images": images[0].tolist(), "labels": 3}]},
            "Unknown input(s) ['labels']",
        ),
        # Pixels out of range: -1 and 300 rejected alike, with the range.
        (
            {"instances": np.full((1, 4, 5, 1), -1).tolist()},
            "Input 'images' must be in [0, 3]; received values from -1 to -1",
        ),
        (
            {"instances": np.full((1, 4, 5, 1), 300).tolist()},
            "Input 'images' must be in [0, 3]; received values from 300",
        ),
        (
            step_inputs(model, position=10**6),
            "Input 'position' must be in [0, 19]; received values from 1000000",
        ),
        (
            step_inputs(model, noise=[[1.5]]),
            "Input 'noise' must be in [0, 1); received values from 1.5",
        ),
    ]
    for body, message in cases:
        status, answer = call(url + ":predict", body)
        assert status == 400, (body, answer)
        assert message in answer["error"], answer["error"]
    # A Content-Length that is not a number (dropped the connection).
    status, answer = raw_post(url + ":predict", b"{}", "abc")
    assert status == 400
    assert "Invalid Content-Length header 'abc'" in answer["error"]
    # The server still answers normally afterwards.
    status, body = call(url + ":predict", {"instances": images.tolist()})
    assert status == 200
    np.testing.assert_allclose(
        [row["log_prob"] for row in body["predictions"]],
        model.log_prob(images),
        rtol=1e-4,
    )
