"""Train a model on a dataset within a time budget; report test NLL.

    python benchmarks/likelihood.py --model pixelcnn --dataset dead_leaves \
        --budget-minutes 3

`--device gpu` trains the paper-scale recipe instead (`GPU_RECIPE`: whole
epochs, early stopping, every GPU); it refuses to run without a GPU.

Early-stops on (keeps the best epoch of) the validation split, evaluates
once on the test split, and writes benchmarks/results/<model>-<dataset>.json
with nats/image, bits/dim (kerpix.metrics.bits_per_dim), training time,
hardware, versions, commit and the resolved config.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# (model, dataset) -> built-in training preset.
PRESETS = {
    ("pixelcnn", "dead_leaves"): "dead_leaves_demo",
    ("pixelcnn", "binarized_mnist"): "binarized_mnist_pixel_cnn",
    ("gated_pixelcnn", "dead_leaves"): "dead_leaves_gated_pixel_cnn",
    ("gated_pixelcnn", "binarized_mnist"): "binarized_mnist_gated_pixel_cnn",
    ("row_lstm", "binarized_mnist"): "binarized_mnist_row_lstm_pixel_rnn",
    ("diagonal_bilstm", "binarized_mnist"): (
        "binarized_mnist_diagonal_bilstm_pixel_rnn"
    ),
    ("multi_scale_pixel_rnn", "binarized_mnist"): (
        "binarized_mnist_multi_scale_pixel_rnn"
    ),
    ("gated_pixelcnn", "rgb_patches"): "rgb_patches_gated_pixel_cnn",
    ("gated_pixelcnn_logistic", "rgb_patches"): (
        "rgb_patches_gated_pixel_cnn_logistic"
    ),
    ("mcgsm", "dead_leaves"): "dead_leaves_mcgsm",
    ("ride", "dead_leaves"): "dead_leaves_ride",
    ("ride_2_layers", "dead_leaves"): "dead_leaves_ride_2_layers",
    ("mcgsm", "mnist"): "mnist_mcgsm",
    ("ride", "mnist"): "mnist_ride",
}
# RIDE and the MCGSM model dequantized values: their NLL is an upper bound.
BOUNDS = ("mcgsm", "ride", "ride_2_layers")
# Published test NLL (nats/image), PixelRNN paper Table 4.
PAPER = {
    ("pixelcnn", "binarized_mnist"): 81.30,
    ("row_lstm", "binarized_mnist"): 80.54,
    ("diagonal_bilstm", "binarized_mnist"): 79.20,
}
# Where a paper number is only a target (Gated PixelCNN reported no
# binarized-MNIST figure), nothing is listed.

# `--device gpu`: the recipe toward the papers' converged numbers on top of
# the preset (whole epochs, the whole validation split, every GPU of the
# machine, early stopping instead of a short budget). Never run on the
# 2-core development machine: its results would say GPU in `hardware`.
GPU_RECIPE = (
    "training.steps_per_epoch=null",
    "training.epochs=300",
    "training.early_stopping_patience=10",
    "training.strategy=auto",
    "data.validation_split=validation",
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", required=True, choices=sorted({m for m, _ in PRESETS})
    )
    parser.add_argument(
        "--dataset", required=True, choices=sorted({d for _, d in PRESETS})
    )
    parser.add_argument("--budget-minutes", type=float, default=None)
    parser.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default="cpu",
        help="cpu: the preset's CPU budget recipe; gpu: the paper-scale "
        "recipe (GPU_RECIPE), which needs a visible GPU",
    )
    parser.add_argument("--override", action="append", default=[])
    parser.add_argument("--output-dir", default=os.path.join(HERE, "results"))
    parser.add_argument(
        "--export",
        action="store_true",
        help="also export the trained model (SavedModel and ONNX), reload "
        "both and record their parity with Keras (log_prob of 8 test "
        "images; samples on fixed noise) in the JSON",
    )
    parser.add_argument(
        "--tag",
        default="",
        help="suffix of the result and sample file names "
        "(MODEL-DATASET-TAG.json), so a longer run keeps its own row",
    )
    parser.add_argument(
        "--samples-dir",
        default=None,
        help="where the sample grid PNG goes ('' for none; default: "
        "docs/images/samples for the default --output-dir, else "
        "OUTPUT_DIR/samples)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder with the MNIST .npz files (default: $KERPIX_DATA_DIR)",
    )
    args = parser.parse_args(argv)
    if args.samples_dir is None:
        default_output = os.path.join(HERE, "results")
        args.samples_dir = (
            os.path.join(ROOT, "docs", "images", "samples")
            if os.path.abspath(args.output_dir) == default_output
            else os.path.join(args.output_dir, "samples")
        )
    if (args.model, args.dataset) not in PRESETS:
        parser.error(f"no recipe for {args.model} on {args.dataset}")

    from kerpix.training import TrainConfig
    from kerpix.training import evaluate
    from kerpix.training import train
    from kerpix.training.train import versions

    name = "-".join(filter(None, (args.model, args.dataset, args.tag)))
    config = TrainConfig.from_file(PRESETS[args.model, args.dataset])
    overrides = []
    if args.device == "gpu":
        if not gpu_names():
            parser.error(
                "--device gpu: TensorFlow sees no GPU on this machine "
                "(install the `tf` extra on a CUDA machine, or use "
                "--device cpu)"
            )
        overrides.extend(GPU_RECIPE)
    overrides.extend(args.override)
    if args.data_dir:
        overrides.append(f"data.data_dir={args.data_dir}")
    if args.budget_minutes is not None:
        overrides.append(f"training.max_minutes={args.budget_minutes}")
        overrides.append("training.epochs=1000")
    config = config.override(overrides)
    ensemble = None
    with tempfile.TemporaryDirectory() as workdir:
        train(config, workdir, verbose=2)
        test = evaluate(workdir, "test", verbose=0)
        with open(os.path.join(workdir, "metrics.json")) as f:
            metrics = json.load(f)
        if args.model in BOUNDS:
            ensemble = ensemble_nats(workdir, config)
        with open(os.path.join(workdir, "history.json")) as f:
            history = json.load(f)
        samples = None
        if args.samples_dir:
            from kerpix.training import sample

            os.makedirs(args.samples_dir, exist_ok=True)
            samples = os.path.join(args.samples_dir, f"{name}.png")
            shutil.copy(sample(workdir, verbose=0), samples)
        exported = export_parity(workdir, config) if args.export else None
    result = {
        "model": args.model,
        "dataset": args.dataset,
        "test_nats_per_image": round(test["test_nats_per_image"], 2),
        "test_bits_per_dim": round(test["test_bits_per_dim"], 4),
        "validation_bits_per_dim": round(metrics["validation_bits_per_dim"], 4),
        "paper_nats_per_image": PAPER.get((args.model, args.dataset)),
        "likelihood": (
            "upper bound (dequantized)" if args.model in BOUNDS else "exact"
        ),
        "test_ensemble_nats_per_image": ensemble,
        "train_minutes": round(metrics["train_seconds"] / 60, 1),
        # Validation NLL after each epoch against training time (plots).
        "validation_curve": {
            "seconds": history.get("seconds"),
            "nats_per_image": history["val_loss"],
        },
        "samples_png": samples and os.path.relpath(samples, ROOT),
        "export": exported,
        "epochs_run": metrics["epochs_run"],
        "budget_minutes": args.budget_minutes,
        "hardware": hardware(args.device),
        "versions": versions(),
        "commit": commit(),
        "command": " ".join(
            ["python", "benchmarks/likelihood.py"]
            + (argv if argv is not None else sys.argv[1:])
        ),
        "config": config.to_dict(),
    }
    path = os.path.join(args.output_dir, f"{name}.json")
    write_result(path, result)
    print(
        f"{args.model} on {args.dataset}: test "
        f"{result['test_nats_per_image']} nats/image, "
        f"{result['test_bits_per_dim']} bits/dim "
        f"(paper: {result['paper_nats_per_image']}) in "
        f"{result['train_minutes']} min on {result['hardware']} -> {path}"
    )
    return 0


def export_parity(workdir, config):
    """Export the run's model to SavedModel and ONNX, reload both and
    compare with Keras (`check_saved_model` / `check_onnx`: log_prob of 8
    test images within tolerance, samples on fixed noise equal, else an
    error); the max relative log_prob differences and export times."""
    import time

    from kerpix import data as kdata
    from kerpix import export
    from kerpix.training.train import load_model

    model = load_model(workdir)
    images = kdata.to_numpy(
        kdata.load(
            config.data.name,
            config.data.test_split,
            data_dir=config.data.data_dir,
            **in_memory_kwargs(config),
        ),
        limit=8,
    )
    out = {}
    for fmt, write, check in (
        ("saved_model", export.export_saved_model, export.check_saved_model),
        ("onnx", export.export_onnx, export.check_onnx),
    ):
        start = time.time()
        path = write(model, os.path.join(workdir, fmt))
        seconds = time.time() - start
        try:
            diff = check(model, path, images)
        except AssertionError as error:  # recorded, not hidden
            out[fmt] = {"parity": False, "error": str(error)}
            print(f"{fmt}: NO parity with Keras: {error}")
            continue
        out[fmt] = {
            "parity": True,
            "max_relative_log_prob_difference": float(diff),
            "samples_equal_on_fixed_noise": True,  # check_* raise if not
            "export_seconds": round(seconds, 1),
        }
        print(f"{fmt}: parity with Keras, max relative difference {diff:.2e}")
    return out


def in_memory_kwargs(config):
    """`kerpix.data.load`'s size arguments of in-memory datasets."""
    from kerpix import data as kdata

    d = config.data
    if d.name not in kdata.IN_MEMORY:
        return {}
    kwargs = {"image_shape": kdata.image_shape_of(d.name, d.image_shape)}
    if d.name == "dead_leaves":
        kwargs["num_grey_levels"] = d.num_grey_levels
    return kwargs


def write_result(path, result):
    """Write a benchmark's result dict to `path` as JSON (folders made)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=2, default=str)
        f.write("\n")


def run_comparison(models, dataset, budget_minutes, output_dir, command):
    """Run `main` for each model on the same data and budget; record
    `command` (the comparison script's) as each result's command; return
    `{model: result}`."""
    results = {}
    for model in models:
        main(
            [
                "--model",
                model,
                "--dataset",
                dataset,
                "--budget-minutes",
                str(budget_minutes),
                "--output-dir",
                output_dir,
            ]
        )
        path = os.path.join(output_dir, f"{model}-{dataset}.json")
        with open(path) as f:
            results[model] = json.load(f)
        results[model]["command"] = command
        write_result(path, results[model])
    return results


def ensemble_nats(workdir, config):
    """EoRIDE's test NLL bound (8 flips/transposes) of the run's model."""
    import numpy as np

    from kerpix import data
    from kerpix.training.train import load_model

    model = load_model(workdir)
    d = config.data
    images = np.concatenate(
        list(
            data.load(
                d.name,
                d.test_split,
                data_dir=d.data_dir,
                image_shape=d.image_shape,
                num_grey_levels=d.num_grey_levels,
                num_images=d.num_test,
            )
            .batch(1000)
            .as_numpy_iterator()
        )
    )
    return round(float(-model.ensemble_log_prob(images).mean()), 2)


def hardware(device="cpu"):
    if device == "gpu":
        names = gpu_names()
        return f"{len(names)} × GPU ({', '.join(sorted(set(names)))})"
    cores = os.cpu_count()
    name = platform.processor() or platform.machine()
    return f"CPU, {cores} cores ({name})"


def gpu_names():
    """Names of the GPUs TensorFlow sees (empty on a CPU machine)."""
    import tensorflow as tf

    return [
        tf.config.experimental.get_device_details(d).get("device_name", d.name)
        for d in tf.config.list_physical_devices("GPU")
    ]


def commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":
    sys.exit(main())
