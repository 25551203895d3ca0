"""Gated PixelCNN vs plain PixelCNN on the same data and time budget.

    python benchmarks/gated_vs_plain.py --dataset dead_leaves --budget-minutes 5

Runs `benchmarks/likelihood.py` for `pixelcnn` and `gated_pixelcnn` one
after the other (same data, splits, batch size, optimizer and wall-clock
budget; each keeps its best validation epoch), writes both result files,
and prints their test NLLs side by side with the ratio of training steps
each got through.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import likelihood  # noqa: E402

MODELS = ("pixelcnn", "gated_pixelcnn")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dataset",
        default="dead_leaves",
        choices=sorted({d for m, d in likelihood.PRESETS if m in MODELS}),
    )
    parser.add_argument("--budget-minutes", type=float, required=True)
    parser.add_argument("--output-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    results = likelihood.run_comparison(
        MODELS,
        args.dataset,
        args.budget_minutes,
        args.output_dir,
        "python benchmarks/gated_vs_plain.py "
        f"--dataset {args.dataset} --budget-minutes {args.budget_minutes}",
    )
    print(
        f"\n{args.dataset}, {args.budget_minutes} min each, "
        f"{results['pixelcnn']['hardware']}"
    )
    print(f"{'model':<16}{'test nats':>11}{'bits/dim':>10}{'epochs':>8}")
    for model in MODELS:
        r = results[model]
        print(
            f"{model:<16}{r['test_nats_per_image']:>11.2f}"
            f"{r['test_bits_per_dim']:>10.4f}{r['epochs_run']:>8}"
        )
    gated, plain = results["gated_pixelcnn"], results["pixelcnn"]
    winner = (
        "gated"
        if gated["test_nats_per_image"] < plain["test_nats_per_image"]
        else "plain"
    )
    print(
        f"gated - plain: "
        f"{gated['test_nats_per_image'] - plain['test_nats_per_image']:+.2f} "
        f"nats/image ({winner} wins)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
