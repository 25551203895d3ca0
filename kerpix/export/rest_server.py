"""A small server speaking TF Serving's REST API over exported SavedModels.

It serves the same model directory layout (`BASE/VERSION/saved_model.pb`)
and the same requests and responses as `tensorflow_model_server
--rest_api_port`, so a client written against one works with the other:

- `GET  /v1/models/NAME[/versions/V | /labels/L]`: version status.
- `GET  /v1/models/NAME[/versions/V | /labels/L]/metadata`: signatures.
- `POST /v1/models/NAME[/versions/V | /labels/L]:predict` with
  `{"signature_name": ..., "instances": [...]}` (row format) or
  `{"inputs": ...}` (columnar format); answers `{"predictions": ...}` or
  `{"outputs": ...}`.

Errors are `{"error": "..."}` with a 4xx status (5xx for a server fault),
never a dropped connection. Which models and versions are served:
`model_repository.py`.
"""

import http.server
import json
import re
import sys
import time

import numpy as np
import tensorflow as tf

from kerpix.export.model_repository import ModelRepository
from kerpix.export.model_repository import ServingError

_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<rest>/metadata|:predict)?$"
)


def signature_defs(model):
    """`{signature name: (input specs, output specs)}` of a loaded
    SavedModel (what metadata answers describe)."""
    return {
        key: (fn.structured_input_signature[1], fn.structured_outputs)
        for key, fn in model.signatures.items()
    }


def metadata(repository, name, version=None, label=None):
    """TF Serving's `GetModelMetadata` answer (signature defs) as a dict."""
    version, model = repository.get(name, version, label)
    signature_def = {
        key: {
            "inputs": {k: _tensor_info(s) for k, s in inputs.items()},
            "outputs": {k: _tensor_info(s) for k, s in outputs.items()},
            "method_name": "tensorflow/serving/predict",
        }
        for key, (inputs, outputs) in signature_defs(model).items()
    }
    return {
        "model_spec": {
            "name": name,
            "signature_name": "",
            "version": str(version),
        },
        "metadata": {"signature_def": {"signature_def": signature_def}},
    }


def run_signature(model, signature_name, tensors):
    """Run a signature of a loaded SavedModel on checked input tensors;
    TensorFlow's errors become `ServingError`s with their message."""
    if not isinstance(signature_name, str):
        raise ServingError(
            "'signature_name' must be a string; received "
            f"{json.dumps(signature_name)[:100]}"
        )
    if signature_name not in model.signatures:
        raise ServingError(
            f'Serving signature name: "{signature_name}" not found in '
            f"signature def. Known: {sorted(model.signatures)}"
        )
    try:
        return model.signatures[signature_name](**tensors)
    except (tf.errors.InvalidArgumentError, ValueError) as error:
        raise ServingError(_tf_error_message(error)) from None


def input_specs(model, signature_name):
    if isinstance(signature_name, str) and signature_name in model.signatures:
        return model.signatures[signature_name].structured_input_signature[1]
    run_signature(model, signature_name, {})  # raises the right error
    return {}


def predict(repository, name, version, label, body):
    """Answer a REST `:predict` body (bytes) as TF Serving does."""
    _, model = repository.get(name, version, label)
    try:
        request = json.loads(body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ServingError(f"JSON Parse error: {error}") from None
    if not isinstance(request, dict):
        raise ServingError("JSON Value: request body is not an object")
    signature_name = request.get("signature_name", "serving_default")
    specs = input_specs(model, signature_name)
    if ("instances" in request) == ("inputs" in request):
        raise ServingError(
            "Missing 'inputs' or 'instances' key (exactly one of them)"
        )
    row_format = "instances" in request
    if row_format:
        columns = _columns_from_instances(request["instances"], specs)
    else:
        columns = _columns_from_inputs(request["inputs"], specs)
    tensors = {k: _to_tensor(k, columns[k], specs[k]) for k in specs}
    outputs = run_signature(model, signature_name, tensors)
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
        "dtype": _dtype_name(spec.dtype),
        "tensor_shape": {"dim": dims, "unknown_rank": False},
        "name": spec.name or "",
    }


def _dtype_name(dtype):
    """TF Serving's protobuf name of a dtype: `DT_FLOAT`, `DT_INT32`, ...
    (`tf.float32.name` is "float32", the enum's name "DT_FLOAT")."""
    from tensorflow.core.framework import types_pb2

    return types_pb2.DataType.Name(dtype.as_datatype_enum)


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
        raise ServingError(
            f"Unknown input(s) {unknown}; this signature takes {names}"
        )


def _columns_from_instances(instances, specs):
    if not isinstance(instances, list) or not instances:
        raise ServingError("'instances' must be a non-empty list")
    names = list(specs)
    if len(names) == 1 and not isinstance(instances[0], dict):
        return {names[0]: instances}
    columns = {k: [] for k in names}
    for row in instances:
        if not isinstance(row, dict):
            raise ServingError(
                "Expected each instance to be an object with keys "
                f"{names} for a signature with several inputs"
            )
        _check_names(row, names)
        for k in names:
            if k not in row:
                raise ServingError(f"Missing input '{k}' in an instance")
            columns[k].append(row[k])
    return columns


def _columns_from_inputs(inputs, specs):
    names = list(specs)
    if not isinstance(inputs, dict):
        if len(names) == 1:
            return {names[0]: inputs}
        raise ServingError(
            f"'inputs' must be an object with keys {names} for a signature "
            "with several inputs"
        )
    _check_names(inputs, names)
    missing = [k for k in names if k not in inputs]
    if missing:
        raise ServingError(f"Missing input(s) {missing}; expected {names}")
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
        raise ServingError(
            f"Input '{name}': cannot convert to {dtype.name}: not a "
            f"rectangular array ({error})"
        ) from None
    kind = array.dtype.kind
    if dtype.is_integer:
        if kind not in "iu":
            raise ServingError(
                f"Input '{name}': cannot convert to {dtype.name}: expected "
                f"JSON integers; received {_first_offender(array, kind)}"
            )
        info = np.iinfo(dtype.as_numpy_dtype)
        outside = array[(array < info.min) | (array > info.max)]
        if outside.size:
            raise ServingError(
                f"Input '{name}': {outside.flat[0]} is outside the range of "
                f"{dtype.name} [{info.min}, {info.max}]"
            )
    elif dtype.is_floating and kind not in "iuf":
        raise ServingError(
            f"Input '{name}': cannot convert to {dtype.name}: expected JSON "
            f"numbers; received {_first_offender(array, kind)}"
        )
    check_shape(name, array, spec)
    return tf.constant(array.astype(dtype.as_numpy_dtype))


def check_shape(name, array, spec):
    """The input's shape must fit the signature's (REST and gRPC)."""
    if not spec.shape.is_compatible_with(array.shape):
        raise ServingError(
            f"Input '{name}' has shape {list(array.shape)}; the signature "
            f"expects {spec.shape.as_list()} (None = any size)"
        )


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
    log_requests = False
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._answer(lambda m: self._get(m))

    def do_POST(self):
        self._answer(lambda m: self._post(m))

    def _get(self, match):
        key = match["name"], match["version"], match["label"]
        if match["rest"] == ":predict":
            raise ServingError("Use POST for :predict", 405)
        if match["rest"] == "/metadata":
            return metadata(self.repository, *key)
        return self.repository.status(*key)

    def _post(self, match):
        if match["rest"] != ":predict":
            raise ServingError("Only :predict accepts POST", 405)
        header = self.headers.get("Content-Length") or "0"
        if not header.isdigit():
            self.close_connection = True  # the body cannot be skipped
            raise ServingError(
                f"Invalid Content-Length header {header[:50]!r}: expected "
                "the body's size in bytes"
            )
        body = self.rfile.read(int(header))
        key = match["name"], match["version"], match["label"]
        return predict(self.repository, *key, body)

    def _answer(self, handle):
        start = time.perf_counter()
        match = _PATH.match(self.path)
        try:
            if match is None:
                raise ServingError(f"Malformed request: {self.path}", 404)
            status, payload = 200, handle(match)
        except ServingError as error:
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
        if self.log_requests:
            milliseconds = 1000 * (time.perf_counter() - start)
            print(
                f"{self.command} {self.path} {status} {milliseconds:.1f} ms",
                file=sys.stderr,
                flush=True,
            )

    def log_message(self, format, *args):
        pass  # `log_requests` prints one line per answered request.


def make_server(
    name=None,
    base_path=None,
    host="127.0.0.1",
    port=8501,
    repository=None,
    log_requests=False,
):
    """A `ThreadingHTTPServer` speaking TF Serving's REST API.

    Serves model `name` from `base_path`, or every model of a
    `ModelRepository` (`repository`, e.g. from a model config file). Call
    `serve_forever()` on it (or run it in a thread); `port=0` picks a
    free port, read back from `server.server_address`. `log_requests`
    prints one line per request to stderr (method, path, status, time).
    """
    if repository is None:
        repository = ModelRepository.single(name, base_path)
    handler = type(
        "Handler",
        (_Handler,),
        {"repository": repository, "log_requests": log_requests},
    )
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.repository = repository
    return server
