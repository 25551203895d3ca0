"""`train`, `evaluate` and `sample` over a run directory (`workdir`)."""

import contextlib
import json
import os
import platform
import shutil
import tempfile
import time

import keras
import numpy as np

import kerpix.training.distribute as distribute
from kerpix import data as kdata
from kerpix.metrics import bits_per_dim
from kerpix.models.families import build_model
from kerpix.models.inputs import prepare_training_data
from kerpix.schedules import LearningRateDrops
from kerpix.schedules import validate_drops
from kerpix.training.callbacks import Backup
from kerpix.training.callbacks import HistoryLogger
from kerpix.training.callbacks import SampleGrid
from kerpix.training.callbacks import TimeBudget
from kerpix.training.config import TrainConfig
from kerpix.utils.grappler import without_grappler_remapper
from kerpix.utils.image_grid import save_image_grid
from kerpix.utils.validation import validate_positive_int
from kerpix.version import __version__

MODEL_FILE = "model.keras"
# {"status": "running" | "finished"}: tells an interrupted run from a done one.
RUN_STATE = "run_state.json"


def train(config, workdir, verbose="auto", restart=False):
    """Train the config's model; write the run into `workdir`.

    Builds and compiles the model inside the configured distribution
    strategy's scope (`kerpix.training.distribute`), with global batches of
    `training.batch_size × replicas`. Writes `config.json` (resolved,
    defaults included), `versions.json`, `model.keras` (best validation
    bits/dim; EMA weights when `training.ema_decay` is set),
    `history.json`, `metrics.json`, TensorBoard logs in `logs/` and
    optional sample grids in `samples/`.

    A run killed before it finished resumes from its backup
    (`workdir/backup`, written every epoch) when started again with the
    same config: same weights, optimizer state, epoch and data order, so
    it ends with the weights of an uninterrupted run. An unreadable or
    missing backup of an interrupted run is an error unless `restart`.

    Args:
        config: a `TrainConfig`.
        workdir: str. The run's folder.
        verbose: Keras verbosity (`"auto"`, 0, 1 or 2).
        restart: bool. Discard any backup and train from scratch.

    Returns:
        The trained `ImageDensityModel` (best validation weights).
    """
    with without_grappler_remapper():
        return _train(config, workdir, verbose, restart)


def _train(config, workdir, verbose, restart):
    """strategy -> run folder -> data -> model -> callbacks -> loop."""
    t = config.training
    _validate_training(t)
    strategy = _strategy(t)
    run = _open_run(config, workdir, restart)
    keras.utils.set_random_seed(t.seed)
    data = _training_data(config, strategy, run.initial_epoch)
    model = _compiled_model(config, strategy, data)
    callbacks = _callbacks(config, run, strategy)
    start = time.time()
    fit_epochs(model, strategy, data, callbacks, t.epochs, run, verbose)
    return _finish(config, run, model, data, time.time() - start)


class _Run:
    """A run's folder (a temporary one on non-chief workers), its backup
    folder and the epochs an interrupted run already trained."""

    def __init__(self, run_dir, initial_epoch, chief):
        self.dir = run_dir
        self.backup_dir = os.path.join(run_dir, "backup")
        self.checkpoint = os.path.join(run_dir, MODEL_FILE)
        self.initial_epoch = initial_epoch
        self.chief = chief


class _TrainingData:
    """The training split in memory, its endless global batches (from the
    resume point) and the validation batches."""

    def __init__(self, arrays, train, validation, global_batch, steps):
        self.arrays = arrays
        self.train = train
        self.validation = validation
        self.global_batch = global_batch
        self.steps_per_epoch = steps


def _strategy(t):
    """The configured `tf.distribute` strategy (CPU split, determinism)."""
    if t.logical_cpus:
        distribute.split_cpu(t.logical_cpus)
    if t.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return distribute.get_strategy(t.strategy)


def _open_run(config, workdir, restart):
    """The run folder, marked running, with the config and versions."""
    chief = distribute.is_chief()
    run_dir = workdir if chief else tempfile.mkdtemp(prefix="kerpix-worker-")
    os.makedirs(run_dir, exist_ok=True)
    backup_dir = os.path.join(run_dir, "backup")
    t = config.training
    initial_epoch = _resume_point(run_dir, backup_dir, t.backup, restart)
    _write_json(run_dir, RUN_STATE, {"status": "running"})
    _write_json(run_dir, "config.json", config.to_dict())
    _write_json(run_dir, "versions.json", versions())
    return _Run(run_dir, initial_epoch, chief)


def _training_data(config, strategy, initial_epoch):
    t = config.training
    global_batch = t.batch_size * strategy.num_replicas_in_sync
    arrays = _in_memory(_dataset(config, "train"))
    steps = t.steps_per_epoch or max(1, len(arrays[0]) // global_batch)
    train_ds = _train_stream(arrays, t.seed, global_batch).skip(
        initial_epoch * steps
    )
    valid_ds = _dataset(config, "validation").batch(global_batch).prefetch(2)
    return _TrainingData(arrays, train_ds, valid_ds, global_batch, steps)


def _compiled_model(config, strategy, data):
    """The model, built and compiled inside the strategy's scope, its
    data-dependent layers fitted to the training split (`adapt`:
    deterministic; a resumed run restores them with the weights)."""
    t = config.training
    replicas = strategy.num_replicas_in_sync
    with dtype_policy(t.precision), strategy.scope():
        model = make_model(config)
        model.compile(
            optimizer=make_optimizer(
                t, replicas, data.steps_per_epoch * t.epochs
            ),
            jit_compile=t.jit_compile,
        )
        model.adapt(data.arrays[0], seed=t.seed)
    return model


def _callbacks(config, run, strategy):
    """History, backup, EMA swap, best checkpoint, time budget, early
    stopping, sample grids, TensorBoard, in the order they must run."""
    t = config.training
    history_logger = HistoryLogger(
        os.path.join(run.dir, "history.json"), run.initial_epoch
    )
    best = keras.callbacks.ModelCheckpoint(
        run.checkpoint,
        # val_loss (nats/image) orders epochs like bits/dim, whatever the
        # model calls its bits/dim metric (RIDE: bits_per_dim_bound).
        monitor="val_loss",
        mode="min",
        save_best_only=True,
        initial_value_threshold=min(
            history_logger.history.get("val_loss", [np.inf])
        ),
    )
    # Order matters at the end of an epoch: the history first (a resumed
    # run drops entries past its backup), then the backup (raw weights,
    # before the EMA ones are swapped in), then the best checkpoint.
    callbacks = [history_logger]
    if t.backup and not distribute.uses_custom_loop(strategy):
        callbacks.append(Backup(run.backup_dir))
    if t.ema_decay:
        # EMA weights for validation, checkpoints and everything after.
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    # TF workers write no checkpoint. Multi-process JAX: every process
    # saves (non-chiefs into their temporary folder), since saving and
    # loading create replicated variables, a collective all must join.
    if run.chief or distribute.collective_variables():
        callbacks.append(best)
    if t.max_minutes is not None:
        # Several processes must stop at the same step: at an epoch's end.
        alone = distribute.num_processes() == 1 and not (
            distribute.uses_custom_loop(strategy)
        )
        callbacks.append(TimeBudget(t.max_minutes, per_batch=alone))
    if t.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                mode="min",
                patience=t.early_stopping_patience,
            )
        )
    log_dir = os.path.join(run.dir, "logs") if t.tensorboard else None
    if t.sample_every_epochs:
        callbacks.append(
            SampleGrid(
                os.path.join(run.dir, "samples"),
                t.sample_every_epochs,
                config.sampling.num_samples,
                config.sampling.seed,
                log_dir,
            )
        )
    if log_dir and not distribute.uses_custom_loop(strategy):
        callbacks.append(keras.callbacks.TensorBoard(log_dir))
    return callbacks


def fit_epochs(model, strategy, data, callbacks, epochs, run, verbose):
    """The training loop: `model.fit`, or the custom loop of
    `kerpix.training.distribute` under strategies whose `fit` fails
    (keras-team/keras#20585), with the same data and callbacks."""
    if not distribute.uses_custom_loop(strategy):
        model.fit(
            data.train,
            validation_data=data.validation,
            epochs=epochs,
            initial_epoch=run.initial_epoch,
            steps_per_epoch=data.steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
        )
        return
    for callback in callbacks:
        callback.set_model(model)
        callback.on_train_begin()
    distribute.train_loop(
        model,
        strategy,
        prepare_training_data(model, data.train, None, "x")[0],
        prepare_training_data(model, data.validation, None, "x")[0],
        epochs - run.initial_epoch,
        data.steps_per_epoch,
        callbacks=callbacks,
        verbose=1 if verbose == "auto" else verbose,
    )


def _finish(config, run, model, data, seconds):
    """Record the run's metrics, mark it finished; the best model."""
    with open(os.path.join(run.dir, "history.json")) as f:
        history = json.load(f)
    best_epoch = int(np.argmin(history["val_loss"]))
    _update_metrics(
        run.dir,
        {
            "train_seconds": round(seconds, 1),
            "epochs_run": len(history["val_loss"]),
            "best_epoch": best_epoch + 1,
            "validation_bits_per_dim": float(
                bits_per_dim(history["val_loss"][best_epoch], model.image_shape)
            ),
            "validation_nats_per_image": history["val_loss"][best_epoch],
            "replicas": data.global_batch // config.training.batch_size,
            "global_batch_size": data.global_batch,
        },
    )
    _write_json(run.dir, RUN_STATE, {"status": "finished"})
    if not run.chief and not distribute.collective_variables():
        shutil.rmtree(run.dir, ignore_errors=True)
        return model
    with dtype_policy(config.training.precision):
        best_model = keras.saving.load_model(run.checkpoint)
    if not run.chief:
        shutil.rmtree(run.dir, ignore_errors=True)
    return best_model


@contextlib.contextmanager
def dtype_policy(name):
    """Set Keras's global dtype policy for the block. Backbones rebuild
    their layers from their arguments when loaded, so a mixed-precision
    run's `model.keras` is loaded under its policy too (`load_model`)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def make_optimizer(training, replicas=1, total_steps=None):
    """Adam with the config's schedule, clipping and EMA."""
    t = training
    rate = t.learning_rate * (replicas if t.scale_learning_rate else 1)
    if t.learning_rate_schedule == "exponential":
        rate = keras.optimizers.schedules.ExponentialDecay(
            rate, decay_steps=1, decay_rate=t.learning_rate_decay
        )
    elif t.learning_rate_schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(
            rate, decay_steps=max(1, total_steps or 1)
        )
    if t.learning_rate_drops:
        rate = LearningRateDrops(rate, t.learning_rate_drops)
    kwargs = {}
    if t.clip_norm:
        kwargs["global_clipnorm"] = t.clip_norm
    if t.ema_decay:
        kwargs.update(use_ema=True, ema_momentum=t.ema_decay)
    return keras.optimizers.Adam(rate, **kwargs)


def _validate_training(t):
    choices = {
        "learning_rate_schedule": ("constant", "exponential", "cosine"),
        "precision": ("float32", "mixed_float16", "mixed_bfloat16"),
    }
    for key, allowed in choices.items():
        value = getattr(t, key)
        if value not in allowed:
            raise ValueError(
                f"Invalid value for config key `training.{key}`. Expected "
                f"one of {list(allowed)}. Received: {value!r}"
            )
    validate_drops(
        t.learning_rate_drops, "config key `training.learning_rate_drops`"
    )
    if t.ema_decay is not None and not 0 < t.ema_decay < 1:
        raise ValueError(
            "Invalid value for config key `training.ema_decay`. Expected a "
            f"decay in (0, 1), e.g. 0.9995, or null. Received: {t.ema_decay!r}"
        )
    if t.strategy == "multi_worker" and t.precision == "mixed_float16":
        raise ValueError(
            "Invalid value for config key `training.precision`: the "
            "multi-worker training loop has no loss scaling; use "
            "'mixed_bfloat16' or 'float32'. Received: 'mixed_float16'"
        )


def _resume_point(run_dir, backup_dir, backup, restart):
    """Epochs already done by an interrupted run in `run_dir` (0 for a
    fresh or finished run); raises if its backup is missing."""
    if restart:
        shutil.rmtree(backup_dir, ignore_errors=True)
        return 0
    state_path = os.path.join(run_dir, RUN_STATE)
    interrupted = False
    if os.path.isfile(state_path):
        with open(state_path) as f:
            interrupted = json.load(f).get("status") == "running"
    if not interrupted:
        shutil.rmtree(backup_dir, ignore_errors=True)
        return 0
    if not backup or not os.path.isdir(backup_dir):
        raise ValueError(
            f"The run in {run_dir!r} was interrupted but has no backup to "
            f"resume from ({backup_dir!r} is missing; it is written at the "
            "end of every epoch when training.backup is true). Rerun with "
            "--restart (train(..., restart=True)) to train from scratch."
        )
    epochs = Backup.epochs_done(backup_dir)
    print(f"Resuming the interrupted run in {run_dir!r} after epoch {epochs}.")
    return epochs


def _train_stream(arrays, seed, global_batch):
    """Endless global batches of the training split's `arrays` (images, or
    images and labels, in memory).

    Pass `p` over the data is the stateless permutation of seed
    `(seed, p)`, so the batch at any step is a pure function of
    the step: a resumed run that skips the steps it already trained on sees
    exactly the batches an uninterrupted one would. (A `shuffle` with
    `reshuffle_each_iteration` depends on how many iterators were made
    before; it is not used.)
    """
    import tensorflow as tf

    size = len(arrays[0])
    tensors = tuple(tf.constant(a) for a in arrays)
    seed = tf.constant(seed, tf.int64)

    def one_pass(p):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(size, dtype=tf.int64), seed=tf.stack([seed, p])
        )
        return tf.data.Dataset.from_tensor_slices(order)

    def gather(indices):
        batch = tuple(tf.gather(t, indices) for t in tensors)
        return batch if len(batch) > 1 else batch[0]

    indices = tf.data.Dataset.range(2**62).flat_map(one_pass)
    batches = indices.batch(global_batch, drop_remainder=True)
    return batches.map(gather).prefetch(2)


def _in_memory(ds):
    """NumPy arrays of a dataset of arrays or of `(image, label)` pairs."""
    chunks = list(ds.batch(4096).as_numpy_iterator())
    if not chunks:
        raise ValueError(
            "Invalid value for config key `data`: the training split is empty."
        )
    if isinstance(chunks[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*chunks))
    return (np.concatenate(chunks),)


def evaluate(workdir, split="test", verbose="auto"):
    """Evaluate the run's best model on `split`; update `metrics.json`."""
    config = load_config(workdir)
    model = load_model(workdir)
    model.compile(jit_compile=config.training.jit_compile)
    ds = _dataset(config, "test" if split == "test" else split)
    with without_grappler_remapper():
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
    if num_samples is not None:
        validate_positive_int("num_samples", num_samples)
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
    precision = "float32"
    if os.path.isfile(os.path.join(workdir, "config.json")):
        precision = load_config(workdir).training.precision
    try:
        with dtype_policy(precision):
            return keras.saving.load_model(path)
    except Exception as error:
        raise ValueError(
            f"Could not load the model file {path!r}; it may be corrupt or "
            f"from another kerpix version ({type(error).__name__}: {error})."
        ) from error


def versions():
    import tensorflow as tf

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
    if d.name in kdata.IN_MEMORY:
        kwargs["image_shape"] = d.image_shape
        if d.name == "dead_leaves":
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
