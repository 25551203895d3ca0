"""SavedModel export in the TF Serving layout `base/NAME/VERSION/`."""

import os

import keras
import tensorflow as tf

import kerpix.export.signatures as sig
import kerpix.export.tf_functions as tf_functions
from kerpix.export.compare import assert_close_codes
from kerpix.export.compare import assert_close_log_prob
from kerpix.export.compare import assert_same_images
from kerpix.export.compare import log_prob_feed
from kerpix.models.inputs import example_conditions
from kerpix.ops.loops import rolled_loops


def export_saved_model(model, base_path, name="kerpix", version=1):
    """Write `model` as a SavedModel at `base_path/name/version`.

    Signatures (see `export/README.md` and `signatures.signature`):
        - `serving_default` (log_prob): `images` int32 `[N, H, W, C]` ->
          `log_prob` float32 `[N]` (nats) and `bits_per_dim` `[N]`.
        - `sample`: `num_samples`, `seed` (int32 scalars) -> `images`.
        - `sample_step`: `canvas`, `position` (int64 scalar), `noise`
          float32 `[N, noise_dims]`, `state_0..k` -> `next_canvas`,
          `next_state_0..k`.

    Args:
        model: a `kerpix.models.ImageDensityModel`.
        base_path: str. TF Serving's model base path.
        name: str. Model name (the server's `model_name`). Defaults to
            `"kerpix"`.
        version: positive int. Defaults to `1`.

    Returns:
        The version directory written.
    """
    sig.check_exportable(model)
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
    with rolled_loops():  # graphs whose size does not grow with the image
        _write_archive(model, path)
    return path


def _write_archive(model, path):
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default", tf_functions.log_prob_function(model)
    )
    archive.add_endpoint(
        "sample_step", tf_functions.sample_step_function(model)
    )
    archive.add_endpoint("sample", tf_functions.sample_function(model))
    if sig.has_encoder(model):
        archive.add_endpoint("encode", tf_functions.encode_function(model))
    archive.write_out(path, verbose=False)


def load_saved_model(path):
    """`tf.saved_model.load`, with a clear error for a missing artifact."""
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise ValueError(
            f"Invalid value for argument `path`: no saved_model.pb in "
            f"{path!r}. Export it with export_saved_model first."
        )
    return tf.saved_model.load(path)


def check_saved_model(model, path, images, num_samples=2, seed=0, rtol=1e-4):
    """Reload the SavedModel at `path` and compare it with Keras.

    Checks `log_prob` on `images` (relative `rtol`), a full sample driven
    through `sample_step` on fixed noise, and the `sample` signature,
    against `model.sample(noise=...)` (identical integers).

    Returns:
        The largest relative log_prob difference.
    """
    loaded = load_saved_model(path)
    if sig.has_encoder(model):
        got = loaded.signatures["encode"](images=tf.constant(images, tf.int32))
        assert_close_codes(model.encode(images), got[sig.CODES].numpy(), path)
    feed, expected = log_prob_feed(model, images, seed)
    got = loaded.signatures["serving_default"](
        **{k: tf.constant(v) for k, v in feed.items()}
    )
    diff = assert_close_log_prob(
        expected, got[sig.LOG_PROB].numpy(), rtol, path
    )
    noise = tf_functions.sample_noise(model, num_samples, seed)
    condition = example_conditions(model, num_samples)
    expected = model.sample(noise=noise, conditional_input=condition, verbose=0)
    step = loaded.signatures["sample_step"]
    canvas = sig.drive_sample_steps(
        model,
        noise,
        lambda feed: {
            k: v.numpy()
            for k, v in step(
                **{k: tf.constant(v) for k, v in feed.items()}
            ).items()
        },
        condition,
    )
    assert_same_images(
        model, expected, canvas, noise, condition, f"{path} sample_step"
    )
    if condition is None:
        inputs = {"num_samples": tf.constant(num_samples)}
    else:
        inputs = {sig.CONDITIONAL_INPUT: tf.constant(condition)}
    sampled = loaded.signatures["sample"](seed=tf.constant(seed), **inputs)
    assert_same_images(
        model,
        expected,
        sampled[sig.IMAGES].numpy(),
        noise,
        condition,
        f"{path} sample",
    )
    return diff
