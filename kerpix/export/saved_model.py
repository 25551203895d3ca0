"""SavedModel export in the TF Serving layout `base/NAME/VERSION/`."""

import os

import keras
import numpy as np
import tensorflow as tf

from kerpix.export import signatures


def export_saved_model(model, base_path, name="kerpix", version=1):
    """Write `model` as a SavedModel at `base_path/name/version`.

    Signatures:
        `serving_default` (log_prob): input `images` int32 `[N, H, W, C]`
        -> `log_prob` float32 `[N]` in nats and `bits_per_dim` `[N]`.

    Args:
        model: a `kerpix.models.ImageDensityModel`.
        base_path: str. TF Serving's model base path.
        name: str. Model name (the server's `model_name`). Defaults to
            `"kerpix"`.
        version: positive int. Defaults to `1`.

    Returns:
        The version directory written.
    """
    if not isinstance(version, int) or version < 1:
        raise ValueError(
            "Invalid value for argument `version`. TF Serving needs a "
            f"positive integer. Received: version={version!r}"
        )
    if not name or os.sep in name:
        raise ValueError(
            "Invalid value for argument `name`. Expected a folder name "
            f"without '{os.sep}'. Received: name={name!r}"
        )
    path = os.path.join(base_path, name, str(version))
    images = tf.TensorSpec(
        (None,) + model.image_shape,
        signatures.IMAGE_DTYPE,
        name=signatures.IMAGES,
    )
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default",
        lambda images: signatures.log_prob_outputs(model, images),
        input_signature=[images],
    )
    archive.write_out(path, verbose=False)
    return path


def check_saved_model(model, path, images, rtol=1e-4):
    """Reload the SavedModel at `path` and compare its log_prob to Keras.

    Raises `AssertionError` on a mismatch; returns the largest relative
    difference.
    """
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise ValueError(
            f"Invalid value for argument `path`: no saved_model.pb in "
            f"{path!r}. Export it with export_saved_model first."
        )
    loaded = tf.saved_model.load(path)
    fn = loaded.signatures["serving_default"]
    got = fn(**{signatures.IMAGES: tf.constant(images, tf.int32)})
    expected = model.log_prob(images)
    return _compare(expected, got[signatures.LOG_PROB].numpy(), rtol, path)


def _compare(expected, got, rtol, what):
    diff = float(
        np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-6))
    )
    if not diff <= rtol:
        raise AssertionError(
            f"{what}: log_prob differs from Keras by {diff:.3g} (relative), "
            f"more than rtol={rtol}."
        )
    return diff
