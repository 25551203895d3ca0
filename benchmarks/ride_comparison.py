"""MCGSM vs RIDE (1 and 2 spatial LSTM layers) vs EoRIDE, same data and
time budget (the RIDE paper's comparison).

    python benchmarks/ride_comparison.py --dataset natural_patches \
        --schedule paper --budget-minutes 30
    python benchmarks/ride_comparison.py --budget-minutes 5
    python benchmarks/ride_comparison.py --dataset mnist --models mcgsm ride \
        --budget-minutes 5

Trains each model one after the other on the same data, splits and
wall-clock budget, then prints their test NLL bounds side by side with
EoRIDE (each RIDE model averaged over the 8 flips and transposes of the
test images). Every NLL is an upper bound on the discrete NLL of the
8-bit (or 16-level) images: the models are densities of dequantized
values `y = (x + u) / levels`, `u ~ U[0, 1)`.

Schedules:

- `paper` (`kerpix.training.train_ride`): the reference code's SGD
  (momentum 0.9, batch 50, learning rates 1 ... 0.0005 of the mean NLL per
  pixel) over patch sizes 8, 10, ..., 22 (those that fit the images),
  mirrored training images, L-BFGS fine-tuning of the MCGSM after every
  stage; the budget is shared equally among the stages, and a stage that
  makes the validation bound worse is undone (training goes on with the
  next stage instead of stopping, so that no budget is left unused). The
  plain MCGSM is trained as the reference code trains it
  (`experiments/mcgsm/train.py`, `kerpix.training.train_mcgsm`): L-BFGS
  on 10^6 pixels with validation early stopping, within the same budget.
  Results: `benchmarks/results/<model>-<dataset>-paper.json`.
- `adam` (`benchmarks/likelihood.py` with the dataset's presets): Adam on
  whole images, best validation epoch. Results: `<model>-<dataset>.json`.

For natural patches the JSON also has the paper's unit, the average log
density of the dequantized values in bits per pixel (`y` in [0, 1), higher
is better): `8 - bound bits/px`.
"""

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import likelihood  # noqa: E402

MODELS = ("mcgsm", "ride", "ride_2_layers")
LAYERS = {"mcgsm": 0, "ride": 1, "ride_2_layers": 2, "ride_frozen": 1}
# `--schedule paper` only: the diagnostic of a RIDE whose spatial LSTM
# keeps its random initial weights, with only its MCGSM fitted (by L-BFGS,
# exactly as the plain MCGSM is): how much a fitted head gets from
# untrained hidden states.
DIAGNOSTIC = ("ride_frozen",)
DATASETS = ("dead_leaves", "natural_patches", "brick_patches", "mnist")
# `--schedule paper`: each dataset's images as `kerpix.data.load` takes
# them (the splits of the dataset's presets).
PAPER_DATA = {
    "natural_patches": {"image_shape": (32, 32, 1)},
    "brick_patches": {"image_shape": (16, 16, 1)},
    "dead_leaves": {
        "image_shape": (16, 16, 1),
        "num_grey_levels": 16,
        "num_images": {"train": 8000, "validation": 1000, "test": 1000},
    },
    "mnist": {"splits": ("train[:55000]", "train[55000:]", "test")},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget-minutes", type=float, required=True)
    parser.add_argument("--dataset", default="dead_leaves", choices=DATASETS)
    parser.add_argument(
        "--models", nargs="+", default=MODELS, choices=MODELS + DIAGNOSTIC
    )
    parser.add_argument("--schedule", default="adam", choices=("adam", "paper"))
    parser.add_argument("--output-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    if args.budget_minutes <= 0:
        parser.error("--budget-minutes must be positive")
    command = " ".join(
        ["python", "benchmarks/ride_comparison.py"]
        + (argv if argv is not None else sys.argv[1:])
    )
    if args.schedule == "paper":
        results = {
            model: run_paper(
                model,
                args.dataset,
                args.budget_minutes,
                args.output_dir,
                command,
            )
            for model in args.models
        }
    else:
        missing = [
            m
            for m in args.models
            if (m, args.dataset) not in likelihood.PRESETS
        ]
        if missing:
            parser.error(f"no {args.dataset} recipe for {', '.join(missing)}")
        if set(args.models) & set(DIAGNOSTIC):
            parser.error("ride_frozen runs with --schedule paper only")
        results = likelihood.run_comparison(
            args.models,
            args.dataset,
            args.budget_minutes,
            args.output_dir,
            command,
        )
    first = results[args.models[0]]
    nats_to_bits = first["test_bits_per_dim"] / first["test_nats_per_image"]
    print(
        f"\n{args.dataset}, schedule {args.schedule}, {args.budget_minutes} "
        f"min each, {first['hardware']} (test NLL upper bounds; bits per "
        f"pixel = nats / ({round(1 / (nats_to_bits * math.log(2)))} pixels "
        "· ln 2))"
    )
    print(f"{'model':<26}{'nats/image':>11}{'bits/px':>9}{'epochs':>8}")
    for model in args.models:
        r = results[model]
        rows = [(model, r["test_nats_per_image"], r["epochs_run"])]
        if LAYERS[model]:
            rows.append(
                (f"EoRIDE ({model})", r["test_ensemble_nats_per_image"], "")
            )
        for name, nats, epochs in rows:
            print(
                f"{name:<26}{nats:>11.2f}{nats * nats_to_bits:>9.4f}"
                f"{epochs!s:>8}"
            )
    return 0


def load_split(dataset, split):
    """`split` of `dataset` as a NumPy array (the paper-schedule data)."""
    from kerpix import data

    spec = PAPER_DATA[dataset]
    if "splits" in spec:  # file-backed: MNIST
        index = ("train", "validation", "test").index(split)
        ds = data.load(dataset, spec["splits"][index])
    else:
        kwargs = {"image_shape": spec["image_shape"]}
        if "num_grey_levels" in spec:
            kwargs["num_grey_levels"] = spec["num_grey_levels"]
        if "num_images" in spec:
            kwargs["num_images"] = spec["num_images"][split]
        ds = data.load(dataset, split, **kwargs)
    images = data.to_numpy(ds)
    levels = spec.get("num_grey_levels", 256)
    if levels != 256:  # the generator's levels, as integers 0..levels-1
        images = (images.astype("int32") * levels) // 256
    return images.astype("int32"), levels


def run_paper(model_name, dataset, budget_minutes, output_dir, command):
    """Train `model_name` with `train_ride` within the budget; evaluate on
    the test split; write and return the result dict."""
    run = train_paper(model_name, dataset, budget_minutes)
    return paper_result(run, budget_minutes, output_dir, command)


def train_paper(
    model_name,
    dataset,
    budget_minutes,
    verbose=2,
    max_steps=None,
    finetune_iterations=500,
    seed=0,
):
    """`model_name` (`LAYERS`) trained on `dataset` with the paper's
    schedule within `budget_minutes` (`None`: no deadline; `max_steps` and
    `finetune_iterations`, per stage, then fix the training on any
    machine: see `train_ride`). `seed` fixes the initial weights, the
    tiles and the dequantization noise (on one kind of CPU: another
    one's float rounding still makes the runs part). Returns a dict:
    `model`, its training `report`, the `recipe` in words, `splits` (the
    integer train, validation and test images), `seed` and
    `train_minutes`."""
    import keras
    import numpy as np

    from kerpix.models import MCGSM
    from kerpix.models import RIDE
    from kerpix.training import train_mcgsm
    from kerpix.training import train_ride
    from kerpix.training.ride_training import PAPER_STAGES

    train, levels = load_split(dataset, "train")
    validation, _ = load_split(dataset, "validation")
    test, _ = load_split(dataset, "test")
    image_shape = test.shape[1:]
    stages = [s for s in PAPER_STAGES if s[0] <= min(image_shape[:2])]
    head = {"num_components": 32, "num_scales": 4, "num_features": 32}
    keras.utils.set_random_seed(seed)  # the initial weights
    if LAYERS[model_name] == 0:
        model = MCGSM(image_shape, num_levels=levels, **head)
    else:
        model = RIDE(
            image_shape,
            num_levels=levels,
            num_layers=LAYERS[model_name],
            num_hiddens=64,
            **head,
        )
    start = time.monotonic()
    if LAYERS[model_name] == 0 or model_name in DIAGNOSTIC:
        # The reference code's MCGSM recipe (experiments/mcgsm/train.py):
        # L-BFGS on 10^6 pixels with validation early stopping.
        history = train_mcgsm(
            model,
            train,
            validation,
            max_minutes=budget_minutes,
            seed=seed,
            verbose=min(verbose, 1),
        )
        report = [
            {
                "patch": image_shape[0],
                "learning_rate": None,
                "sgd_steps": 0,
                "finetune": history,
                "validation_nll": float(-np.mean(model.log_prob(validation))),
                "seconds": history["seconds"],
                "kept": True,
            }
        ]
        recipe = "L-BFGS on the MCGSM (reference experiments/mcgsm/train.py)"
    else:
        report = train_ride(
            model,
            train,
            validation,
            stages=stages,
            max_minutes=budget_minutes,
            max_steps=max_steps,
            finetune_iterations=finetune_iterations,
            finetune_images=2000,
            on_worse="undo",
            seed=seed,
            verbose=verbose,
        )
        recipe = (
            "train_ride: SGD curriculum + L-BFGS after each stage "
            "(reference experiments/train.py)"
        )
    return {
        "model_name": model_name,
        "dataset": dataset,
        "model": model,
        "report": report,
        "recipe": recipe,
        "splits": {"train": train, "validation": validation, "test": test},
        "seed": seed,
        "train_minutes": (time.monotonic() - start) / 60,
    }


def paper_result(run, budget_minutes, output_dir, command):
    """Evaluate the model of a `train_paper` run on the test split; write
    the result dict under `output_dir` (unless `None`) and return it."""
    import numpy as np

    from kerpix.metrics import bits_per_dim
    from kerpix.training.train import versions

    model_name, dataset, model, report, recipe = (
        run[key]
        for key in ("model_name", "dataset", "model", "report", "recipe")
    )
    train, validation, test = (
        run["splits"][key] for key in ("train", "validation", "test")
    )
    image_shape = test.shape[1:]
    levels = model.num_levels
    train_minutes = run["train_minutes"]
    test_nats = float(-np.mean(model.log_prob(test)))
    ensemble_nats = float(-np.mean(model.ensemble_log_prob(test)))
    validation_nats = min(
        [s["validation_nll"] for s in report if s["kept"]]
        or [float(-np.mean(model.log_prob(validation)))]
    )
    bound_bits = bits_per_dim(test_nats, image_shape)
    result = {
        "model": model_name,
        "dataset": dataset,
        "schedule": "paper",
        "recipe": recipe,
        "test_nats_per_image": round(test_nats, 2),
        "test_bits_per_dim": round(bound_bits, 4),
        "test_ensemble_nats_per_image": round(ensemble_nats, 2),
        "test_ensemble_bits_per_dim": round(
            bits_per_dim(ensemble_nats, image_shape), 4
        ),
        # The paper's unit: mean log2 density per pixel of y in [0, 1).
        "test_density_bits_per_pixel": round(math.log2(levels) - bound_bits, 4),
        "validation_bits_per_dim": round(
            bits_per_dim(validation_nats, image_shape), 4
        ),
        "likelihood": "upper bound (dequantized)",
        "image_shape": list(image_shape),
        "num_levels": levels,
        "splits": {
            "train": len(train),
            "validation": len(validation),
            "test": len(test),
        },
        "train_minutes": round(train_minutes, 1),
        "epochs_run": len(report),  # stages of the curriculum
        "stages": [
            {
                "patch": s["patch"],
                "learning_rate": s["learning_rate"],
                "sgd_steps": s["sgd_steps"],
                "finetune_iterations": (
                    len(s["finetune"]["train_nll"]) if s["finetune"] else 0
                ),
                "validation_nats_per_image": round(s["validation_nll"], 2),
                "seconds": round(s["seconds"], 1),
                "kept": s["kept"],
            }
            for s in report
        ],
        "validation_curve": {
            "seconds": [round(s["seconds"], 1) for s in report],
            "nats_per_image": [round(s["validation_nll"], 2) for s in report],
        },
        "budget_minutes": budget_minutes,
        "seed": run.get("seed", 0),
        "hardware": likelihood.hardware(),
        "versions": versions(),
        "commit": likelihood.commit(),
        "command": command,
        "model_config": model.get_config(),
    }
    if output_dir is None:
        return result
    path = os.path.join(output_dir, f"{model_name}-{dataset}-paper.json")
    likelihood.write_result(path, result)
    print(
        f"{model_name} on {dataset} (paper schedule): test "
        f"{result['test_nats_per_image']} nats/image, "
        f"{result['test_bits_per_dim']} bits/px bound, EoRIDE "
        f"{result['test_ensemble_nats_per_image']} -> {path}",
        flush=True,
    )
    return result


if __name__ == "__main__":
    sys.exit(main())
