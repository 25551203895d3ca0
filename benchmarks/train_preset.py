"""Train a shipped preset in segments that resume exactly, then package
it under saved_models/presets/NAME/ with its result JSON.

    python benchmarks/train_preset.py dead_leaves_pixel_cnn
    python benchmarks/train_preset.py binarized_mnist_row_lstm --minutes 90
    python benchmarks/train_preset.py binarized_mnist_row_lstm --package-only

Each preset's recipe (`RECIPES`) is a `kerpix train` command on a
training config. The run lives in saved_models/runs/NAME (ignored by
git). `--minutes M` trains one segment: `kerpix train` runs until M
minutes have passed and then to the end of the epoch in progress, and is
stopped there, so the run stays "running" with its end-of-epoch backup
and the next segment resumes it bit for bit. A recipe without
`segmented` trains to its end in one go.

Packaging (after training, or alone with `--package-only`) loads the
run's best checkpoint, scores the whole test split and a fixed slice of
it (its first `SLICE_SIZE` images, what the large test re-scores), and
writes:

- saved_models/presets/NAME/{config.json, model.weights.h5, metadata.json}
  (`kerpix.models.DensityModel.from_preset(NAME)` loads it);
- saved_models/presets/NAME/run/: what the next segment resumes from on a
  fresh clone (the run's config, history, backup and best checkpoint);
- benchmarks/results/preset-NAME.json: the test NLL, the validation curve,
  every segment (wall and CPU seconds, hardware, commit).

The RIDE / MCGSM recipes (`paper_schedule`) train in one go with the RIDE
paper's schedule, once per variant (model and schedule, `variants`) and
seed of its `seeds`: each training is a candidate under
saved_models/runs/NAME/MODEL/seed-N, and the one with the lowest
validation bound ships (every candidate's figures are in its metadata,
so a fresh clone trains only the candidates it does not list; the
shipped one is written back as its candidate). `--seed N` (and `--model
M`) trains one candidate only, so two can run at once, one per core:

    run="python benchmarks/train_preset.py natural_patches_ride"
    taskset -c 0 $run --seed 0 & taskset -c 1 $run --seed 1; wait
    $run  # the candidates still missing, then ships the best
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from likelihood import commit  # noqa: E402

ROOT = os.path.dirname(HERE)
RUNS = os.path.join(ROOT, "saved_models", "runs")
# The first test images every preset is re-scored on by the large suite.
SLICE_SIZE = 200
# name -> recipe: training config, overrides, what it is compared with.
RECIPES = {
    "dead_leaves_pixel_cnn": {
        "config": "dead_leaves_demo",
        "overrides": [],
        "description": "The `make demo` model: a PixelCNN (4 residual "
        "blocks, 32 feature maps) on 16×16 dead-leaves images of 16 grey "
        "levels, generated in code.",
    },
    "binarized_mnist_row_lstm": {
        "config": "binarized_mnist_row_lstm_pixel_rnn",
        "overrides": [
            "training.epochs=1000",
            "training.learning_rate_schedule=exponential",
            "training.learning_rate_decay=0.99998",
            "training.ema_decay=0.999",
            # Step decay after epoch 84 (500 steps each): at 0.43 of its
            # start the rate had left the validation loss falling by only
            # 0.012 nats/epoch; from step 42000 on it is × 0.3.
            "training.learning_rate_drops=[[42000,0.3]]",
        ],
        "segmented": True,
        "description": "Row LSTM PixelRNN (7 layers, h = 16) of the "
        "PixelRNN paper's binarized MNIST setting, trained on a 2-core "
        "CPU in resumable segments. Paper: Row LSTM 80.54, PixelCNN 81.30 "
        "nats/image (GPU, converged).",
        "paper_nats_per_image": {"row_lstm": 80.54, "pixel_cnn": 81.30},
    },
    "mnist_class_conditional_gated_pixel_cnn": {
        "config": "mnist_class_conditional_gated_pixel_cnn",
        "overrides": [],
        "description": "Class-conditional Gated PixelCNN (5 gated layers, "
        "32 feature maps, a learned per-class bias in every layer) on 8-bit "
        "MNIST (256 grey levels); sample it with one label per image.",
    },
    "rgb_patches_gated_pixel_cnn": {
        "config": "rgb_patches_gated_pixel_cnn",
        # 6 epochs of 200 steps: about 21 minutes on an idle 2-core CPU.
        "overrides": ["training.epochs=6"],
        "description": "Gated PixelCNN (5 gated layers, 48 feature maps) "
        "with a 256-way softmax per sub-pixel on rgb_patches: 32×32 colour "
        "patches of scikit-image's photographs (test: coffee), "
        "generated from the scikit-image wheel, no download.",
    },
    "rgb_patches_gated_pixel_cnn_logistic": {
        "config": "rgb_patches_gated_pixel_cnn_logistic",
        # 6 epochs of 200 steps: about 18 minutes on an idle 2-core CPU.
        "overrides": ["training.epochs=6"],
        "description": "Gated PixelCNN (5 gated layers, 48 feature maps) "
        "with PixelCNN++'s discretized logistic mixture head (10 "
        "components) on rgb_patches: 32×32 colour patches of "
        "scikit-image's photographs (test: coffee), generated from the "
        "scikit-image wheel, no download.",
    },
    # RIDE paper schedule (benchmarks/ride_comparison.py --schedule
    # paper): the natural-patches table's models, one budget each.
    "natural_patches_ride": {
        # Two variants, each with the SGD steps and L-BFGS iterations per
        # stage (patches 8..22) that the 20-minute budget gave it in the
        # run of the README's RIDE table, fixed: any machine trains the
        # same model, where a budget trains more steps on a faster one
        # (which here made the validation bound worse: 3.802 bits/px on
        # the test split). Every variant is trained once per seed of its
        # `seeds`; the lowest validation bound of all the candidates ships.
        "paper_schedule": {
            "dataset": "natural_patches",
            "budget_minutes": None,
            "variants": [
                {
                    # ride-natural_patches-paper.json: test 3.755 bits/px.
                    "model": "ride",
                    "max_steps": [2844, 1734, 1151, 1081, 857, 356, 356, 356],
                    "finetune_iterations": [21, 21, 20, 21, 31, 20, 26, 3],
                    "seeds": [0, 1, 2, 3],
                    "description": "RIDE (one spatial LSTM layer, 64 hidden "
                    "units, factorized MCGSM of 32 components × 4 scales) on "
                    "32×32 grey patches of scikit-image's photographs (test: "
                    "camera, coffee), trained with the RIDE paper's SGD "
                    "curriculum + L-BFGS. NLL is the dequantized upper bound.",
                },
                {
                    # ride_2_layers-natural_patches-paper.json: test 3.754
                    # bits/px, validation 3.632 (the 1-layer run: 3.648).
                    "model": "ride_2_layers",
                    "max_steps": [1710, 854, 719, 531, 389, 266, 253, 186],
                    "finetune_iterations": [22, 25, 24, 23, 31, 20, 19, 14],
                    "seeds": [0, 1],
                    "description": "RIDE (two spatial LSTM layers, 64 hidden "
                    "units each, factorized MCGSM of 32 components × 4 "
                    "scales) on 32×32 grey patches of scikit-image's "
                    "photographs (test: camera, coffee), trained with the "
                    "RIDE paper's SGD curriculum + L-BFGS. NLL is the "
                    "dequantized upper bound.",
                },
            ],
        },
        # Issue #27's bar for this preset (bound, bits/px).
        "target_bits_per_dim": 3.76,
    },
    "brick_ride": {
        "paper_schedule": {
            "model": "ride",
            "dataset": "brick_patches",
            # The paper's curriculum over 8..16-pixel tiles, cut to this
            # budget (a budget, not fixed steps: a faster machine trains
            # more; the steps it ran are in the JSON).
            "budget_minutes": 20,
        },
        "description": "RIDE (one spatial LSTM layer, 64 hidden units, "
        "factorized MCGSM of 32 components × 4 scales) on 16×16 patches "
        "of scikit-image's brick texture (upper half; test: rows "
        "320-511), trained with the RIDE paper's SGD curriculum + "
        "L-BFGS: texture synthesis at any size (`RIDE.resized`) and "
        "inpainting (`RIDE.complete`, `RIDE.inpaint`). NLL is the "
        "dequantized upper bound.",
        # The docs image: 48×48 textures from the 16×16-patch weights.
        "sample_shape": (48, 48, 1),
    },
    "natural_patches_mcgsm": {
        "paper_schedule": {
            "model": "mcgsm",
            "dataset": "natural_patches",
            # L-BFGS until validation early stopping (the reference's).
            "budget_minutes": None,
        },
        "description": "MCGSM (32 components × 4 scales, 32 features) on "
        "the natural patches of `natural_patches_ride`, trained by L-BFGS "
        "as the reference code trains it. NLL is the dequantized upper "
        "bound.",
    },
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=sorted(RECIPES))
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="segmented recipes: train this long (then to the end of the "
        "epoch in progress); default: to the recipe's end",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="RIDE paper-schedule recipes: replace the recipe's budget "
        "(a quick try; the shipped presets use the recipe's)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="RIDE paper-schedule recipes: train this seed's candidate "
        "only (no packaging), e.g. two seeds in parallel, one per core; "
        "the plain command then trains the seeds still missing and ships "
        "the one with the lowest validation bound",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="RIDE paper-schedule recipes with several variants: train "
        "this variant's candidates only (with --seed: that one)",
    )
    parser.add_argument(
        "--package-only",
        action="store_true",
        help="package the run's best checkpoint as it is now",
    )
    args = parser.parse_args(argv)
    recipe = RECIPES[args.name]
    workdir = os.path.join(RUNS, args.name)
    preset = os.path.join(ROOT, "saved_models", "presets", args.name)
    if "paper_schedule" in recipe:
        if args.package_only or args.minutes is not None:
            parser.error(
                f"{args.name} trains in one go (the RIDE paper's schedule): "
                "no --minutes or --package-only"
            )
        listed = variants(recipe)
        models = [spec["model"] for spec, _, _ in listed]
        if args.model is not None and args.model not in models:
            parser.error(
                f"--model {args.model}: {args.name} has the variants "
                f"{', '.join(models)}"
            )
        seeds = sorted({s for _, ss, _ in listed for s in ss})
        if args.seed is not None and args.seed not in seeds:
            parser.error(
                f"--seed {args.seed}: {args.name} trains the seeds "
                f"{', '.join(map(str, seeds))}"
            )
        train_and_package_paper(
            args.name,
            recipe,
            preset,
            args.budget_minutes,
            args.seed,
            args.model,
        )
        return 0
    if (
        args.seed is not None
        or args.budget_minutes is not None
        or args.model is not None
    ):
        parser.error(
            f"{args.name} trains by `kerpix train` segments: --seed, "
            "--model and --budget-minutes are for the RIDE paper-schedule "
            "recipes"
        )
    if not args.package_only:
        restore_run(preset, workdir)
        train_segment(recipe, workdir, args.minutes)
    package(args.name, recipe, workdir, preset)
    return 0


def train_command(recipe, workdir):
    command = [
        "kerpix",
        "train",
        f"--config={recipe['config']}",
        f"--workdir={os.path.relpath(workdir, ROOT)}",
        "--verbose=2",
    ]
    for override in recipe["overrides"]:
        command += ["--override", override]
    return command


def restore_run(preset, workdir):
    """On a fresh clone, start from the committed run of the preset."""
    saved = os.path.join(preset, "run")
    if os.path.isdir(workdir) or not os.path.isdir(saved):
        return
    shutil.copytree(saved, workdir)
    print(f"Restored the run from {os.path.relpath(saved, ROOT)}")


def train_segment(recipe, workdir, minutes):
    """Run `kerpix train`; with `minutes`, stop it at the first end of an
    epoch after them. Appends the segment to workdir/segments.json."""
    command = train_command(recipe, workdir)
    executable = os.path.join(os.path.dirname(sys.executable), "kerpix")
    start_epoch = epochs_done(workdir)
    started = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen([executable] + command[1:], cwd=ROOT)
    stopped = False
    at_deadline = None  # epochs done when the deadline passed
    while process.poll() is None:
        time.sleep(5)
        if minutes is None or time.time() - started < minutes * 60:
            continue
        if at_deadline is None:
            at_deadline = epochs_done(workdir)
        if epochs_done(workdir) > at_deadline:
            # The epoch in progress at the deadline ended: its backup is
            # written (or being written).
            epoch = epochs_done(workdir)
            while process.poll() is None and not backup_written(workdir, epoch):
                time.sleep(1)
            process.terminate()
            process.wait()
            stopped = True
    if process.returncode and not stopped:
        raise SystemExit(f"kerpix train failed ({process.returncode})")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    segment = {
        "command": " ".join(command),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "cpu_seconds": round(
            after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
            1,
        ),
        "epochs": [start_epoch, epochs_done(workdir)],
        "hardware": hardware(),
        "commit": commit(),
    }
    record_segment(workdir, segment)


def epochs_done(workdir):
    path = os.path.join(workdir, "history.json")
    if not os.path.isfile(path):
        return 0
    with open(path) as f:
        return len(json.load(f).get("val_loss", []))


def backup_written(workdir, epoch):
    path = os.path.join(workdir, "backup", "training_metadata.json")
    if not os.path.isfile(path):
        return False
    with open(path) as f:
        return json.load(f).get("epoch", 0) >= epoch


def record_segment(workdir, segment):
    path = os.path.join(workdir, "segments.json")
    segments = []
    if os.path.isfile(path):
        with open(path) as f:
            segments = json.load(f)
    segments.append(segment)
    with open(path, "w") as f:
        json.dump(segments, f, indent=2)
        f.write("\n")


def package(name, recipe, workdir, preset):
    import keras

    from kerpix.metrics import bits_per_dim
    from kerpix.training.train import load_config
    from kerpix.training.train import load_model
    from kerpix.training.train import versions

    config = load_config(workdir)
    model = load_model(workdir)
    d = config.data
    data_kwargs = in_memory(config)
    test = {"split": d.test_split, "num_images": d.num_test}
    part = slice_of(config)
    nats = {}
    for key, where in (("test", test), ("slice", part)):
        nats[key] = score(model, d, data_kwargs, **where)
        print(f"{name}: {where}: {nats[key]:.3f} nats/image")
    with open(os.path.join(workdir, "history.json")) as f:
        history = json.load(f)
    segments = []
    path = os.path.join(workdir, "segments.json")
    if os.path.isfile(path):
        with open(path) as f:
            segments = json.load(f)
    metadata = {
        "description": recipe["description"],
        "family": config.model.family,
        "family_kwargs": config.model.kwargs,
        "dataset": d.name,
        "test": test,
        "test_nats_per_image": round(nats["test"], 3),
        "test_bits_per_dim": round(
            float(bits_per_dim(nats["test"], model.image_shape)), 4
        ),
        "slice": part,
        "slice_nats_per_image": nats["slice"],
        "data_kwargs": data_kwargs,
        "paper_nats_per_image": recipe.get("paper_nats_per_image"),
        "epochs": len(history["val_loss"]),
        "training_seconds": history["seconds"][-1],
        "cpu_seconds": sum(s["cpu_seconds"] for s in segments) or None,
        "hardware": hardware(),
        "command": f"python benchmarks/train_preset.py {name}",
        "train_command": " ".join(train_command(recipe, workdir)),
        "training_config": config.to_dict(),
    }
    shutil.rmtree(preset, ignore_errors=True)
    model.save_to_preset(preset, **metadata)
    samples = sample_grid(name, model)
    if recipe.get("segmented"):
        keep_run(workdir, os.path.join(preset, "run"))
    from kerpix.models.presets import read_metadata

    result = dict(
        read_metadata(preset),
        preset=os.path.relpath(preset, ROOT),
        samples_png=os.path.relpath(samples, ROOT),
        validation_curve={
            "seconds": history["seconds"],
            "nats_per_image": history["val_loss"],
        },
        segments=segments,
        versions=versions(),
        keras_version=keras.__version__,
    )
    out = os.path.join(HERE, "results", f"preset-{name}.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=2, default=str)
        f.write("\n")
    print(f"Preset written to {os.path.relpath(preset, ROOT)}; {out}")


def train_and_package_paper(
    name, recipe, preset, budget_minutes=None, seed=None, model=None
):
    """Train a RIDE / MCGSM with the paper's schedule
    (`ride_comparison.train_paper`) once per variant and seed of the
    recipe (`variants`) that is neither a candidate under
    saved_models/runs/NAME/MODEL/seed-N nor one the shipped preset's
    selection records, then package the candidate with the lowest
    validation bound (`seed` / `model`: train that seed / variant only,
    no packaging, and also when the selection knows it only by its
    figures)."""
    restore_shipped(name, preset)
    explicit = seed is not None or model is not None
    for spec, s, description, record in candidates(
        name, recipe, preset, budget_minutes
    ):
        if model not in (None, spec["model"]) or seed not in (None, s):
            continue
        if record is None or (explicit and record["directory"] is None):
            train_paper_candidate(
                name, recipe, spec, description, s, budget_minutes
            )
    if not explicit:
        package_paper(name, recipe, preset, budget_minutes)


RESULT = "result.json"


def variants(recipe, budget_minutes=None):
    """The recipe's candidates as `(spec, seeds, description)`, one per
    entry of its `variants` (or the one `paper_schedule`): `spec` is the
    schedule a candidate trains with (its metadata's `schedule`), with
    `budget_minutes` in place of the recipe's budget when given."""
    shared = dict(recipe["paper_schedule"])
    out = []
    for variant in shared.pop("variants", [{}]):
        spec = dict(shared, **variant)
        seeds = spec.pop("seeds", [0])
        description = spec.pop("description", recipe.get("description"))
        if budget_minutes is not None:
            spec["budget_minutes"] = budget_minutes
        out.append((spec, seeds, description))
    return out


def candidate_dir(name, spec, seed):
    return os.path.join(RUNS, name, spec["model"], f"seed-{seed}")


def candidates(name, recipe, preset, budget_minutes=None):
    """Every candidate of the recipe as `(spec, seed, description,
    record)`: `record` holds the figures (`figures`) of one trained here,
    with its `directory`, or of one the shipped preset's selection lists,
    with `directory` None; it is None for one not trained."""
    from kerpix.models.presets import read_metadata

    known = shipped_candidates(preset)
    for spec, seeds, description in variants(recipe, budget_minutes):
        for s in seeds:
            directory = candidate_dir(name, spec, s)
            if trained(directory, spec):
                record = figures(read_metadata(directory))
                record["directory"] = directory
            else:
                record = next(
                    (
                        k
                        for k in known
                        if (k["schedule"], k["seed"]) == (spec, s)
                    ),
                    None,
                )
            yield spec, s, description, record


def trained(directory, spec):
    """Whether `directory` holds a candidate trained with `spec` (one of
    another schedule, e.g. a --budget-minutes try, is trained again, never
    shipped)."""
    from kerpix.models.presets import read_metadata

    return os.path.isfile(os.path.join(directory, RESULT)) and (
        read_metadata(directory).get("schedule") == spec
    )


def shipped_metadata(preset):
    """The shipped preset's metadata when a seeded paper-schedule training
    made it (None: nothing shipped, or trained before the seeded
    recipes)."""
    from kerpix.models.presets import read_metadata

    if not os.path.isfile(os.path.join(preset, "metadata.json")):
        return None
    metadata = read_metadata(preset)
    return metadata if {"schedule", "seed"} <= set(metadata) else None


def shipped_candidates(preset):
    """The candidates the shipped preset was chosen from, as recorded in
    its metadata (`selection`): their figures, so a fresh clone does not
    train them again. A record without a `schedule` has the shipped one."""
    metadata = shipped_metadata(preset)
    if metadata is None:
        return []
    listed = metadata.get("selection", {}).get("candidates") or [metadata]
    return [dict(figures(dict(metadata, **c)), directory=None) for c in listed]


def figures(metadata):
    """What the selection compares and records of one candidate."""
    return {
        "model": metadata["schedule"]["model"],
        "seed": metadata["seed"],
        "validation_bits_per_dim": metadata["validation_bits_per_dim"],
        "test_bits_per_dim": metadata["test_bits_per_dim"],
        "training_seconds": metadata["training_seconds"],
        "cpu_seconds": metadata["cpu_seconds"],
        "schedule": metadata["schedule"],
    }


def restore_shipped(name, preset):
    """Write the shipped preset back as its candidate folder (with its
    `result.json` from benchmarks/results) when it is not there, e.g. on a
    fresh clone, so it takes part in the next selection with its weights."""
    out = os.path.join(HERE, "results", f"preset-{name}.json")
    metadata = shipped_metadata(preset)
    if metadata is None or not os.path.isfile(out):
        return
    directory = candidate_dir(name, metadata["schedule"], metadata["seed"])
    if os.path.isfile(os.path.join(directory, RESULT)):
        return
    with open(out) as f:
        shipped = json.load(f)
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(preset, directory)
    metadata.pop("selection", None)
    with open(os.path.join(directory, "metadata.json"), "w") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")
    with open(os.path.join(directory, RESULT), "w") as f:
        json.dump(
            {k: shipped[k] for k in ("result", "started", "commit")},
            f,
            indent=2,
            default=str,
        )
        f.write("\n")


def train_paper_candidate(
    name, recipe, spec, description, seed, budget_minutes=None
):
    """One training of a paper-schedule variant (`spec`) on `seed`,
    written as a preset folder (plus `result.json`) under
    saved_models/runs/NAME/MODEL/seed-N."""
    import ride_comparison

    from kerpix.metrics import bits_per_dim
    from kerpix.models.presets import score_images

    command = f"python benchmarks/train_preset.py {name}"
    if budget_minutes is not None:
        command += f" --budget-minutes {budget_minutes}"
    started = time.time()
    before = resource.getrusage(resource.RUSAGE_SELF)
    run = ride_comparison.train_paper(
        spec["model"],
        spec["dataset"],
        spec["budget_minutes"],
        max_steps=spec.get("max_steps"),
        finetune_iterations=spec.get("finetune_iterations", 500),
        seed=seed,
    )
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = after.ru_utime + after.ru_stime
    cpu_seconds -= before.ru_utime + before.ru_stime
    result = ride_comparison.paper_result(
        run, spec["budget_minutes"], None, command
    )
    model = run["model"]
    shape = list(model.image_shape)
    test = {"split": "test", "num_images": None}
    part = {"split": "test", "num_images": SLICE_SIZE}
    slice_nats = score_images(model, run["splits"]["test"][:SLICE_SIZE])
    kwargs = {
        key: model.get_config()[key]
        for key in (
            "num_layers",
            "num_hiddens",
            "num_components",
            "num_scales",
            "num_features",
        )
        if spec["model"] != "mcgsm" or key not in ("num_layers", "num_hiddens")
    }
    metadata = {
        "description": description,
        "family": "mcgsm" if spec["model"] == "mcgsm" else "ride",
        "family_kwargs": kwargs,
        "dataset": spec["dataset"],
        "test": test,
        "test_nats_per_image": result["test_nats_per_image"],
        "test_bits_per_dim": round(
            float(bits_per_dim(result["test_nats_per_image"], shape)), 4
        ),
        "test_ensemble_bits_per_dim": result["test_ensemble_bits_per_dim"],
        "validation_bits_per_dim": result["validation_bits_per_dim"],
        "likelihood": result["likelihood"],
        "slice": part,
        "slice_nats_per_image": slice_nats,
        "data_kwargs": {"image_shape": shape},
        "target_bits_per_dim": recipe.get("target_bits_per_dim"),
        "epochs": result["epochs_run"],
        "seed": seed,
        "training_seconds": round(run["train_minutes"] * 60, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "hardware": hardware(),
        "command": command,
        "train_command": command,
        "training_recipe": result["recipe"],
        "schedule": spec,
    }
    directory = candidate_dir(name, spec, seed)
    shutil.rmtree(directory, ignore_errors=True)
    model.save_to_preset(directory, **metadata)
    with open(os.path.join(directory, RESULT), "w") as f:
        json.dump(
            {
                "result": result,
                "started": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)
                ),
                "commit": commit(),
            },
            f,
            indent=2,
            default=str,
        )
        f.write("\n")
    print(
        f"{name} {spec['model']} seed {seed}: validation "
        f"{result['validation_bits_per_dim']} bits/px, test "
        f"{metadata['test_bits_per_dim']} bits/px; candidate written to "
        f"{os.path.relpath(directory, ROOT)}"
    )


def package_paper(name, recipe, preset, budget_minutes=None):
    """Ship the candidate (every variant and seed of the recipe) with the
    lowest validation bound (the test split plays no part in the choice)
    as the preset, with every candidate's figures in its metadata and
    result JSON."""
    import keras

    from kerpix.models import DensityModel
    from kerpix.models.presets import read_metadata

    records = []
    for spec, s, _, record in candidates(name, recipe, preset, budget_minutes):
        if record is None:
            raise ValueError(
                f"{name}: candidate {spec['model']} seed {s} is not "
                f"trained; run `python benchmarks/train_preset.py {name} "
                f"--model {spec['model']} --seed {s}`"
            )
        records.append(record)
    records.sort(key=lambda c: c["validation_bits_per_dim"])
    best = records[0]
    if best["directory"] is None:
        raise ValueError(
            f"{name}: the best candidate ({best['model']} seed "
            f"{best['seed']}) is known only by its figures; train it again "
            f"with `python benchmarks/train_preset.py {name} --model "
            f"{best['model']} --seed {best['seed']}`"
        )
    directory = best["directory"]
    metadata = read_metadata(directory)
    with open(os.path.join(directory, RESULT)) as f:
        extra = json.load(f)
    metadata["selection"] = {
        "rule": "lowest validation bound of the candidates (one training "
        "per variant and seed; the test split plays no part in the "
        "choice)",
        "model": best["model"],
        "seed": best["seed"],
        "candidates": [
            {k: v for k, v in c.items() if k != "directory"}
            for c in sorted(records, key=lambda c: (c["model"], c["seed"]))
        ],
        "cpu_seconds": round(sum(c["cpu_seconds"] for c in records), 1),
    }
    model = DensityModel.from_preset(directory)
    shutil.rmtree(preset, ignore_errors=True)
    model.save_to_preset(preset, **metadata)
    samples = sample_grid(name, model)
    out = os.path.join(HERE, "results", f"preset-{name}.json")
    with open(out, "w") as f:
        json.dump(
            dict(
                read_metadata(preset),
                preset=os.path.relpath(preset, ROOT),
                samples_png=os.path.relpath(samples, ROOT),
                result=extra["result"],
                started=extra["started"],
                commit=extra["commit"],
                keras_version=keras.__version__,
            ),
            f,
            indent=2,
            default=str,
        )
        f.write("\n")
    print(
        f"{name}: {best['model']} seed {best['seed']} of {len(records)} "
        f"(lowest validation bound), test {metadata['test_bits_per_dim']} "
        f"bits/px ({metadata['test_nats_per_image']} nats/image); preset "
        f"written to {os.path.relpath(preset, ROOT)}; {out}"
    )


def sample_grid(name, model):
    """16 samples (class-conditional: 10 per class row) on seed 0 as
    docs/images/presets/NAME.png; a recipe's `sample_shape` samples a
    resized RIDE (texture synthesis larger than the training patches)."""
    import numpy as np

    from kerpix.utils.image_grid import save_image_grid

    shape = RECIPES[name].get("sample_shape")
    if shape is not None:
        model = model.resized(shape)
    count = 10 * model.num_classes if model.num_classes else 16
    labels = np.arange(count) % model.num_classes if model.num_classes else None
    images = model.sample(count, seed=0, conditional_input=labels, verbose=0)
    path = os.path.join(ROOT, "docs", "images", "presets", f"{name}.png")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return save_image_grid(
        path, images, model.num_levels, columns=model.num_classes
    )


def keep_run(workdir, target):
    """The files a later segment resumes from (the backup, the best
    checkpoint, the history, the config and run state)."""
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    for name in (
        "config.json",
        "history.json",
        "run_state.json",
        "segments.json",
        "model.keras",
        "metrics.json",
    ):
        if os.path.isfile(os.path.join(workdir, name)):
            shutil.copy(os.path.join(workdir, name), target)
    if os.path.isdir(os.path.join(workdir, "backup")):
        shutil.copytree(
            os.path.join(workdir, "backup"), os.path.join(target, "backup")
        )


def in_memory(config):
    """`kerpix.data.load`'s shape arguments of in-memory datasets."""
    from kerpix import data as kdata

    d = config.data
    if d.name not in kdata.IN_MEMORY:
        return {}
    kwargs = {"image_shape": list(kdata.image_shape_of(d.name, d.image_shape))}
    if d.name == "dead_leaves":
        kwargs["num_grey_levels"] = d.num_grey_levels
    return kwargs


def slice_of(config):
    """The test images the large suite re-scores: the first `SLICE_SIZE`
    of the test split."""
    from kerpix import data as kdata

    d = config.data
    if d.name in kdata.IN_MEMORY:
        return {"split": d.test_split, "num_images": SLICE_SIZE}
    return {"split": f"{d.test_split}[:{SLICE_SIZE}]", "num_images": None}


def score(model, d, data_kwargs, split, num_images):
    """Mean NLL in nats/image of `model` on a split, given the labels of
    a class-conditional model (the large test repeats it on the slice with
    the same `score_images`)."""
    from kerpix import data as kdata
    from kerpix.models.presets import score_images

    images, labels = kdata.load_numpy(
        d.name,
        split,
        data_dir=d.data_dir,
        with_labels=bool(model.num_classes),
        num_images=num_images,
        **data_kwargs,
    )
    return score_images(model, images, labels)


def hardware():
    cores, used = os.cpu_count(), len(os.sched_getaffinity(0))
    share = f"{used} of {cores}" if used < cores else f"{cores}"
    return f"CPU, {share} cores ({platform.machine()})"


if __name__ == "__main__":
    sys.exit(main())
