"""A small server speaking TF Serving's REST API over exported SavedModels.

It serves the same model directory layout (`BASE/VERSION/saved_model.pb`)
and the same requests and responses as `tensorflow_model_server
--rest_api_port`, so a client written against one works with the other:

- `GET  /v1/models/NAME[/versions/V]`: version status.
- `GET  /v1/models/NAME[/versions/V]/metadata`: signature definitions.
- `POST /v1/models/NAME[/versions/V]:predict` with `{"signature_name": ...,
  "instances": [...]}` (row format) or `{"inputs": ...}` (columnar
  format); answers `{"predictions": ...}` or `{"outputs": ...}`.

Errors are `{"error": "..."}` with a 4xx status, never a crash.
"""

import http.server
import json
import os
import re
import threading

import numpy as np
import tensorflow as tf

_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?"
    r"(?P<rest>/metadata|:predict)?$"
)


class RequestError(Exception):
    """A bad request: answered with `{"error": message}` and `status`."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class ModelRepository:
    """The versions of one model under `base_path`, loaded once.

    Args:
        name: str. The model name clients use in URLs.
        base_path: str. Folder holding one numbered folder per version.
    """

    def __init__(self, name, base_path):
        if not os.path.isdir(base_path):
            raise ValueError(
                "Invalid value for argument `base_path`: no such folder "
                f"{base_path!r}. Pass the folder holding the numbered "
                "version folders (e.g. saved_models/demo/saved_model/kerpix)."
            )
        versions = sorted(
            int(v)
            for v in os.listdir(base_path)
            if v.isdigit()
            and os.path.isfile(os.path.join(base_path, v, "saved_model.pb"))
        )
        if not versions:
            raise ValueError(
                f"Invalid value for argument `base_path`: {base_path!r} has "
                "no VERSION/saved_model.pb. Export one with "
                "kerpix.export.export_saved_model."
            )
        self.name = name
        self.models = {
            v: tf.saved_model.load(os.path.join(base_path, str(v)))
            for v in versions
        }
        self.lock = threading.Lock()

    def get(self, name, version):
        if name != self.name:
            raise RequestError(
                f"Servable not found for request: Latest({name})", 404
            )
        if version is None:
            version = max(self.models)
        version = int(version)
        if version not in self.models:
            raise RequestError(
                f"Servable not found for request: Specific({name}, {version})",
                404,
            )
        return version, self.models[version]

    def status(self, name, version):
        versions = (
            [self.get(name, version)[0]] if version else list(self.models)
        )
        self.get(name, None)
        return {
            "model_version_status": [
                {
                    "version": str(v),
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
                for v in sorted(versions, reverse=True)
            ]
        }

    def metadata(self, name, version):
        version, model = self.get(name, version)
        signature_def = {}
        for key, fn in model.signatures.items():
            inputs = fn.structured_input_signature[1]
            signature_def[key] = {
                "inputs": {k: _tensor_info(s) for k, s in inputs.items()},
                "outputs": {
                    k: _tensor_info(s) for k, s in fn.structured_outputs.items()
                },
                "method_name": "tensorflow/serving/predict",
            }
        return {
            "model_spec": {
                "name": name,
                "signature_name": "",
                "version": str(version),
            },
            "metadata": {"signature_def": {"signature_def": signature_def}},
        }

    def predict(self, name, version, body):
        _, model = self.get(name, version)
        try:
            request = json.loads(body or b"")
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RequestError(f"JSON Parse error: {error}") from None
        if not isinstance(request, dict):
            raise RequestError("JSON Value: request body is not an object")
        signature_name = request.get("signature_name", "serving_default")
        if signature_name not in model.signatures:
            raise RequestError(
                f'Serving signature name: "{signature_name}" not found in '
                f"signature def. Known: {sorted(model.signatures)}"
            )
        fn = model.signatures[signature_name]
        specs = fn.structured_input_signature[1]
        if ("instances" in request) == ("inputs" in request):
            raise RequestError(
                "Missing 'inputs' or 'instances' key (exactly one of them)"
            )
        row_format = "instances" in request
        if row_format:
            columns = _columns_from_instances(request["instances"], specs)
        else:
            columns = _columns_from_inputs(request["inputs"], specs)
        tensors = {k: _to_tensor(k, columns[k], specs[k]) for k in specs}
        try:
            with self.lock:
                outputs = fn(**tensors)
        except (tf.errors.InvalidArgumentError, ValueError) as error:
            message = getattr(error, "message", str(error))
            raise RequestError(message.split("\n")[0]) from None
        outputs = {k: v.numpy().tolist() for k, v in outputs.items()}
        if row_format:
            names = sorted(outputs)
            rows = len(outputs[names[0]])
            if len(names) == 1:
                return {"predictions": outputs[names[0]]}
            return {
                "predictions": [
                    {k: outputs[k][r] for k in names} for r in range(rows)
                ]
            }
        if len(outputs) == 1:
            return {"outputs": next(iter(outputs.values()))}
        return {"outputs": outputs}


def _tensor_info(spec):
    dims = [
        {"size": str(-1 if d is None else d), "name": ""} for d in spec.shape
    ]
    return {
        "dtype": "DT_" + spec.dtype.name.upper(),
        "tensor_shape": {"dim": dims, "unknown_rank": False},
        "name": spec.name or "",
    }


def _columns_from_instances(instances, specs):
    if not isinstance(instances, list) or not instances:
        raise RequestError("'instances' must be a non-empty list")
    names = list(specs)
    if len(names) == 1 and not isinstance(instances[0], dict):
        return {names[0]: instances}
    columns = {k: [] for k in names}
    for row in instances:
        if not isinstance(row, dict):
            raise RequestError(
                "Expected each instance to be an object with keys "
                f"{names} for a signature with several inputs"
            )
        for k in names:
            if k not in row:
                raise RequestError(f"Missing input '{k}' in an instance")
            columns[k].append(row[k])
    return columns


def _columns_from_inputs(inputs, specs):
    names = list(specs)
    if not isinstance(inputs, dict):
        if len(names) == 1:
            return {names[0]: inputs}
        raise RequestError(
            f"'inputs' must be an object with keys {names} for a signature "
            "with several inputs"
        )
    missing = [k for k in names if k not in inputs]
    if missing:
        raise RequestError(f"Missing input(s) {missing}; expected {names}")
    return inputs


def _to_tensor(name, value, spec):
    try:
        array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
    except (TypeError, ValueError) as error:
        raise RequestError(
            f"Input '{name}': cannot convert to {spec.dtype.name} ({error})"
        ) from None
    if not spec.shape.is_compatible_with(array.shape):
        raise RequestError(
            f"Input '{name}' has shape {list(array.shape)}; the signature "
            f"expects {spec.shape.as_list()} (None = any size)"
        )
    return tf.constant(array)


class _Handler(http.server.BaseHTTPRequestHandler):
    repository = None
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._answer(lambda m: self._get(m))

    def do_POST(self):
        self._answer(lambda m: self._post(m))

    def _get(self, match):
        if match["rest"] == ":predict":
            raise RequestError("Use POST for :predict", 405)
        if match["rest"] == "/metadata":
            return self.repository.metadata(match["name"], match["version"])
        return self.repository.status(match["name"], match["version"])

    def _post(self, match):
        if match["rest"] != ":predict":
            raise RequestError("Only :predict accepts POST", 405)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        return self.repository.predict(match["name"], match["version"], body)

    def _answer(self, handle):
        match = _PATH.match(self.path)
        try:
            if match is None:
                raise RequestError(f"Malformed request: {self.path}", 404)
            status, payload = 200, handle(match)
        except RequestError as error:
            status, payload = error.status, {"error": str(error)}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass  # Quiet by default, like the real server's REST port.


def make_server(name, base_path, host="127.0.0.1", port=8501):
    """A `ThreadingHTTPServer` serving model `name` from `base_path`.

    Call `serve_forever()` on it (or run it in a thread); `port=0` picks a
    free port, read back from `server.server_address`.
    """
    repository = ModelRepository(name, base_path)
    handler = type("Handler", (_Handler,), {"repository": repository})
    return http.server.ThreadingHTTPServer((host, port), handler)
