"""What the default progress bar costs: `model.sample(N)` (the default
`verbose="auto"`, a bar updated between compiled calls of a few rows)
against `model.sample(N, verbose=0)` (the whole image in one compiled
call), side by side for every family, first call (compilation included,
what a user meets) and second call.

    python benchmarks/progress_bar_cost.py [--size 16] [--num-samples 16]

Each measurement builds its own model (same seed, same weights): the
programs a model compiles are cached with it, so a first call is a first
call. Writes `benchmarks/results/progress_bar_cost.json`.
"""

import argparse
import contextlib
import io
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
from likelihood import hardware  # noqa: E402
from likelihood import write_result  # noqa: E402
from sampling_speed import FAMILIES  # noqa: E402
from sampling_speed import conditioning  # noqa: E402


def timed_samples(family, shape, args, verbose):
    """Seconds of the first and the second `sample` call of a new model."""
    keras.utils.set_random_seed(0)
    model = FAMILIES[family](shape, args)
    condition = conditioning(model, args.num_samples)
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        # The bar goes to a buffer: its printing is not what is measured.
        with contextlib.redirect_stdout(io.StringIO()):
            model.sample(
                args.num_samples,
                seed=0,
                conditional_input=condition,
                verbose=verbose,
            )
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--num-samples", type=int, default=16)
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--num-layers", type=int, default=5)
    parser.add_argument(
        "--output",
        default=os.path.join(
            os.path.dirname(__file__), "results", "progress_bar_cost.json"
        ),
    )
    args = parser.parse_args(argv)
    shape = (args.size, args.size, 1)
    rows = []
    for family in args.families:
        quiet = timed_samples(family, shape, args, verbose=0)
        default = timed_samples(family, shape, args, verbose="auto")
        row = {
            "family": family,
            "quiet_first_s": round(quiet[0], 3),
            "default_first_s": round(default[0], 3),
            "first_ratio": round(default[0] / quiet[0], 3),
            "quiet_second_s": round(quiet[1], 3),
            "default_second_s": round(default[1], 3),
            "second_ratio": round(default[1] / quiet[1], 3),
        }
        rows.append(row)
        print(
            f"{family:34s} first call: default {default[0]:7.2f} s, "
            f"verbose=0 {quiet[0]:7.2f} s (x{row['first_ratio']:.2f}); "
            f"second: {default[1]:6.2f} s vs {quiet[1]:6.2f} s "
            f"(x{row['second_ratio']:.2f})",
            flush=True,
        )
    write_result(
        args.output,
        {
            "image_shape": list(shape),
            "num_samples": args.num_samples,
            "filters": args.filters,
            "num_layers": args.num_layers,
            "rows": rows,
            "command": "python benchmarks/progress_bar_cost.py",
            "hardware": hardware(),
        },
    )
    print(f"-> {args.output}")


if __name__ == "__main__":
    main()
