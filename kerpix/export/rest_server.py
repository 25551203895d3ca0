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
        if not isinstance(signature_name, str):
            raise RequestError(
                "'signature_name' must be a string; received "
                f"{json.dumps(signature_name)[:100]}"
            )
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
            raise RequestError(_tf_error_message(error)) from None
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


def _tf_error_message(error):
    """The informative lines of a TensorFlow error (not the "Graph
    execution error", traceback and node lines)."""
    message = getattr(error, "message", str(error))
    skip = ("Graph execution error", "Detected at node", "defined at")
    lines = [
        line.strip()
        for line in message.splitlines()
        if line.strip()
        and not line.startswith(("  ", "\t"))
        and not line.strip().startswith(("File ", "[[", "Stack trace"))
        and not any(s in line for s in skip)
    ]
    text = (" ".join(lines) or message.strip()).replace("\\'", "'")
    # An input check (`tf_functions.check_range`): "[message] [v] [to] [v]".
    check = re.search(r"\[(Input '.*)\]", text)
    if check:
        text = " ".join(check.group(1).split("] ["))
    return text[:1000]


def _check_names(given, names):
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise RequestError(
            f"Unknown input(s) {unknown}; this signature takes {names}"
        )


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
        _check_names(row, names)
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
    _check_names(inputs, names)
    missing = [k for k in names if k not in inputs]
    if missing:
        raise RequestError(f"Missing input(s) {missing}; expected {names}")
    return inputs


def _to_tensor(name, value, spec):
    """A tensor of `spec`'s dtype from a JSON value, by TF Serving's rules:
    integer inputs take JSON integers within the dtype's range, float
    inputs take any JSON number; booleans, strings, nested objects and
    ragged lists are errors (never silently converted)."""
    dtype = spec.dtype
    try:
        array = np.array(value)
    except ValueError as error:  # ragged nesting
        raise RequestError(
            f"Input '{name}': cannot convert to {dtype.name}: not a "
            f"rectangular array ({error})"
        ) from None
    kind = array.dtype.kind
    if dtype.is_integer:
        if kind not in "iu":
            raise RequestError(
                f"Input '{name}': cannot convert to {dtype.name}: expected "
                f"JSON integers; received {_first_offender(array, kind)}"
            )
        info = np.iinfo(dtype.as_numpy_dtype)
        outside = array[(array < info.min) | (array > info.max)]
        if outside.size:
            raise RequestError(
                f"Input '{name}': {outside.flat[0]} is outside the range of "
                f"{dtype.name} [{info.min}, {info.max}]"
            )
    elif dtype.is_floating and kind not in "iuf":
        raise RequestError(
            f"Input '{name}': cannot convert to {dtype.name}: expected JSON "
            f"numbers; received {_first_offender(array, kind)}"
        )
    if not spec.shape.is_compatible_with(array.shape):
        raise RequestError(
            f"Input '{name}' has shape {list(array.shape)}; the signature "
            f"expects {spec.shape.as_list()} (None = any size)"
        )
    return tf.constant(array.astype(dtype.as_numpy_dtype))


def _first_offender(array, kind):
    """A description of the first value that is not of the right kind."""
    if kind == "f":
        flat = array.ravel()
        fractional = flat[flat != np.floor(flat)]
        value = fractional[0] if fractional.size else flat[0]
        return f"the number {value.item()!r} (a JSON float)"
    if kind == "b":
        return "a boolean"
    if kind == "O":
        return "non-numbers, or integers beyond 64 bits"
    return f"{array.dtype.name} values such as {array.ravel()[:1].tolist()}"


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
        header = self.headers.get("Content-Length") or "0"
        if not header.isdigit():
            self.close_connection = True  # the body cannot be skipped
            raise RequestError(
                f"Invalid Content-Length header {header[:50]!r}: expected "
                "the body's size in bytes"
            )
        body = self.rfile.read(int(header))
        return self.repository.predict(match["name"], match["version"], body)

    def _answer(self, handle):
        match = _PATH.match(self.path)
        try:
            if match is None:
                raise RequestError(f"Malformed request: {self.path}", 404)
            status, payload = 200, handle(match)
        except RequestError as error:
            status, payload = error.status, {"error": str(error)}
        except Exception as error:  # never a dropped connection
            status = 500
            payload = {
                "error": f"Internal error: {type(error).__name__}: {error}"
            }
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
