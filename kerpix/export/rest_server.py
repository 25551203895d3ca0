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

The HTTP layer is waitress (a production WSGI server: a real listen
backlog, keep-alive, a bounded worker pool, request-size limits). What
this module adds to it: TF Serving's routes and error JSON for every
answer (waitress's own protocol errors included: a malformed request
line, a header or body over the limit), and an explicit `503` with
`Retry-After` for a request that waited too long for a free worker.
"""

import json
import logging
import re
import sys
import threading
import time

import numpy as np
import tensorflow as tf

from kerpix.export.model_repository import ModelRepository
from kerpix.export.model_repository import ServingError
from kerpix.export.model_repository import quoted

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
            f'Serving signature name: "{quoted(signature_name)}" not found '
            f"in signature def. Known: {sorted(model.signatures)}"
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
        signature_name, tensors, row_format = parse_request(model, body)
    except ServingError:
        raise
    except Exception as error:  # whatever the body held: the client's
        raise ServingError(
            f"Malformed request body: {type(error).__name__}: "
            f"{quoted(error, 200)}"
        ) from None
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


def parse_request(model, body):
    """`(signature name, input tensors, row format?)` of a `:predict` body;
    every fault of the body is a `ServingError` (400)."""
    try:
        request = json.loads(body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ServingError(f"JSON Parse error: {error}") from None
    except RecursionError:
        raise ServingError(
            "JSON Parse error: nested too deeply (a tensor has at most a "
            "few dimensions)"
        ) from None
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
    return signature_name, tensors, row_format


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
            f"Unknown input(s) {quoted(unknown)}; this signature takes {names}"
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
    if array.size == 0:  # `[]`, `[[]]`: no values to check the kind of
        check_shape(name, array, spec)
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


def check_shape(name, shape, spec):
    """The input's shape (an array's, or a list of sizes) must fit the
    signature's (REST and gRPC), checked before anything is allocated."""
    shape = list(getattr(shape, "shape", shape))
    if not spec.shape.is_compatible_with(shape):
        raise ServingError(
            f"Input '{name}' has shape {quoted(shape)}; the signature "
            f"expects {spec.shape.as_list()} (None = any size)"
        )


def _first_offender(array, kind):
    """A description of the first value that is not of the right kind."""
    if array.size == 0:
        return "no values"
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


# -- The HTTP server: waitress, with TF Serving's answers ------------------

# waitress's protocol errors (raised before the application sees the
# request) as TF Serving answers them: JSON, a 4xx for the client's
# mistakes (501 is waitress's "Transfer-Encoding not implemented": the
# client's request, so 400 here).
_PROTOCOL_STATUS = {501: 400}
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# The longest request target answered (TF Serving's model names and
# routes are short; a 70 kB URL is a client's mistake: 414).
MAX_URI = 8192


def _json_response(status, payload, extra_headers=()):
    data = json.dumps(payload).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(data))),
    ]
    return (
        f"{status} {_REASONS.get(status, 'Error')}",
        headers + list(extra_headers),
        data,
    )


class RestApp:
    """The WSGI application: TF Serving's REST routes over a repository.

    Args:
        repository: `ModelRepository`.
        queue_timeout: float. Seconds a request may wait for a free worker
            before it is answered `503` with `Retry-After` (the server is
            saturated) instead of being run late.
        log_requests: bool. One line per request on stderr.
    """

    def __init__(self, repository, queue_timeout=10.0, log_requests=False):
        self.repository = repository
        self.queue_timeout = queue_timeout
        self.log_requests = log_requests
        self.in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        start = time.perf_counter()
        with self.lock:
            self.in_flight += 1
        try:
            status, headers, data = self.answer(environ)
        finally:
            with self.lock:
                self.in_flight -= 1
        start_response(status, headers)
        if self.log_requests:
            milliseconds = 1000 * (time.perf_counter() - start)
            print(
                f"{environ['REQUEST_METHOD']} "
                f"{quoted(environ.get('REQUEST_URI', ''), 200)} "
                f"{status.split()[0]} {milliseconds:.1f} ms",
                file=sys.stderr,
                flush=True,
            )
        return [data]

    def answer(self, environ):
        """`(status line, headers, body)` of one request; never raises."""
        arrived = environ.get("kerpix.arrived")  # set by waitress's parser
        waited = time.monotonic() - arrived if arrived else 0.0
        if waited > self.queue_timeout:
            return _json_response(
                503,
                {
                    "error": "Server overloaded: the request waited "
                    f"{waited:.1f} s for a free worker (limit "
                    f"{self.queue_timeout:g} s); retry later"
                },
                [("Retry-After", "1")],
            )
        method = environ["REQUEST_METHOD"]
        uri = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        try:
            if len(uri) > MAX_URI:
                raise ServingError(
                    f"Request URI of {len(uri)} characters; at most {MAX_URI}",
                    414,
                )
            match = _PATH.match(environ.get("PATH_INFO", ""))
            if match is None:
                raise ServingError(f"Malformed request: {quoted(uri)}", 404)
            if method not in ("GET", "POST"):
                raise ServingError(
                    f"Method {quoted(method, 20)} not allowed: GET for "
                    "status and metadata, POST for :predict",
                    405,
                )
            key = match["name"], match["version"], match["label"]
            if method == "POST":
                if match["rest"] != ":predict":
                    raise ServingError("Only :predict accepts POST", 405)
                body = environ["wsgi.input"].read()
                payload = predict(self.repository, *key, body)
            elif match["rest"] == ":predict":
                raise ServingError("Use POST for :predict", 405)
            elif match["rest"] == "/metadata":
                payload = metadata(self.repository, *key)
            else:
                payload = self.repository.status(*key)
            status = 200
        except ServingError as error:
            status, payload = error.status, {"error": str(error)}
        except Exception as error:  # a fault of the server, never a drop
            status = 500
            payload = {
                "error": f"Internal error: {type(error).__name__}: "
                f"{quoted(error, 500)}"
            }
        extra = [("Allow", "GET, POST")] if status == 405 else []
        return _json_response(status, payload, extra)


def _waitress_classes():
    """waitress's server, channel, parser and tasks, specialised: the
    parser stamps each request's arrival (for the 503 decision), the
    protocol errors answer JSON."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.server import TcpWSGIServer
    from waitress.task import ErrorTask
    from waitress.task import WSGITask

    class Parser(HTTPRequestParser):
        def __init__(self, adj):
            super().__init__(adj)
            self.arrived = time.monotonic()

    class Task(WSGITask):
        def get_environment(self):
            environ = super().get_environment()
            environ["kerpix.arrived"] = getattr(self.request, "arrived", 0.0)
            return environ

    class JSONErrorTask(ErrorTask):
        def execute(self):
            error = self.request.error
            status = _PROTOCOL_STATUS.get(error.code, error.code)
            line, headers, data = _json_response(
                status, {"error": f"{error.reason}: {quoted(error.body, 300)}"}
            )
            self.status = line
            self.response_headers.extend(headers[:1])
            self.set_close_on_finish()
            self.content_length = len(data)
            self.write(data)

    class Channel(HTTPChannel):
        parser_class = Parser
        task_class = Task
        error_task_class = JSONErrorTask

    class Server(TcpWSGIServer):
        channel_class = Channel

    return Server


class RestServer:
    """TF Serving's REST API on waitress; `serve_forever()` in a thread,
    `shutdown()` from another (finishes the requests in flight),
    `server_address` is `(host, port)`."""

    def __init__(self, app, host, port, **adjustments):
        from waitress.adjustments import Adjustments
        from waitress.task import ThreadedTaskDispatcher

        self.app = app
        self.repository = app.repository
        adj = Adjustments(host=host, port=port, **adjustments)
        self.dispatcher = ThreadedTaskDispatcher()
        self.dispatcher.set_thread_count(adj.threads)
        self._map = {}
        try:
            self.server = _waitress_classes()(
                app, map=self._map, dispatcher=self.dispatcher, adj=adj
            )
        except OSError as error:
            self.dispatcher.shutdown()
            raise ValueError(
                f"Invalid value for argument `port`: cannot listen on "
                f"{host}:{port} ({error.strerror or error})."
            ) from None
        self.server_address = (
            self.server.effective_host,
            int(self.server.effective_port),
        )
        self.stopped = threading.Event()

    def serve_forever(self):
        import waitress.wasyncore as wasyncore

        try:
            wasyncore.loop(
                timeout=self.server.adj.asyncore_loop_timeout,
                map=self._map,
                use_poll=True,
            )
        finally:
            self.stopped.set()

    def shutdown(self, timeout=10.0):
        """Stop accepting, let the requests in flight finish (up to
        `timeout` seconds), then close every connection."""
        self.server.accepting = False
        deadline = time.monotonic() + timeout
        while self.app.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)

        def close_all():
            for channel in list(self._map.values()):
                channel.close()

        self.server.trigger.pull_trigger(close_all)
        self.stopped.wait(timeout)
        self.dispatcher.shutdown(timeout=timeout)

    def server_close(self):
        pass  # `shutdown` closed the sockets.


def make_server(
    name=None,
    base_path=None,
    host="127.0.0.1",
    port=8501,
    repository=None,
    log_requests=False,
    num_threads=16,
    max_request_bytes=64 * 2**20,
    queue_timeout=10.0,
    connection_limit=1000,
):
    """A `RestServer` speaking TF Serving's REST API (on waitress).

    Serves model `name` from `base_path`, or every model of a
    `ModelRepository` (`repository`, e.g. from a model config file). Call
    `serve_forever()` on it (or run it in a thread); `port=0` picks a
    free port, read back from `server.server_address`. `log_requests`
    prints one line per request to stderr (method, path, status, time).

    Limits: `num_threads` requests run at once (the rest queue, up to
    `queue_timeout` seconds, then get `503` with `Retry-After: 1`); a
    body over `max_request_bytes` is refused with `413` before it is
    read; up to `connection_limit` connections are open at once (more
    wait in the listen backlog of 1024, none is dropped).
    """
    for argument, value in (
        ("num_threads", num_threads),
        ("max_request_bytes", max_request_bytes),
        ("connection_limit", connection_limit),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(
                f"Invalid value for argument `{argument}`: expected a "
                f"positive integer. Received: {argument}={value!r}"
            )
    if not isinstance(queue_timeout, (int, float)) or not queue_timeout > 0:
        raise ValueError(
            "Invalid value for argument `queue_timeout`: expected seconds "
            f"> 0. Received: queue_timeout={queue_timeout!r}"
        )
    if repository is None:
        repository = ModelRepository.single(name, base_path)
    # waitress warns on stderr for each queued request under a burst; the
    # 503s and `log_requests` say what matters.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = RestApp(repository, queue_timeout, log_requests)
    return RestServer(
        app,
        host,
        port,
        threads=num_threads,
        max_request_body_size=max_request_bytes,
        max_request_header_size=64 * 1024,
        connection_limit=connection_limit,
        backlog=1024,
        asyncore_use_poll=True,
        channel_timeout=60,
        ident="kerpix",
    )
