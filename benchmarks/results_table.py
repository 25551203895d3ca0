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
MARKERS = {
    "results": ("<!-- results:start -->", "<!-- results:end -->"),
    "sampling": ("<!-- sampling:start -->", "<!-- sampling:end -->"),
    "throughput": ("<!-- throughput:start -->", "<!-- throughput:end -->"),
    "ride": ("<!-- ride:start -->", "<!-- ride:end -->"),
    "presets": ("<!-- presets:start -->", "<!-- presets:end -->"),
}
NAMES = {
    "pixelcnn": "PixelCNN",
    "gated_pixelcnn": "Gated PixelCNN",
    "gated_pixelcnn_logistic": "Gated PixelCNN",
    "row_lstm": "Row LSTM PixelRNN",
    "diagonal_bilstm": "Diagonal BiLSTM PixelRNN",
    "multi_scale_pixel_rnn": "Multi-scale PixelRNN",
    "mcgsm": "MCGSM",
    "ride": "RIDE",
    "ride_2_layers": "RIDE",
}
# The RIDE comparison under the paper's schedule (ride_comparison.py
# --schedule paper): model -> name in its table.
PAPER_NAMES = {
    "mcgsm": "MCGSM",
    "ride": "RIDE, 1 layer",
    "ride_2_layers": "RIDE, 2 layers",
    "ride_frozen": "diagnostic: MCGSM on an untrained spatial LSTM",
}


def results(paper):
    """The result dicts of benchmarks/results/: the paper-schedule RIDE
    runs (`paper=True`) or every other likelihood run."""
    out = []
    for path in sorted(glob.glob(os.path.join(HERE, "results", "*-*.json"))):
        with open(path) as f:
            r = json.load(f)
        if "model" in r and (r.get("schedule") == "paper") == paper:
            out.append(r)
    return out


def table():
    rows = [
        "| model | dataset | test nats/image | test bits/dim | paper "
        "(nats/image) | hardware | train time | command |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results(paper=False):
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
        elif dataset == "rgb_patches":
            h, w, c = data["image_shape"] or (32, 32, 3)
            dataset += f" {h}×{w}×{c}, 256 levels"
        paper = r["paper_nats_per_image"]
        steps = r["config"]["training"].get("steps_per_epoch")
        rounds = (
            f"{r['epochs_run']} rounds of ≤{steps} steps"
            if steps
            else f"{r['epochs_run']} epochs"
        )
        # "≤": an upper bound on the discrete NLL (dequantized models).
        bound = "≤ " if r.get("likelihood", "exact") != "exact" else ""
        bits_per_nat = r["test_bits_per_dim"] / r["test_nats_per_image"]
        paper = paper if paper else "—"
        rows.append(
            f"| {model} | {dataset} | {bound}{r['test_nats_per_image']:.2f} | "
            f"{bound}{r['test_bits_per_dim']:.3f} | {paper} | "
            f"{r['hardware']} | {r['train_minutes']} min "
            f"({rounds}) | `{r['command']}` |"
        )
        ensemble = r.get("test_ensemble_nats_per_image")
        if ensemble is not None:
            name = "EoRIDE: " if r["model"].startswith("ride") else ""
            rows.append(
                f"| {name}ensemble of the row above over 8 flips/transposes "
                f"| {dataset} | "
                f"≤ {ensemble:.2f} | ≤ {ensemble * bits_per_nat:.3f} | — | "
                f"{r['hardware']} | same model | `{r['command']}` |"
            )
    return "\n".join(rows)


def ride_training(r):
    """How a RIDE-comparison run trained: L-BFGS iterations, or SGD stages."""
    stages = r["stages"]
    if r["model"] == "mcgsm" or r["model"] == "ride_frozen":
        return f"L-BFGS, {stages[0]['finetune_iterations']} iterations"
    kept = [s for s in stages if s["kept"]]
    return (
        f"{len(stages)} stages ({len(kept)} kept; patches "
        f"{stages[0]['patch']}…{stages[-1]['patch']}), "
        f"{sum(s['sgd_steps'] for s in stages)} SGD steps"
    )


def ride_table():
    runs = results(paper=True)
    if not runs:
        return "(run benchmarks/ride_comparison.py --schedule paper)"
    order = list(PAPER_NAMES)
    # Natural images (the paper's domain) first.
    runs.sort(
        key=lambda r: (
            r["dataset"] != "natural_patches",
            r["dataset"],
            order.index(r["model"]),
        )
    )
    rows = [
        "| model | data | test bits/px (bound) | ensemble over 8 flips/"
        "transposes (EoRIDE), bits/px (bound) | "
        "test log₂ density, bits/px (paper's unit) | validation bits/px | "
        "training | budget | hardware | command |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        h, w, _ = r["image_shape"]
        data = (
            f"{r['dataset']} {h}×{w}, {r['num_levels']} levels "
            f"({r['splits']['train']}/{r['splits']['validation']}/"
            f"{r['splits']['test']})"
        )
        training = ride_training(r)
        ensemble = f"≤ {r['test_ensemble_bits_per_dim']:.3f}"
        rows.append(
            f"| {PAPER_NAMES.get(r['model'], r['model'])} | {data} | "
            f"≤ {r['test_bits_per_dim']:.3f} | {ensemble} | "
            f"{r['test_density_bits_per_pixel']:.3f} | "
            f"≤ {r['validation_bits_per_dim']:.3f} | {training} | "
            f"{r['budget_minutes']} min ({r['train_minutes']} used) | "
            f"{r['hardware']} | `{r['command']}` |"
        )
    return "\n".join(rows)


def sampling_table():
    path = os.path.join(HERE, "results", "sampling_speed.json")
    if not os.path.isfile(path):
        return "(run benchmarks/sampling_speed.py)"
    with open(path) as f:
        r = json.load(f)
    model = ", ".join(f"{k}={v}" for k, v in sorted(r["model"].items()))
    naive_rows = " and ".join(
        sorted(
            {
                f"{row['naive_measured_rows']} rows at "
                f"{row['image_shape'][0]}×{row['image_shape'][1]}"
                for row in r["rows"]
                if "naive_measured_rows" in row
            }
        )
    )
    kerasio = next(
        (
            row["kerasio_measured_pixels"]
            for row in r["rows"]
            if "kerasio_measured_pixels" in row
        ),
        "—",
    )
    rows = [
        f"Command: `{r['command']}` ({r['hardware']}, {r['backend']} "
        f"backend, untrained {model}; PixelRNNs with units = filters / 2, "
        "RIDE at its paper size; batch of "
        f"{r['rows'][0]['batch_size']}; cached timed whole (fastest of 3), "
        f"naive on {naive_rows or '—'} and keras.io on {kerasio} sub-pixels, "
        "extrapolated; — where not run).",
        "",
        "| family | image | cached images/s | cached ms/pixel | per pixel vs "
        "smallest image | XLA vs plain graph | naive images/s | cached / "
        "naive | keras.io loop images/s | cached / keras.io |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(row, key, fmt):
        return format(row[key], fmt) if key in row else "—"

    for row in r["rows"]:
        if row["family"] == "tfp_pixel_cnn":
            continue
        h, w, c = row["image_shape"]
        rows.append(
            f"| {row['family']} | {h}×{w}×{c} | "
            f"{row['cached_images_per_s']:.3g} | "
            f"{row['cached_ms_per_pixel']:.3f} | "
            f"{row['ms_per_pixel_over_smallest_size']:.2f}× | "
            f"{cell(row, 'xla_over_graph', '.1f')}× | "
            f"{cell(row, 'naive_images_per_s', '.3g')} | "
            f"{cell(row, 'cached_over_naive', '.0f')}× | "
            f"{cell(row, 'kerasio_images_per_s', '.3g')} | "
            f"{cell(row, 'cached_over_kerasio', '.0f')}× |".replace("—×", "—")
        )
    for row in r["rows"]:
        if row["family"] != "tfp_pixel_cnn":
            continue
        h, w, c = row["image_shape"]
        settings = row["tfp"]["settings"]
        versions = row["tfp"]["versions"]
        ratios = ", ".join(
            f"{family} {ratio:.0f}×"
            for family, ratio in row.get("cached_over_tfp", {}).items()
        )
        rows.append(
            f"| TFP `tfd.PixelCNN.sample` (num_filters="
            f"{settings['num_filters']}, num_resnet={settings['num_resnet']}, "
            f"num_hierarchies={settings['num_hierarchies']}; TFP "
            f"{versions['tensorflow_probability']}, own process, timed "
            f"whole) | {h}×{w}×{c} | {row['tfp_images_per_s']:.3g} | — | — "
            f"| — | — | kerpix cached over TFP: {ratios} | — | — |"
        )
    return "\n".join(rows)


def throughput_table():
    path = os.path.join(HERE, "results", "train_throughput.json")
    if not os.path.isfile(path):
        return "(run benchmarks/train_throughput.py)"
    with open(path) as f:
        r = json.load(f)
    h, w, c = r["image_shape"]
    rows = [
        f"Command: `{r['command']}` ({r['hardware']}, {h}×{w}×{c} binary "
        f"images, global batch {r['batch_size']}, {r['steps']} timed steps; "
        "single: TensorFlow on one device, mirrored: MirroredStrategy over 2 "
        "logical CPUs, jax: the JAX backend).",
        "",
        "| family | settings | parameters | mode | training images/s | "
        "vs single | vs first family |",
        "|---|---|---|---|---|---|---|",
    ]
    single = {
        row["family"]: row["images_per_second"]
        for row in r["rows"]
        if row.get("mode", "single") == "single"
    }
    first = r["rows"][0]["images_per_second"]
    for row in r["rows"]:
        kwargs = ", ".join(f"{k}={v}" for k, v in sorted(row["kwargs"].items()))
        mode = row.get("mode", "single")
        base = single.get(row["family"])
        versus = f"{row['images_per_second'] / base:.2f}×" if base else "—"
        rows.append(
            f"| {row['family']} | {kwargs} | {row['parameters']} | {mode} | "
            f"{row['images_per_second']} | {versus} | "
            f"{row['images_per_second'] / first:.2f}× |"
        )
    return "\n".join(rows)


def presets_table():
    """The shipped presets (benchmarks/results/preset-NAME.json, written
    by benchmarks/train_preset.py when it packages one)."""
    rows = [
        "| preset | family | parameters | data (test split) | test "
        "nats/image | test bits/dim | paper / target | training | hardware | "
        "command | samples |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(glob.glob(os.path.join(HERE, "results", "preset-*"))):
        with open(path) as f:
            r = json.load(f)
        name = os.path.basename(path)[len("preset-") : -len(".json")]
        test = r["test"]
        split = test["split"] + (
            f", {test['num_images']} images" if test.get("num_images") else ""
        )
        paper = r.get("paper_nats_per_image") or {}
        paper = ", ".join(f"{k}: {v}" for k, v in paper.items()) or "—"
        if r.get("target_bits_per_dim"):
            paper = f"target ≤ {r['target_bits_per_dim']} bits/dim (bound)"
        minutes = r["training_seconds"] / 60
        if r.get("training_recipe"):  # the RIDE paper's schedule
            training = f"{minutes:.0f} min, {ride_training(r['result'])}"
        else:
            training = f"{minutes:.0f} min, {r['epochs']} epochs"
        if len(r.get("segments", [])) > 1:
            training += f" in {len(r['segments'])} segments"
        selection = r.get("selection")
        if selection and len(selection["candidates"]) > 1:
            variant = f"{selection['model']} " if "model" in selection else ""
            training += (
                f"; {variant}seed {selection['seed']} of "
                f"{len(selection['candidates'])} by validation "
                f"({selection['cpu_seconds'] / 3600:.1f} CPU-h in all)"
            )
        rows.append(
            f"| `{name}` | {r['family']} | {r['parameters']:,} | "
            f"{r['dataset']} ({split}) | {r['test_nats_per_image']:.2f} | "
            f"{r['test_bits_per_dim']:.4f} | {paper} | {training} | "
            f"{r['hardware']} | `{r['command']}` | "
            f"![]({r['samples_png']}) |"
        )
    return "\n".join(rows)


def main(argv):
    tables = {
        "presets": presets_table(),
        "results": table(),
        "sampling": sampling_table(),
        "throughput": throughput_table(),
        "ride": ride_table(),
    }
    if "--print" in argv:
        print("\n\n".join(tables.values()))
        return 0
    with open(README) as f:
        readme = f.read()
    for key, (start, end) in MARKERS.items():
        if start not in readme or end not in readme:
            print(
                f"README.md lacks the {start} ... {end} markers",
                file=sys.stderr,
            )
            return 1
        head, rest = readme.split(start, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{start}\n{tables[key]}\n{end}{tail}"
    with open(README, "w") as f:
        f.write(readme)
    print("\n\n".join(tables.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
