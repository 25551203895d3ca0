"""Load on `kerpix serve`: concurrent REST and gRPC clients.

Exports a PixelCNN for 28×28 binary images (filters 32, 5 layers,
untrained: the cost does not depend on the weights), starts `kerpix serve`
in its own process (REST and gRPC), and sends `log_prob` requests of 1, 32
and 1000 images from `--clients` concurrent clients per protocol. Reports
requests/s, images/s, p50/p99 latency, failed requests, whether identical
requests got identical answers, and the server's peak memory (VmHWM);
then bursts of `--bursts` simultaneous REST connections (one 1-image
request each): how many were answered 200, 503 (saturated) or not at
all. Writes `benchmarks/results/serving_load.json`.

    python benchmarks/serving_load.py            # 1000 requests per case
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from likelihood import hardware  # noqa: E402
from likelihood import write_result  # noqa: E402

SHAPE = (28, 28, 1)


def export_model(folder):
    import kerpix
    from kerpix.export import export_saved_model

    model = kerpix.models.PixelCNN(
        SHAPE, num_levels=2, filters=32, num_layers=5
    )
    export_saved_model(model, folder, name="pix", version=1)
    return model


def start_server(base_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kerpix.cli.main",
            "serve",
            "--model_name=pix",
            f"--model_base_path={base_path}",
            "--rest_api_port=0",
            "--port=0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    rest = process.stdout.readline().split(" at ")[1].strip()
    grpc_target = process.stdout.readline().split(" at ")[1].strip()
    return process, rest, grpc_target


def peak_memory_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def rest_client(url, images):
    body = json.dumps({"inputs": {"images": images.tolist()}}).encode()

    def call():
        request = urllib.request.Request(url + ":predict", data=body)
        with urllib.request.urlopen(request, timeout=600) as response:
            return tuple(json.loads(response.read())["outputs"]["log_prob"])

    return call


def grpc_client(target, images):
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "pix"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    stub = prediction_service_pb2_grpc.PredictionServiceStub(
        grpc.insecure_channel(target)
    )

    def call():
        response = stub.Predict(request, timeout=600)
        return tuple(tf.make_ndarray(response.outputs["log_prob"]).tolist())

    return call


def burst(url, images, count):
    """`count` connections opened at once, each then sending one REST
    `log_prob` request: how many were answered 200, 503 or not at all,
    and the seconds until the last answer."""
    import http.client
    import urllib.parse

    parsed = urllib.parse.urlparse(url)
    body = json.dumps({"inputs": {"images": images.tolist()}}).encode()
    barrier = threading.Barrier(count)
    statuses = []
    lock = threading.Lock()

    def one():
        connection = http.client.HTTPConnection(
            parsed.hostname, parsed.port, timeout=600
        )
        try:
            connection.connect()
            barrier.wait()
            connection.request("POST", parsed.path + ":predict", body)
            status = connection.getresponse().status
        except Exception as error:  # counted: a dropped connection
            status = type(error).__name__
        finally:
            connection.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "protocol": "rest",
        "burst": count,
        "answered_200": statuses.count(200),
        "answered_503": statuses.count(503),
        "not_answered": sum(s not in (200, 503) for s in statuses),
        "seconds": round(time.perf_counter() - start, 2),
    }


def run_load(call, requests, clients):
    """Send `requests` calls from `clients` threads; latencies, answers,
    failures and the wall time."""
    latencies, answers, failures = [], set(), []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker():
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            start = time.perf_counter()
            try:
                answer = call()
            except Exception as error:  # counted, not raised
                with lock:
                    failures.append(repr(error)[:200])
                continue
            with lock:
                latencies.append(time.perf_counter() - start)
                answers.add(answer)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, answers, failures, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32, 1000])
    parser.add_argument(
        "--bursts",
        type=int,
        nargs="+",
        default=[50, 100, 200],
        help="simultaneous connections of the burst cases",
    )
    parser.add_argument(
        "--output",
        default=os.path.join(
            os.path.dirname(__file__), "results", "serving_load.json"
        ),
    )
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp()
    export_model(folder)
    process, rest, grpc_target = start_server(os.path.join(folder, "pix"))
    results = []
    try:
        rng = np.random.default_rng(0)
        for batch in args.batches:
            images = rng.integers(0, 2, (batch,) + SHAPE).astype("int32")
            # Large batches take seconds each: fewer requests, same clients.
            requests = args.requests if batch < 1000 else args.requests // 10
            for protocol, make in (
                ("rest", lambda: rest_client(rest, images)),
                ("grpc", lambda: grpc_client(grpc_target, images)),
            ):
                latencies, answers, failures, seconds = run_load(
                    make(), requests, args.clients
                )
                done = len(latencies)
                result = {
                    "protocol": protocol,
                    "batch": batch,
                    "requests": requests,
                    "clients": args.clients,
                    "failed": len(failures),
                    "failures": failures[:3],
                    "identical_answers": len(answers) == 1,
                    "requests_per_s": round(done / seconds, 2),
                    "images_per_s": round(done * batch / seconds, 1),
                    "p50_ms": round(1000 * float(np.median(latencies)), 1),
                    "p99_ms": round(
                        1000 * float(np.percentile(latencies, 99)), 1
                    ),
                    "server_peak_mb": round(peak_memory_mb(process.pid), 1),
                }
                results.append(result)
                print(json.dumps(result), flush=True)
        one = rng.integers(0, 2, (1,) + SHAPE).astype("int32")
        for count in args.bursts:
            result = burst(rest, one, count)
            result["server_peak_mb"] = round(peak_memory_mb(process.pid), 1)
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    write_result(
        args.output,
        {
            "model": "PixelCNN 28x28x1, num_levels=2, filters=32, "
            "num_layers=5 (untrained)",
            "results": results,
            "server_exit_code": process.returncode,
            "command": "python benchmarks/serving_load.py",
            "hardware": hardware(),
        },
    )
    print(f"-> {args.output}")


if __name__ == "__main__":
    main()
