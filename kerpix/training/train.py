"""`train`, `evaluate` and `sample` over a run directory (`workdir`)."""

import json
import os
import platform
import time

import keras
import numpy as np

from kerpix import data as kdata
from kerpix.metrics import bits_per_dim
from kerpix.models.families import build_model
from kerpix.training.callbacks import TimeBudget
from kerpix.training.config import TrainConfig
from kerpix.utils.image_grid import save_image_grid

MODEL_FILE = "model.keras"


def train(config, workdir, verbose="auto"):
    """Train the config's model; write the run into `workdir`.

    Writes `config.json` (resolved, defaults included), `versions.json`,
    `model.keras` (best validation bits/dim), `history.json` and
    `metrics.json` (final train and validation numbers).

    Returns:
        The trained `ImageDensityModel` (best validation weights).
    """
    os.makedirs(workdir, exist_ok=True)
    _write_json(workdir, "config.json", config.to_dict())
    _write_json(workdir, "versions.json", versions())
    keras.utils.set_random_seed(config.training.seed)

    train_ds = _dataset(config, "train").shuffle(
        10000, seed=config.training.seed
    )
    valid_ds = _dataset(config, "validation")
    batch = config.training.batch_size
    model = make_model(config)
    model.compile(
        optimizer=keras.optimizers.Adam(config.training.learning_rate),
        jit_compile=config.training.jit_compile,
    )
    checkpoint = os.path.join(workdir, MODEL_FILE)
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            checkpoint,
            monitor="val_bits_per_dim",
            mode="min",
            save_best_only=True,
        )
    ]
    if config.training.max_minutes is not None:
        callbacks.append(TimeBudget(config.training.max_minutes))
    start = time.time()
    history = model.fit(
        train_ds.batch(batch).prefetch(2),
        validation_data=valid_ds.batch(batch).prefetch(2),
        epochs=config.training.epochs,
        steps_per_epoch=config.training.steps_per_epoch,
        callbacks=callbacks,
        verbose=verbose,
    )
    seconds = time.time() - start
    history = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    _write_json(workdir, "history.json", history)
    best = int(np.argmin(history["val_bits_per_dim"]))
    _update_metrics(
        workdir,
        {
            "train_seconds": round(seconds, 1),
            "epochs_run": len(history["val_bits_per_dim"]),
            "best_epoch": best + 1,
            "validation_bits_per_dim": history["val_bits_per_dim"][best],
            "validation_nats_per_image": history["val_loss"][best],
        },
    )
    return keras.saving.load_model(checkpoint)


def evaluate(workdir, split="test", verbose="auto"):
    """Evaluate the run's best model on `split`; update `metrics.json`."""
    config = load_config(workdir)
    model = load_model(workdir)
    model.compile(jit_compile=config.training.jit_compile)
    ds = _dataset(config, "test" if split == "test" else split)
    result = model.evaluate(
        ds.batch(config.training.batch_size),
        return_dict=True,
        verbose=verbose,
    )
    nats = float(result["loss"])
    metrics = {
        f"{split}_nats_per_image": nats,
        f"{split}_bits_per_dim": float(bits_per_dim(nats, model.image_shape)),
        "uniform_bits_per_dim": float(np.log2(model.num_levels)),
    }
    _update_metrics(workdir, metrics)
    return metrics


def sample(
    workdir,
    num_samples=None,
    seed=None,
    temperature=None,
    method="cached",
    verbose="auto",
):
    """Sample from the run's model; write `samples.png` and `samples.npy`."""
    config = load_config(workdir)
    model = load_model(workdir)
    s = config.sampling
    num_samples = num_samples or s.num_samples
    labels = None
    if model.num_classes:
        # Class-conditional: cycle through the classes, one per column.
        labels = np.arange(num_samples) % model.num_classes
    images = model.sample(
        num_samples,
        seed=s.seed if seed is None else seed,
        temperature=s.temperature if temperature is None else temperature,
        conditional_input=labels,
        method=method,
        verbose=verbose,
    )
    np.save(os.path.join(workdir, "samples.npy"), images)
    return save_image_grid(
        os.path.join(workdir, "samples.png"),
        images,
        model.num_levels,
        columns=model.num_classes,
    )


def make_model(config):
    name = config.data.name
    image_shape = kdata.image_shape_of(name, config.data.image_shape)
    return build_model(
        config.model.family,
        image_shape,
        kdata.num_levels_of(name),
        **config.model.kwargs,
    )


def load_config(workdir):
    path = os.path.join(workdir, "config.json")
    if not os.path.isfile(path):
        raise ValueError(
            f"Invalid value for argument `workdir`: no config.json in "
            f"{workdir!r}. Run `kerpix train --workdir={workdir}` first."
        )
    with open(path) as f:
        return TrainConfig.from_dict(json.load(f))


def load_model(workdir):
    path = os.path.join(workdir, MODEL_FILE)
    if not os.path.isfile(path):
        raise ValueError(
            f"Invalid value for argument `workdir`: no {MODEL_FILE} in "
            f"{workdir!r}. Run `kerpix train --workdir={workdir}` first."
        )
    try:
        return keras.saving.load_model(path)
    except Exception as error:
        raise ValueError(
            f"Could not load the model file {path!r}; it may be corrupt or "
            f"from another kerpix version ({type(error).__name__}: {error})."
        ) from error


def versions():
    import tensorflow as tf

    from kerpix.version import __version__

    return {
        "kerpix": __version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "backend": keras.backend.backend(),
        "machine": platform.machine(),
    }


def _dataset(config, split):
    d = config.data
    split_name = {
        "train": d.train_split,
        "validation": d.validation_split,
        "test": d.test_split,
    }.get(split, split)
    kwargs = {}
    if d.name == "dead_leaves":
        kwargs["image_shape"] = d.image_shape
        kwargs["num_grey_levels"] = d.num_grey_levels
        kwargs["num_images"] = {
            "train": d.num_train,
            "validation": d.num_validation,
            "test": d.num_test,
        }.get(split)
    else:
        kwargs["data_dir"] = d.data_dir
    if config.model.kwargs.get("num_classes"):
        kwargs["with_labels"] = True  # class-conditional: (image, label)
    return kdata.load(d.name, split_name, **kwargs)


def _write_json(workdir, name, content):
    with open(os.path.join(workdir, name), "w") as f:
        json.dump(content, f, indent=2, default=str)
        f.write("\n")


def _update_metrics(workdir, metrics):
    path = os.path.join(workdir, "metrics.json")
    current = {}
    if os.path.isfile(path):
        with open(path) as f:
            current = json.load(f)
    current.update(metrics)
    _write_json(workdir, "metrics.json", current)
