"""Regenerate the README results table from benchmarks/results/*.json.

python benchmarks/results_table.py          # rewrite README.md
python benchmarks/results_table.py --print  # print the table only
"""

import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(os.path.dirname(HERE), "README.md")
START, END = "<!-- results:start -->", "<!-- results:end -->"
NAMES = {"pixelcnn": "PixelCNN"}


def table():
    rows = [
        "| model | dataset | test nats/image | test bits/dim | paper "
        "(nats/image) | hardware | train time | command |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(glob.glob(os.path.join(HERE, "results", "*.json"))):
        with open(path) as f:
            r = json.load(f)
        kwargs = r["config"]["model"]["kwargs"]
        model = (
            NAMES.get(r["model"], r["model"])
            + " ("
            + ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
            + ")"
        )
        data = r["config"]["data"]
        dataset = r["dataset"]
        if dataset == "dead_leaves":
            h, w, c = data["image_shape"]
            dataset += f" {h}×{w}×{c}, {data['num_grey_levels']} grey levels"
        paper = r["paper_nats_per_image"]
        rows.append(
            f"| {model} | {dataset} | {r['test_nats_per_image']:.2f} | "
            f"{r['test_bits_per_dim']:.3f} | {paper if paper else '—'} | "
            f"{r['hardware']} | {r['train_minutes']} min "
            f"({r['epochs_run']} epochs) | `{r['command']}` |"
        )
    return "\n".join(rows)


def main(argv):
    text = table()
    if "--print" in argv:
        print(text)
        return 0
    with open(README) as f:
        readme = f.read()
    if START not in readme or END not in readme:
        print(f"README.md lacks the {START} ... {END} markers", file=sys.stderr)
        return 1
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(README, "w") as f:
        f.write(f"{head}{START}\n{text}\n{END}{tail}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
