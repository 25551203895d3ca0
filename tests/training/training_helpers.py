"""Tiny training configs and subprocess helpers for the training tests."""

import json
import os
import sys

import keras

from kerpix.training import TrainConfig

TINY = {
    "model": {"family": "pixel_cnn", "kwargs": {"filters": 8, "num_layers": 1}},
    "data": {
        "name": "dead_leaves",
        "image_shape": [6, 6, 1],
        "num_grey_levels": 4,
        "num_train": 256,
        "num_validation": 32,
        "num_test": 32,
    },
    "training": {
        "epochs": 2,
        "batch_size": 8,
        "steps_per_epoch": 8,
        "learning_rate": 0.01,
        "tensorboard": False,
    },
    "sampling": {"num_samples": 4},
}


def tiny_config(**training):
    config = json.loads(json.dumps(TINY))
    config["training"].update(training)
    return TrainConfig.from_dict(config)


def write_config(path, **training):
    with open(path, "w") as f:
        json.dump(tiny_config(**training).to_dict(), f)
    return str(path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def kerpix_train(config_path, workdir, *extra):
    return [
        sys.executable,
        "-m",
        "kerpix.cli.main",
        "train",
        f"--config={config_path}",
        f"--workdir={workdir}",
        "--verbose=0",
        *extra,
    ]


def subprocess_env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **extra)
    env.pop("KERAS_BACKEND", None)
    env.update(extra)
    return env


def model_weights(workdir):
    model = keras.saving.load_model(os.path.join(workdir, "model.keras"))
    return [keras.ops.convert_to_numpy(w) for w in model.weights]
