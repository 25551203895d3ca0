"""TF Serving's gRPC API (official client stubs), version policies, labels,
model config files, polling and `kerpix serve`'s lifecycle."""

import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from kerpix import models

pytestmark = [pytest.mark.tensorflow_only, pytest.mark.large]
grpc = pytest.importorskip("grpc")
pytest.importorskip("tensorflow_serving.apis")

CONFIG = """
model_config_list {{
  config {{
    name: "pix"
    base_path: "{pix}"
    model_platform: "tensorflow"
    model_version_policy {{ specific {{ versions: 1 versions: 2 }} }}
    version_labels {{ key: "stable" value: 1 }}
    version_labels {{ key: "canary" value: 2 }}
  }}
  config {{
    name: "other"
    base_path: "{other}"
    model_platform: "tensorflow"
    model_version_policy {{ all {{}} }}
  }}
}}
"""


def make_model(scale=1.0):
    model = models.PixelCNN((4, 5, 1), num_levels=4, filters=4, num_layers=1)
    model.set_weights([scale * w for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def versions():
    """Version 1 and a sharper version 2: answers tell them apart."""
    return {1: make_model(), 2: make_model(4.0)}


@pytest.fixture(scope="module")
def servers(versions, tmp_path_factory):
    from kerpix.export import export_saved_model
    from kerpix.export.grpc_server import make_grpc_server
    from kerpix.export.model_repository import ModelRepository
    from kerpix.export.rest_server import make_server

    base = tmp_path_factory.mktemp("serving")
    for version, model in versions.items():
        export_saved_model(model, str(base), name="pix", version=version)
    export_saved_model(versions[1], str(base), name="pix", version=3)
    export_saved_model(versions[1], str(base), name="other", version=5)
    export_saved_model(versions[2], str(base), name="other", version=7)
    config = base / "models.config"
    config.write_text(CONFIG.format(pix=base / "pix", other=base / "other"))
    repository = ModelRepository.from_config_file(str(config))
    rest = make_server(port=0, repository=repository)
    threading.Thread(target=rest.serve_forever, daemon=True).start()
    server, port = make_grpc_server(repository, port=0)
    server.start()
    host, rest_port = rest.server_address[:2]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield f"http://{host}:{rest_port}/v1/models", channel
    channel.close()
    server.stop(0)
    rest.shutdown()
    rest.server_close()


def predict_request(images, name="pix", version=None, label=None):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = "serving_default"
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    return request


def test_grpc_predict_with_the_official_stubs(servers, versions):
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    stub = prediction_service_pb2_grpc.PredictionServiceStub(servers[1])
    images = np.random.default_rng(0).integers(0, 4, (3, 4, 5, 1))
    images = images.astype("int32")
    for spec, version in (
        ({}, 2),  # the latest the policy serves (3 is not selected)
        ({"version": 1}, 1),
        ({"label": "stable"}, 1),
        ({"label": "canary"}, 2),
    ):
        response = stub.Predict(predict_request(images, **spec), timeout=60)
        assert response.model_spec.version.value == version
        np.testing.assert_allclose(
            tf.make_ndarray(response.outputs["log_prob"]),
            versions[version].log_prob(images),
            rtol=1e-4,
        )
    for request, code, message in (
        (
            predict_request(images, version=3),
            grpc.StatusCode.NOT_FOUND,
            "Specific(pix, 3)",
        ),
        (
            predict_request(images, name="nope"),
            grpc.StatusCode.NOT_FOUND,
            "Latest(nope)",
        ),
        (
            predict_request(images, label="beta"),
            grpc.StatusCode.NOT_FOUND,
            "version label: beta",
        ),
        (
            predict_request(images.astype("float32")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Input 'images': expects dtype int32; received float32",
        ),
        (
            predict_request(np.full((1, 4, 5, 1), 300, "int32")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Input 'images' must be in [0, 3]; received values from 300",
        ),
    ):
        with pytest.raises(grpc.RpcError) as error:
            stub.Predict(request, timeout=60)
        assert error.value.code() == code
        assert message in error.value.details()


def test_grpc_metadata_and_status(servers):
    from tensorflow_serving.apis import get_model_metadata_pb2
    from tensorflow_serving.apis import get_model_status_pb2
    from tensorflow_serving.apis import model_service_pb2_grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    stub = prediction_service_pb2_grpc.PredictionServiceStub(servers[1])
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "pix"
    request.metadata_field.append("signature_def")
    response = stub.GetModelMetadata(request, timeout=60)
    assert response.model_spec.version.value == 2
    defs = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(defs)
    assert set(defs.signature_def) == {
        "serving_default",
        "sample",
        "sample_step",
    }
    images = defs.signature_def["serving_default"].inputs["images"]
    assert images.dtype == 3  # DT_INT32
    assert [d.size for d in images.tensor_shape.dim] == [-1, 4, 5, 1]

    status_stub = model_service_pb2_grpc.ModelServiceStub(servers[1])
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "other"  # policy `all`: both versions
    response = status_stub.GetModelStatus(request, timeout=60)
    assert [v.version for v in response.model_version_status] == [7, 5]
    assert all(
        v.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
        for v in response.model_version_status
    )


def rest(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data), timeout=60
        ) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_rest_versions_labels_and_several_models(servers, versions):
    url = servers[0]
    status, body = rest(f"{url}/pix")
    assert status == 200
    assert [v["version"] for v in body["model_version_status"]] == ["2", "1"]
    images = np.random.default_rng(1).integers(0, 4, (2, 4, 5, 1))
    for path, version in (
        ("/pix/labels/stable", 1),
        ("/pix/labels/canary", 2),
        ("/pix/versions/1", 1),
        ("/other", 2),  # "other" version 7 holds the sharper model
    ):
        status, body = rest(
            f"{url}{path}:predict", {"instances": images.tolist()}
        )
        assert status == 200, body
        np.testing.assert_allclose(
            [row["log_prob"] for row in body["predictions"]],
            versions[version].log_prob(images),
            rtol=1e-4,
        )
    status, body = rest(f"{url}/pix/labels/beta/metadata")
    assert status == 404
    assert "Unrecognized servable version label: beta" in body["error"]
    status, body = rest(f"{url}/pix/versions/3")
    assert status == 404


def test_polling_picks_up_new_versions(tmp_path):
    from kerpix.export import export_saved_model
    from kerpix.export.model_repository import ModelRepository

    model = make_model()
    export_saved_model(model, str(tmp_path), name="pix", version=1)
    repository = ModelRepository.single("pix", str(tmp_path / "pix"))
    assert repository.get("pix")[0] == 1
    export_saved_model(model, str(tmp_path), name="pix", version=4)
    assert repository.poll() == {"pix": [4]}
    assert repository.get("pix")[0] == 4
    assert list(repository.models["pix"].loaded) == [4]  # latest policy
    assert repository.poll() == {"pix": []}


def test_bad_model_config_files(tmp_path):
    from kerpix.export.model_repository import ModelRepository

    path = tmp_path / "bad.config"
    path.write_text("model_config_list { config { nme: 'x' } }")
    with pytest.raises(ValueError, match=r"Invalid model config file"):
        ModelRepository.from_config_file(str(path))
    path.write_text("model_config_list { }")
    with pytest.raises(ValueError, match=r"lists no model"):
        ModelRepository.from_config_file(str(path))
    with pytest.raises(ValueError, match=r"no such file"):
        ModelRepository.from_config_file(str(tmp_path / "missing"))


def test_kerpix_serve_logs_requests_and_stops_on_sigterm(tmp_path):
    from kerpix.export import export_saved_model

    export_saved_model(make_model(), str(tmp_path), name="pix", version=1)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kerpix.cli.main",
            "serve",
            "--model_name=pix",
            f"--model_base_path={tmp_path}/pix",
            "--rest_api_port=0",
            "--port=0",
            "--log_requests",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        rest_line = process.stdout.readline()
        grpc_line = process.stdout.readline()
        assert rest_line.startswith("Serving pix at http://127.0.0.1:"), (
            rest_line
        )
        assert grpc_line.startswith("Serving gRPC at 127.0.0.1:"), grpc_line
        url = rest_line.split(" at ")[1].strip()
        assert rest(url)[0] == 200
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "kerpix serve: stopped." in out
    assert "GET /v1/models/pix 200" in err


def test_new_version_is_served_while_requests_flow(tmp_path):
    """Polling swaps in a new version while clients keep sending requests:
    every request is answered (by the old or the new version)."""
    from kerpix.export import export_saved_model
    from kerpix.export.model_repository import ModelRepository
    from kerpix.export.rest_server import make_server

    old, new = make_model(), make_model(4.0)
    export_saved_model(old, str(tmp_path), name="pix", version=1)
    repository = ModelRepository.single("pix", str(tmp_path / "pix"))
    stop_polling = repository.start_polling(0.2)
    server = make_server(port=0, repository=repository)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    url = f"http://{host}:{port}/v1/models/pix"
    images = np.random.default_rng(2).integers(0, 4, (2, 4, 5, 1))
    expected = {1: old.log_prob(images), 2: new.log_prob(images)}

    def version_of(log_prob):
        for version, want in expected.items():
            if np.allclose(log_prob, want, rtol=1e-4):
                return version
        return None

    seen, failures, done = [], [], threading.Event()

    def client():
        while not done.is_set():
            status, body = rest(
                f"{url}:predict", {"instances": images.tolist()}
            )
            if status != 200:
                failures.append(body)
                continue
            seen.append(
                version_of([r["log_prob"] for r in body["predictions"]])
            )

    threads = [threading.Thread(target=client) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        export_saved_model(new, str(tmp_path), name="pix", version=2)
        for _ in range(300):  # until the new version answers (<= 60 s)
            if 2 in seen[-5:]:
                break
            threading.Event().wait(0.2)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
        stop_polling.set()
        server.shutdown()
        server.server_close()
    assert not failures, failures[:3]
    assert seen[0] == 1 and seen[-1] == 2 and None not in seen
