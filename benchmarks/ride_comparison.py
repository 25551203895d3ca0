"""MCGSM vs RIDE (1 and 2 spatial LSTM layers) vs EoRIDE, same data and
time budget (the RIDE paper's comparison).

    python benchmarks/ride_comparison.py --budget-minutes 5
    python benchmarks/ride_comparison.py --dataset mnist --models mcgsm ride \
        --budget-minutes 5

Runs `benchmarks/likelihood.py` for each model one after the other (same
data, splits, batch size, optimizer and wall-clock budget; each keeps its
best validation epoch; the preconditioner is fitted to the training split
first), then prints their test NLL bounds side by side with EoRIDE (each
RIDE model averaged over the 8 flips and transposes of the test images).
All numbers are upper bounds on the discrete NLL (dequantized pixel
values). Training here is Adam on whole images with gradients clipped to
norm 1, not the paper's SGD schedule with a patch curriculum and L-BFGS
fine-tuning of the MCGSM (`kerpix.training.train_ride`).
"""

import argparse
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import likelihood  # noqa: E402

MODELS = ("mcgsm", "ride", "ride_2_layers")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget-minutes", type=float, required=True)
    parser.add_argument(
        "--dataset", default="dead_leaves", choices=("dead_leaves", "mnist")
    )
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--output-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    missing = [
        m for m in args.models if (m, args.dataset) not in likelihood.PRESETS
    ]
    if missing:
        parser.error(f"no {args.dataset} recipe for {', '.join(missing)}")
    command = " ".join(
        ["python", "benchmarks/ride_comparison.py"]
        + (argv if argv is not None else sys.argv[1:])
    )
    results = likelihood.run_comparison(
        args.models, args.dataset, args.budget_minutes, args.output_dir, command
    )
    first = results[args.models[0]]
    nats_to_bits = first["test_bits_per_dim"] / first["test_nats_per_image"]
    print(
        f"\n{args.dataset}, {args.budget_minutes} min each, "
        f"{first['hardware']} (test NLL upper bounds; bits per pixel = "
        f"nats / ({round(math.log(2) / nats_to_bits)} pixels · ln 2))"
    )
    print(f"{'model':<26}{'nats/image':>11}{'bits/px':>9}{'epochs':>8}")
    for model in args.models:
        r = results[model]
        rows = [(model, r["test_nats_per_image"], r["epochs_run"])]
        if model != "mcgsm":
            rows.append(
                (f"EoRIDE ({model})", r["test_ensemble_nats_per_image"], "")
            )
        for name, nats, epochs in rows:
            print(
                f"{name:<26}{nats:>11.2f}{nats * nats_to_bits:>9.4f}"
                f"{epochs!s:>8}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
