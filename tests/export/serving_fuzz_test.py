"""The servers under fuzzed requests and bursts, as an independent client
sees them (raw sockets for REST, the official stubs for gRPC):

- 10,000 mutated REST requests (bodies, URLs, methods, headers, raw
  bytes), valid ones interleaved: every answer is a complete HTTP
  response, 200 or a 4xx with a JSON `{"error": ...}`, never a dropped
  connection or a 5xx; the valid ones are answered correctly.
- 2,000 mutated gRPC `Predict`/`GetModelMetadata`/`GetModelStatus` calls:
  OK or INVALID_ARGUMENT / NOT_FOUND / RESOURCE_EXHAUSTED, never UNKNOWN
  or INTERNAL.
- Bursts of 50, 100 and 200 simultaneous connections: every one answered
  (200, or 503 with `Retry-After` when the server is saturated).
"""

import concurrent.futures
import json
import random
import socket
import threading
import time

import numpy as np
import pytest

from kerpix import models

pytestmark = [pytest.mark.tensorflow_only, pytest.mark.large]

SHAPE = (8, 8, 1)
NUM_REST = 10_000
NUM_GRPC = 2_000


@pytest.fixture(scope="module")
def model():
    return models.PixelCNN(SHAPE, num_levels=4, filters=4, num_layers=1)


@pytest.fixture(scope="module")
def base(model, tmp_path_factory):
    from kerpix.export import export_saved_model

    folder = tmp_path_factory.mktemp("fuzz")
    export_saved_model(model, str(folder), name="pix", version=1)
    return str(folder / "pix")


def start_rest(base, **limits):
    from kerpix.export.rest_server import make_server

    server = make_server("pix", base, port=0, **limits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def rest(base):
    server = start_rest(base)
    yield server.server_address
    server.shutdown()


def exchange(address, data, timeout=60):
    """Send raw bytes on a new connection; `(status, headers, body)` of
    the answer, or `(None, reason, raw bytes)` when none came."""
    received = b""
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer before reading everything
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                done = _complete(received)
                if done:
                    return done
        except (ConnectionResetError, socket.timeout) as error:
            return None, type(error).__name__, received
    return _complete(received) or (None, "closed", received)


def _complete(received):
    while received.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
        received = received[len(b"HTTP/1.1 100 Continue\r\n\r\n") :]
    head, sep, body = received.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(
        (k.strip().lower(), v.strip())
        for k, _, v in (line.partition(":") for line in lines[1:])
    )
    length = int(headers.get("content-length", -1))
    if length < 0 or len(body) < length:
        return None
    return int(lines[0].split()[1]), headers, body[:length]


def http(method, path, body=b"", headers=()):
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
    lines += list(headers)
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


# -- REST mutations ---------------------------------------------------------

PATHS = [
    "/v1/models/pix",
    "/v1/models/pix/metadata",
    "/v1/models/pix:predict",
    "/v1/models/pix/versions/1:predict",
    "/v1/models/pix/labels/stable:predict",
]


def valid_bodies(images):
    return [
        {"instances": images.tolist()},
        {"inputs": {"images": images.tolist()}},
        {"signature_name": "log_prob", "inputs": images.tolist()},
        {
            "signature_name": "sample",
            "inputs": {"num_samples": 1, "seed": 3},
        },
    ]


def mutate_value(rng, value, depth=0):
    """A JSON value changed somewhere: types, numbers, shapes, keys."""
    choice = rng.randrange(12)
    if isinstance(value, dict) and value and choice < 6:
        key = rng.choice(sorted(value))
        value = dict(value)
        if choice == 0:
            del value[key]
        elif choice == 1:
            value[key + rng.choice(["x", "", " "])] = value.pop(key)
        else:
            value[key] = mutate_value(rng, value[key], depth + 1)
        return value
    if isinstance(value, list) and value and choice < 8 and depth < 8:
        value = list(value)
        i = rng.randrange(len(value))
        if choice == 0:
            del value[i]
        elif choice == 1:
            value.append(value[i])
        elif choice == 2:
            value = value[:i]
        else:
            value[i] = mutate_value(rng, value[i], depth + 1)
        return value
    return rng.choice(
        [
            None,
            True,
            "a",
            "",
            -1,
            4,
            2**31,
            2**70,
            -(2**63) - 1,
            0.5,
            1e308,
            -0.0,
            [],
            [[]],
            {},
            {"images": []},
            [value],
            "\u00e9\u0000",
        ]
    )


def mutated_request(rng, bodies):
    kind = rng.randrange(10)
    body = json.dumps(rng.choice(bodies)).encode()
    path = rng.choice(PATHS)
    if kind <= 3:  # a JSON body changed
        value = json.loads(body)
        for _ in range(rng.randint(1, 3)):
            value = mutate_value(rng, value)
        return http("POST", path, json.dumps(value).encode())
    if kind == 4:  # bytes of the body changed
        data = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            op = rng.randrange(3)
            i = rng.randrange(len(data))
            if op == 0:
                data[i] = rng.randrange(256)
            elif op == 1:
                del data[i:]
            else:
                data[i:i] = bytes(rng.randrange(256) for _ in range(4))
            if not data:
                break
        return http("POST", path, bytes(data))
    if kind == 5:  # the URL
        segment = rng.choice(
            [
                "x" * rng.choice([1, 300, 5000]),
                "%00",
                "..",
                "pix/versions/abc",
                "pix/versions/99999999999999999999",
                "pix/labels/",
                "pix:predict:predict",
                "pix?x=1",
                "\u00e9".encode().decode("latin-1"),
                "pix/metadata/extra",
            ]
        )
        return http(rng.choice(["GET", "POST"]), f"/v1/models/{segment}", body)
    if kind == 6:  # the method
        method = rng.choice(
            ["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "FOO", "G@T"]
        )
        return http(method, path, body)
    if kind == 7:  # headers
        headers = rng.choice(
            [
                ["X-Big: " + "a" * rng.choice([1000, 70_000])],
                [f"X-{i}: {i}" for i in range(rng.choice([50, 200]))],
                ["Content-Type: text/plain"],
                ["Transfer-Encoding: gzip"],
                ["Expect: 100-continue"],
                ["Bad Header Line"],
            ]
        )
        return http("POST", path, body, headers)
    if kind == 8:  # Content-Length itself
        value = rng.choice(["abc", "-1", "99999999999999999999999", "1e3"])
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {value}"
        return f"{head}\r\nConnection: close\r\n\r\n".encode() + body
    # The request line, or bytes that are no HTTP at all.
    return rng.choice(
        [
            f"GET {path}\r\n\r\n".encode(),
            f"GET {path} HTTP/9.9\r\nConnection: close\r\n\r\n".encode(),
            b"GET\r\n\r\n",
            bytes(rng.randrange(256) for _ in range(200)) + b"\r\n\r\n",
            # Blank lines before a request are skipped (RFC 9112 2.2).
            b"\r\n\r\nGET /v1/models/pix HTTP/1.1\r\nConnection: close\r\n\r\n",
            f"GET /{'a' * 70_000} HTTP/1.1\r\n\r\n".encode(),
        ]
    )


def test_rest_fuzz_10000_requests_each_answered_4xx_json(rest, model):
    rng = random.Random(0)
    images = np.random.default_rng(0).integers(0, 4, (2,) + SHAPE)
    expected = model.log_prob(images)
    bodies = valid_bodies(images)
    valid = http("POST", PATHS[2], json.dumps(bodies[1]).encode())
    requests = [
        (valid, True) if i % 25 == 0 else (mutated_request(rng, bodies), False)
        for i in range(NUM_REST)
    ]

    def send(item):
        data, is_valid = item
        return exchange(rest, data), is_valid, data[:120]

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, requests))
    seconds = time.perf_counter() - start
    dropped, server_errors, not_json, wrong = [], [], [], []
    statuses = {}
    for (status, headers, body), is_valid, sent in answers:
        statuses[status] = statuses.get(status, 0) + 1
        if status is None:
            dropped.append((sent, headers))
            continue
        if status >= 500:
            server_errors.append((sent, body[:200]))
        try:
            payload = json.loads(body)
        except ValueError:
            not_json.append((sent, status, body[:200]))
            continue
        if status != 200 and "error" not in payload:
            not_json.append((sent, status, body[:200]))
        if is_valid:
            got = payload.get("outputs", {}).get("log_prob")
            if status != 200 or not np.allclose(got, expected, rtol=1e-4):
                wrong.append((status, body[:200]))
    print(f"{NUM_REST} REST requests in {seconds:.1f} s; statuses {statuses}")
    assert not dropped, dropped[:5]
    assert not server_errors, server_errors[:5]
    assert not not_json, not_json[:5]
    assert not wrong, wrong[:5]
    assert statuses.get(200, 0) >= NUM_REST // 25


# -- gRPC mutations ---------------------------------------------------------


@pytest.fixture(scope="module")
def grpc_stubs(base):
    grpc = pytest.importorskip("grpc")
    pytest.importorskip("tensorflow_serving.apis")
    from tensorflow_serving.apis import model_service_pb2_grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    from kerpix.export.grpc_server import make_grpc_server
    from kerpix.export.model_repository import ModelRepository

    server, port = make_grpc_server(ModelRepository.single("pix", base), port=0)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield (
        prediction_service_pb2_grpc.PredictionServiceStub(channel),
        model_service_pb2_grpc.ModelServiceStub(channel),
    )
    channel.close()
    server.stop(0)


def predict_request(images):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "pix"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    return request


def mutated_grpc_call(rng, stubs, images):
    import tensorflow as tf
    from tensorflow.core.framework import types_pb2
    from tensorflow_serving.apis import get_model_metadata_pb2
    from tensorflow_serving.apis import get_model_status_pb2
    from tensorflow_serving.apis import predict_pb2

    prediction, status = stubs
    names = ["pix", "", "x" * 10_000, "pix\u00e9", "nope"]
    kind = rng.randrange(10)
    if kind == 0:
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        request.model_spec.name = rng.choice(names)
        request.metadata_field.append(
            rng.choice(["signature_def", "", "y" * 10_000])
        )
        return lambda: prediction.GetModelMetadata(request, timeout=60)
    if kind == 1:
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = rng.choice(names)
        if rng.random() < 0.5:
            request.model_spec.version.value = rng.choice([0, 1, 2, 2**62])
        else:
            request.model_spec.version_label = rng.choice(["", "z" * 10_000])
        return lambda: status.GetModelStatus(request, timeout=60)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = rng.choice(names[:1] * 6 + names)
    request.model_spec.signature_name = rng.choice(
        ["", "serving_default", "log_prob", "sample", "nope", "s" * 10_000]
    )
    if rng.random() < 0.2:
        request.model_spec.version.value = rng.choice([1, 3, -1])
    proto = tf.make_tensor_proto(images.astype("int32"))
    change = rng.randrange(8)
    if change == 0:
        proto.dtype = rng.choice(
            [
                types_pb2.DT_FLOAT,
                types_pb2.DT_RESOURCE,
                types_pb2.DT_VARIANT,
                types_pb2.DT_STRING,
                12345,
            ]
        )
    elif change == 1:
        del proto.tensor_shape.dim[:]
        for size in rng.choice(
            [[10**9, 8, 8, 1], [2, 8, 8], [2, 8, 8, 1, 1], [-1, 8, 8, 1], []]
        ):
            proto.tensor_shape.dim.add().size = size
    elif change == 2:
        proto.tensor_content = proto.tensor_content[: rng.randrange(64)]
    elif change == 3:
        proto.tensor_content = b""
        proto.int_val.extend([rng.randrange(-5, 9)] * rng.choice([1, 3, 200]))
    elif change == 4:
        proto.tensor_shape.unknown_rank = True
    elif change == 5:
        proto.tensor_content = bytes(
            rng.randrange(256) for _ in range(len(proto.tensor_content))
        )
    key = rng.choice(["images", "images", "images", "x", ""])
    request.inputs[key].CopyFrom(proto)
    if rng.random() < 0.1:
        request.inputs["extra"].CopyFrom(proto)
    return lambda: prediction.Predict(request, timeout=60)


def test_grpc_fuzz_2000_calls_never_unknown_or_internal(grpc_stubs, model):
    import grpc
    import tensorflow as tf

    rng = random.Random(1)
    images = np.random.default_rng(1).integers(0, 4, (2,) + SHAPE)
    expected = model.log_prob(images)
    allowed = {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
    codes, bad, wrong = {}, [], []
    for i in range(NUM_GRPC):
        if i % 20 == 0:
            request = predict_request(images.astype("int32"))
            response = grpc_stubs[0].Predict(request, timeout=60)
            got = tf.make_ndarray(response.outputs["log_prob"])
            if not np.allclose(got, expected, rtol=1e-4):
                wrong.append(got)
            codes["valid OK"] = codes.get("valid OK", 0) + 1
            continue
        call = mutated_grpc_call(rng, grpc_stubs, images)
        try:
            call()
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
            if code not in allowed or len(error.details() or "") > 2000:
                bad.append((code, (error.details() or "")[:300]))
        codes[code.name if hasattr(code, "name") else code] = (
            codes.get(code.name if hasattr(code, "name") else code, 0) + 1
        )
    print(f"{NUM_GRPC} gRPC calls; status codes {codes}")
    assert not bad, bad[:5]
    assert not wrong


# -- Bursts -----------------------------------------------------------------


def burst(address, data, count):
    """`count` connections opened at once, each sending `data` as soon as
    all are open; their statuses (None: no answer) and headers."""
    barrier = threading.Barrier(count)

    def one(_):
        sock = socket.create_connection(address, timeout=120)
        barrier.wait()
        try:
            sock.sendall(data)
            received = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                done = _complete(received)
                if done:
                    return done[0], done[1]
            return None, "closed"
        except OSError as error:
            return None, type(error).__name__
        finally:
            sock.close()

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.parametrize("count", [50, 100, 200])
def test_rest_burst_every_connection_answered(rest, count):
    images = np.zeros((1,) + SHAPE, "int32")
    data = http(
        "POST", PATHS[2], json.dumps({"instances": images.tolist()}).encode()
    )
    answers = burst(rest, data, count)
    statuses = [status for status, _ in answers]
    print(f"burst of {count}: {statuses.count(200)} answered 200")
    assert all(status in (200, 503) for status in statuses), answers
    assert all(
        "retry-after" in headers for status, headers in answers if status == 503
    )


def test_rest_saturated_server_answers_503_with_retry_after(base):
    """One worker and a 250 ms queue limit: a burst of 50 slow `sample`
    calls (each longer than the limit's share) is answered, partly 503 +
    Retry-After, none dropped. The limit leaves the first request, which
    waits only for the server to parse it, ample time on a loaded CPU."""
    server = start_rest(base, num_threads=1, queue_timeout=0.25)
    try:
        body = {"signature_name": "sample", "inputs": {"num_samples": 64}}
        body["inputs"]["seed"] = 0
        answers = burst(
            server.server_address,
            http("POST", PATHS[2], json.dumps(body).encode()),
            50,
        )
    finally:
        server.shutdown()
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {200, 503}, answers
    assert 200 in statuses and 503 in statuses, statuses
    assert all(h.get("retry-after") == "1" for s, h in answers if s == 503)


def test_grpc_burst_beyond_the_limit_is_resource_exhausted(base):
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    from kerpix.export.grpc_server import make_grpc_server
    from kerpix.export.model_repository import ModelRepository

    server, port = make_grpc_server(
        ModelRepository.single("pix", base),
        port=0,
        workers=1,
        max_concurrent_rpcs=2,
    )
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    # Calls long enough (1024 images) that 50 started at once overlap.
    request = predict_request(np.zeros((1024,) + SHAPE, "int32"))
    barrier = threading.Barrier(50)

    def one(_):
        barrier.wait()
        try:
            stub.Predict(request, timeout=120)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            return error.code()

    try:
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            codes = list(pool.map(one, range(50)))
    finally:
        channel.close()
        server.stop(0)
    assert set(codes) <= {
        grpc.StatusCode.OK,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }, codes
    assert grpc.StatusCode.OK in codes
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
