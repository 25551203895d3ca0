"""Cached sampling throughput against the batch size.

    python benchmarks/sampling_batch_sweep.py [--batch-sizes 1 8 64 256 512]

For each family (untrained, 256 levels, `--filters`, `--num-layers`) at
`--size`×`--size`×1: the seconds of the cached sampler's compiled
program on the first `--rows` rows (rounded up to whole calls of
`rows_between_updates`) at each batch size (after a warm-up call, the
faster of two; every row costs the same), images/s = batch / (seconds per row ×
rows per image), and the batch where throughput stops growing (the
smallest within 10% of the best). `kerpix.sampling.sampler.
DEFAULT_BATCH_SIZE` is the default chunk of `model.sample`; this is the
measurement behind it. Writes benchmarks/results/sampling_batch_sweep.json.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from kerpix import sampling  # noqa: E402
from kerpix.sampling.sampler import rows_between_updates  # noqa: E402
from kerpix.training.train import versions  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import likelihood  # noqa: E402
import sampling_speed  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--families", nargs="+", default=sorted(sampling_speed.FAMILIES)
    )
    parser.add_argument(
        "--batch-sizes", nargs="+", type=int, default=[1, 8, 64, 256, 512]
    )
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=5)
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument(
        "--output",
        default=os.path.join(HERE, "results", "sampling_batch_sweep.json"),
    )
    args = parser.parse_args(argv)
    sampler = sampling.get_sampler("cached")
    shape = (args.size, args.size, 1)
    # Partial fills run in calls of `rows_between_updates` rows: time
    # whole calls.
    step = rows_between_updates(args.size)
    timed_rows = min(-(-args.rows // step) * step, args.size)
    results = {}
    for family in args.families:
        model = sampling_speed.FAMILIES[family](shape, args)
        rows = []
        for batch in args.batch_sizes:
            noise = np.random.default_rng(0).random(
                (batch, model.num_positions, model.noise_dims), "float32"
            )
            seconds, _ = sampling_speed.time_fill(
                sampler, model, noise, num_rows=timed_rows, repeats=2
            )
            per_row = seconds / timed_rows
            rows.append(
                {
                    "batch_size": batch,
                    "seconds_per_row": round(per_row, 5),
                    "images_per_second": round(
                        batch / (per_row * args.size), 2
                    ),
                }
            )
            print(
                f"{family} batch {batch}: {per_row * 1000:.1f} ms/row, "
                f"{rows[-1]['images_per_second']} images/s",
                flush=True,
            )
        best = max(r["images_per_second"] for r in rows)
        knee = min(
            r["batch_size"]
            for r in rows
            if r["images_per_second"] >= 0.9 * best
        )
        results[family] = {"sweep": rows, "throughput_stops_growing_at": knee}
        print(f"{family}: throughput within 10% of its best from batch {knee}")
    result = {
        "image_shape": list(shape),
        "filters": args.filters,
        "num_layers": args.num_layers,
        "timed_rows": timed_rows,
        "families": results,
        "hardware": likelihood.hardware(),
        "versions": versions(),
        "commit": likelihood.commit(),
        "command": " ".join(
            ["python", "benchmarks/sampling_batch_sweep.py"]
            + (argv if argv is not None else sys.argv[1:])
        ),
    }
    likelihood.write_result(args.output, result)
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
