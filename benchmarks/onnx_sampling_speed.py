"""Whole-image sampling: ONNX Runtime's `sample.onnx` vs Keras's cached
sampler, side by side in one run.

    python benchmarks/onnx_sampling_speed.py [--size 28] [--batch-size 8]

For each unconditional family (untrained, 256 levels, the widths of
`sampling_speed.py`: filters 64, 5 layers; PixelRNNs with 32 units; RIDE
at its paper size), the same noise goes through `model.sample(noise=...)`
(cached sampler, one compiled XLA call, warmed up) and through one
`session.run` of `sample.onnx` (warmed up); the images must be
identical. Writes `benchmarks/results/onnx_sampling_speed.json`.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402

from kerpix.export import export_onnx  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from likelihood import commit  # noqa: E402
from likelihood import hardware  # noqa: E402
from likelihood import write_result  # noqa: E402
from sampling_speed import FAMILIES  # noqa: E402

UNCONDITIONAL = [
    "gated_pixel_cnn",
    "pixel_cnn",
    "row_lstm",
    "diagonal_bilstm",
    "ride",
]


def timed(fn, repeats):
    fn()  # warm-up: tracing, graph building, session initialisation
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    return (time.perf_counter() - start) / repeats, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--families", nargs="+", default=UNCONDITIONAL)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=5)
    parser.add_argument(
        "--output",
        default=os.path.join(
            os.path.dirname(__file__), "results", "onnx_sampling_speed.json"
        ),
    )
    args = parser.parse_args(argv)
    results = []
    for family in args.families:
        model = FAMILIES[family]((args.size, args.size, 1), args)
        folder = tempfile.mkdtemp()
        export_onnx(model, folder)
        session = onnxruntime.InferenceSession(
            os.path.join(folder, "sample.onnx"),
            providers=["CPUExecutionProvider"],
        )
        noise = np.random.default_rng(0).random(
            (args.batch_size, model.num_positions, model.noise_dims), "float32"
        )
        keras_seconds, keras_images = timed(
            lambda: model.sample(noise=noise, verbose=0), args.repeats
        )
        onnx_seconds, (onnx_images,) = timed(
            lambda: session.run(["images"], {"noise": noise}), args.repeats
        )
        result = {
            "family": family,
            "image": [args.size, args.size, 1],
            "batch": args.batch_size,
            "keras_cached_seconds": round(keras_seconds, 3),
            "onnx_sample_seconds": round(onnx_seconds, 3),
            "onnx_over_keras_time": round(onnx_seconds / keras_seconds, 2),
            "identical_images": bool((keras_images == onnx_images).all()),
        }
        results.append(result)
        print(result, flush=True)
    write_result(
        args.output,
        {
            "results": results,
            "settings": f"untrained, filters={args.filters}, num_layers="
            f"{args.num_layers}, num_levels=256 (PixelRNNs: units = filters "
            "/ 2; RIDE: its paper size)",
            "command": " ".join(
                ["python", "benchmarks/onnx_sampling_speed.py"]
                + (argv if argv is not None else sys.argv[1:])
            ),
            "hardware": hardware(),
            "commit": commit(),
        },
    )
    print(f"-> {args.output}")


if __name__ == "__main__":
    main()
