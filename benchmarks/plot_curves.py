"""Validation NLL against training time, one line per benchmark run.

    python benchmarks/plot_curves.py

Reads the `validation_curve` of every benchmarks/results/<model>-<dataset>.json
(written by benchmarks/likelihood.py) and writes one panel per dataset to
docs/images/validation_curves.png (bits/dim via kerpix.metrics.bits_per_dim;
dashed lines are upper bounds of dequantized models).
"""

import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUTPUT = os.path.join(ROOT, "docs", "images", "validation_curves.png")


def main(argv=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerpix.metrics import bits_per_dim

    runs = {}
    for path in sorted(glob.glob(os.path.join(HERE, "results", "*-*.json"))):
        with open(path) as f:
            r = json.load(f)
        curve = r.get("validation_curve") or {}
        if not curve.get("seconds"):
            print(f"{os.path.basename(path)}: no validation curve, skipped")
            continue
        panel = r["dataset"] + (
            ", paper schedule" if r.get("schedule") == "paper" else ""
        )
        runs.setdefault(panel, []).append(r)
    if not runs:
        print("No results with validation curves; run benchmarks first.")
        return 1
    fig, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4))
    axes = [axes] if len(runs) == 1 else list(axes)
    for ax, (dataset, results) in zip(axes, sorted(runs.items())):
        for r in results:
            shape = (
                r.get("image_shape")
                or r["config"]["data"].get("image_shape")
                or (28, 28, 1)
            )
            curve = r["validation_curve"]
            minutes = [s / 60 for s in curve["seconds"]]
            bits = [bits_per_dim(n, shape) for n in curve["nats_per_image"]]
            bound = r.get("likelihood", "exact") != "exact"
            ax.plot(
                minutes,
                bits,
                "--" if bound else "-",
                marker=".",
                label=r["model"]
                + (" (paper schedule)" if r.get("schedule") == "paper" else "")
                + (" (bound)" if bound else ""),
            )
        ax.set_title(dataset)
        ax.set_xlabel("training time (minutes, 2-core CPU)")
        ax.set_ylabel("validation bits/dim")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    fig.savefig(OUTPUT, dpi=100)
    print(f"-> {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
