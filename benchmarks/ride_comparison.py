"""MCGSM vs RIDE (1 and 2 spatial LSTM layers) vs EoRIDE, same data and
time budget (the RIDE paper's comparison).

    python benchmarks/ride_comparison.py --budget-minutes 3

Runs `benchmarks/likelihood.py` for `mcgsm`, `ride` and `ride_2_layers` on
dead leaves one after the other (same data, splits, batch size, optimizer
and wall-clock budget; each keeps its best validation epoch), then prints
their test NLL bounds side by side with EoRIDE (each RIDE model averaged
over the 8 flips and transposes of the test images). All numbers are
upper bounds on the discrete NLL (dequantized pixel values). Training here
is Adam on whole 16×16 images, not yet the paper's SGD schedule with a
patch curriculum and L-BFGS fine-tuning of the MCGSM.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import likelihood  # noqa: E402

MODELS = ("mcgsm", "ride", "ride_2_layers")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget-minutes", type=float, required=True)
    parser.add_argument("--output-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    results = likelihood.run_comparison(
        MODELS,
        "dead_leaves",
        args.budget_minutes,
        args.output_dir,
        "python benchmarks/ride_comparison.py "
        f"--budget-minutes {args.budget_minutes}",
    )
    first = results[MODELS[0]]
    pixels = 16 * 16
    print(
        f"\ndead leaves 16×16, 16 grey levels, {args.budget_minutes} min "
        f"each, {first['hardware']} (test NLL upper bounds)"
    )
    print(f"{'model':<22}{'nats/image':>11}{'bits/px':>9}{'epochs':>8}")
    rows = []
    for model in MODELS:
        r = results[model]
        rows.append((model, r["test_nats_per_image"], r["epochs_run"]))
        if model != "mcgsm":
            rows.append(
                (f"EoRIDE ({model})", r["test_ensemble_nats_per_image"], "")
            )
    for name, nats, epochs in rows:
        bits = nats / (pixels * 0.6931471805599453)
        print(f"{name:<22}{nats:>11.2f}{bits:>9.4f}{epochs!s:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
