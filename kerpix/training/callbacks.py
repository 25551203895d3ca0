"""Training callbacks: time budget, run history, backups, sample grids."""

import json
import os
import shutil
import time

import keras
import numpy as np

from kerpix.utils.image_grid import image_grid
from kerpix.utils.image_grid import save_image_grid
from kerpix.utils.validation import validate_positive_int


class TimeBudget(keras.callbacks.Callback):
    """Stop training when `minutes` of wall-clock time have run out: after
    the batch that used them up (`per_batch=True`; Keras then still
    validates the partial epoch and runs the epoch-end callbacks, so the
    best checkpoint sees it), or after the epoch (`per_batch=False`: for
    several processes, which must all stop at the same step).

    Args:
        minutes: float. Wall-clock training budget.
        per_batch: bool. Check after every batch. Defaults to `True`.
    """

    def __init__(self, minutes, per_batch=True):
        super().__init__()
        if minutes is not None and minutes <= 0:
            raise ValueError(
                "Invalid value for argument `minutes`. Expected a positive "
                f"number of minutes or None. Received: minutes={minutes!r}"
            )
        self.minutes = minutes
        self.per_batch = per_batch
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def _check(self):
        if time.monotonic() - self.start > self.minutes * 60:
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        if self.per_batch:
            self._check()

    def on_epoch_end(self, epoch, logs=None):
        self._check()


class HistoryLogger(keras.callbacks.Callback):
    """Append every epoch's logs to a JSON history file, so a resumed run
    keeps the epochs before the interruption.

    Args:
        path: the `history.json` file (`{metric: [value per epoch]}`,
            with `seconds`: training time at the end of each epoch).
        initial_epoch: epochs already done; later entries in the file (an
            epoch that ran after the last backup) are dropped.
    """

    def __init__(self, path, initial_epoch=0):
        super().__init__()
        self.path = path
        self.history = {}
        if initial_epoch and os.path.isfile(path):
            with open(path) as f:
                old = json.load(f)
            self.history = {k: v[:initial_epoch] for k, v in old.items()}

    def on_train_begin(self, logs=None):
        # Wall-clock seconds of training so far (a resumed run continues
        # from its last recorded epoch).
        done = self.history.get("seconds", [0.0])
        self.offset = done[-1] if done else 0.0
        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        seconds = self.offset + time.monotonic() - self.start
        self.history.setdefault("seconds", []).append(round(seconds, 2))
        with open(self.path, "w") as f:
            json.dump(self.history, f, indent=2)
            f.write("\n")


class Backup(keras.callbacks.Callback):
    """Back up the training state at the end of every epoch; restore it
    when training starts again (what `keras.callbacks.BackupAndRestore`
    does, made atomic and strict).

    Each backup is `epoch_K.weights.h5` (model weights and optimizer
    state) plus `training_metadata.json` naming it, replaced atomically
    after the weights are written: a process killed while writing leaves
    the previous backup intact. A backup that cannot be read raises
    `ValueError` naming it instead of training from scratch. The backup
    is deleted when training ends.

    Args:
        backup_dir: folder of the backup.
    """

    METADATA = "training_metadata.json"

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = backup_dir

    def on_train_begin(self, logs=None):
        path = os.path.join(self.backup_dir, self.METADATA)
        if not os.path.isfile(path):
            return
        weights = None
        try:
            metadata = self.read_metadata(self.backup_dir)
            weights = os.path.join(self.backup_dir, metadata["weights"])
            optimizer = self.model.optimizer
            if optimizer is not None and not optimizer.built:
                optimizer.build(self.model.trainable_variables)
            self.model.load_weights(weights)
        except Exception as error:  # h5py raises OSError, Keras ValueError
            raise ValueError(
                f"Could not restore the backup in {self.backup_dir!r} "
                f"({weights or path}: {type(error).__name__}: {error}). It "
                "may be corrupt; rerun with --restart (train(..., "
                "restart=True)) to train from scratch."
            ) from error

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"epoch_{epoch + 1}.weights.h5"
        self.model.save_weights(os.path.join(self.backup_dir, name))
        path = os.path.join(self.backup_dir, self.METADATA)
        with open(path + ".tmp", "w") as f:
            json.dump({"epoch": epoch + 1, "weights": name}, f)
        os.replace(path + ".tmp", path)  # the backup is now this epoch's
        for other in os.listdir(self.backup_dir):
            if other.endswith(".weights.h5") and other != name:
                os.remove(os.path.join(self.backup_dir, other))

    def on_train_end(self, logs=None):
        shutil.rmtree(self.backup_dir, ignore_errors=True)

    @classmethod
    def read_metadata(cls, backup_dir):
        with open(os.path.join(backup_dir, cls.METADATA)) as f:
            metadata = json.load(f)
        if not isinstance(metadata.get("epoch"), int) or not isinstance(
            metadata.get("weights"), str
        ):
            raise ValueError(f"unexpected content {metadata!r}")
        return metadata

    @classmethod
    def epochs_done(cls, backup_dir):
        """Epochs completed according to the backup in `backup_dir` (0 if
        there is none)."""
        if not os.path.isfile(os.path.join(backup_dir, cls.METADATA)):
            return 0
        try:
            return cls.read_metadata(backup_dir)["epoch"]
        except (OSError, ValueError) as error:
            raise ValueError(
                f"Could not read the backup in {backup_dir!r} ({error}); "
                "rerun with --restart to train from scratch."
            ) from error


class SampleGrid(keras.callbacks.Callback):
    """Every `every_epochs` epochs, sample a grid and write
    `directory/epoch_NNN.png` (and a TensorBoard image if `log_dir`).

    Args:
        directory: folder of the PNG files.
        every_epochs: int.
        num_samples: int. Defaults to `16`.
        seed: int. The same noise every time, so grids are comparable.
        log_dir: optional TensorBoard log folder.
    """

    def __init__(
        self, directory, every_epochs, num_samples=16, seed=0, log_dir=None
    ):
        super().__init__()
        validate_positive_int("every_epochs", every_epochs)
        self.directory = directory
        self.every_epochs = every_epochs
        self.num_samples = num_samples
        self.seed = seed
        self.log_dir = log_dir

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs:
            return
        model = self.model
        labels = None
        if model.num_classes:
            labels = np.arange(self.num_samples) % model.num_classes
        images = model.sample(
            self.num_samples,
            seed=self.seed,
            conditional_input=labels,
            verbose=0,
        )
        os.makedirs(self.directory, exist_ok=True)
        save_image_grid(
            os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png"),
            images,
            model.num_levels,
            columns=model.num_classes,
        )
        if self.log_dir:
            import tensorflow as tf

            grid = image_grid(images, model.num_levels, model.num_classes)
            writer = tf.summary.create_file_writer(
                os.path.join(self.log_dir, "samples")
            )
            with writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch + 1)
            writer.close()
