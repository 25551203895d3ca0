"""Reusable test battery run on every kerpix layer, head and model."""

import itertools
import json
import os

import keras
import numpy as np


def run_serialization_test(obj):
    """Config round trips: get_config/from_config and Keras (de)serialize.

    Returns the object rebuilt by `deserialize_keras_object`.
    """
    config = obj.get_config()
    rebuilt = type(obj).from_config(config)
    _assert_same_json(config, rebuilt.get_config())
    serialized = keras.saving.serialize_keras_object(obj)
    again = keras.saving.deserialize_keras_object(serialized)
    assert type(again) is type(obj), (type(again), type(obj))
    _assert_same_json(config, again.get_config())
    return again


def run_model_saving_test(model, images, directory):
    """`.keras` save/load gives identical parameters on `images`."""
    path = os.path.join(directory, "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    keras.tree.map_structure(
        lambda a, b: np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        ),
        model(images),
        restored(images),
    )
    return restored


def all_images(image_shape, num_levels):
    """Every integer image of `image_shape` (for tiny exhaustive checks)."""
    size = int(np.prod(image_shape))
    values = itertools.product(range(num_levels), repeat=size)
    return np.array(list(values), "int32").reshape((-1,) + tuple(image_shape))


def assert_normalized(log_prob_fn, image_shape, num_levels, atol=1e-4):
    """Σ_x exp(log p(x)) over every image of `image_shape` equals 1."""
    images = all_images(image_shape, num_levels)
    log_probs = np.asarray(log_prob_fn(images), "float64")
    total = np.exp(log_probs).sum()
    if abs(total - 1.0) > atol:
        raise AssertionError(
            f"Probabilities over all {len(images)} images sum to {total}."
        )


def _assert_same_json(a, b):
    dump = lambda c: json.dumps(c, sort_keys=True, default=str)  # noqa: E731
    assert dump(a) == dump(b), f"{dump(a)}\n!=\n{dump(b)}"
