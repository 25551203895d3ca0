"""Whole-image sampling: ONNX Runtime's `sample.onnx` vs Keras's cached
sampler, side by side in one run.

    python benchmarks/onnx_sampling_speed.py [--size 28] [--batch-sizes 8]

For each unconditional family (untrained, 256 levels, the widths of
`sampling_speed.py`: filters 64, 5 layers; PixelRNNs with 32 units; RIDE
at its paper size), the same noise goes through `model.sample(noise=...)`
(cached sampler, one compiled XLA call) and through one `session.run` of
`sample.onnx`, both warmed up, then timed in blocks of `--repeats` calls,
two blocks each, alternating (the fastest call of each: warm, and the
machine's load drifts); the images should be identical. Also records
the node count of the ONNX pixel loop's body: ONNX Runtime runs it op by
op, so its time per pixel follows that count more than the arithmetic.
Writes `benchmarks/results/onnx_sampling_speed.json`.
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


def innermost_loop_nodes(path):
    """Nodes in the body of `sample.onnx`'s innermost `Loop` (what ONNX
    Runtime runs per pixel, op by op)."""
    import onnx

    graph = onnx.load(path).graph
    while True:
        loops = [n for n in graph.node if n.op_type == "Loop"]
        if not loops:
            return len(graph.node)
        graph = loops[0].attribute[0].g


def fastest(functions, repeats, rounds=2):
    """The fastest of `rounds` × `repeats` timed calls of each function:
    `repeats` consecutive calls of one, then of the next, `rounds` times
    over (after a warm-up call each), so each runtime is timed warm and
    load drifts hit both; and their last outputs."""
    outputs = [fn() for fn in functions]  # tracing, session initialisation
    times = [[] for _ in functions]
    for _ in range(rounds):
        for k, fn in enumerate(functions):
            for _ in range(repeats):
                start = time.perf_counter()
                outputs[k] = fn()
                times[k].append(time.perf_counter() - start)
    return [min(t) for t in times], outputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8])
    parser.add_argument("--repeats", type=int, default=3)
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
        nodes = innermost_loop_nodes(os.path.join(folder, "sample.onnx"))
        for batch in args.batch_sizes:
            noise = np.random.default_rng(0).random(
                (batch, model.num_positions, model.noise_dims), "float32"
            )
            (keras_seconds, onnx_seconds), (keras_images, (onnx_images,)) = (
                fastest(
                    [
                        lambda: model.sample(noise=noise, verbose=0),
                        lambda: session.run(["images"], {"noise": noise}),
                    ],
                    args.repeats,
                )
            )
            result = {
                "family": family,
                "image": [args.size, args.size, 1],
                "batch": batch,
                "keras_cached_seconds": round(keras_seconds, 4),
                "onnx_sample_seconds": round(onnx_seconds, 4),
                "onnx_over_keras_time": round(onnx_seconds / keras_seconds, 2),
                "identical_images": bool((keras_images == onnx_images).all()),
                # Float rounding may move a conditional's CDF across a
                # noise value (a different sum order, e.g. another matmul
                # kernel for another batch size): how many sub-pixels.
                "differing_subpixels": int((keras_images != onnx_images).sum()),
                "subpixels": int(keras_images.size),
                "nodes_per_pixel": nodes,
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
