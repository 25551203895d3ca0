"""The documented contract of exported artifacts, shared by exporters.

Every endpoint takes and returns named tensors. `signature(model)` is what
`signature.json` holds: enough for a program that knows nothing of kerpix
to score and sample with ONNX Runtime or TF Serving alone.
"""

import keras
import numpy as np

from kerpix.metrics import bits_per_dim
from kerpix.models.density_model import DensityModel
from kerpix.models.inputs import CONDITIONAL_INPUT
from kerpix.models.inputs import IMAGES
from kerpix.version import __version__

LOG_PROB = "log_prob"
BITS_PER_DIM = "bits_per_dim"
NUM_SAMPLES = "num_samples"
# The most images one `sample` call draws (its noise alone is
# MAX_SAMPLES × H·W × C floats): more is a request error, not an attempt.
MAX_SAMPLES = 10000
SEED = "seed"
CANVAS = "canvas"
POSITION = "position"
NOISE = "noise"
NEXT_CANVAS = "next_canvas"
CODES = "codes"
DEQUANTIZATION = "dequantization"
# The image dtype of every endpoint: int32 holds any num_levels and is
# what TF Serving's JSON integers decode to.
IMAGE_DTYPE = "int32"


def state_name(k):
    return f"state_{k}"


def next_state_name(k):
    return f"next_state_{k}"


def samples_by_rows(model):
    """Whether `model`'s sampling steps are its pixels in raster order (so
    `sample_rows` applies)."""
    height, width, _ = model.image_shape
    return model.num_positions == height * width


def state_shapes(model):
    """Per-example shapes and dtypes of `model.initial_state` (batch 1)."""
    return [
        (
            tuple(int(d) for d in state.shape[1:]),
            keras.backend.standardize_dtype(state.dtype),
        )
        for state in model.initial_state(1)
    ]


def dequantizes(model):
    """Whether `model`'s log-likelihood is a bound over dequantization noise
    (RIDE, MCGSM): its `log_prob` endpoint takes that noise as an input."""
    return model.dequantizes


def check_exportable(model):
    """Raise `ValueError` for models the exported signatures do not cover."""
    if not isinstance(model, DensityModel):
        raise ValueError(
            "Invalid value for argument `model`. Export covers kerpix "
            "density models (`kerpix.models.DensityModel`: PixelCNN, Gated "
            "PixelCNN, PixelRNN, multi-scale, auto-encoder, RIDE/MCGSM); "
            f"not {type(model).__name__}. Use it in Keras."
        )
    model.validate_exportable()


def signature(model):
    """The `signature.json` description of `model`'s exported endpoints."""
    height, width, channels = model.image_shape
    image = ["batch", height, width, channels]

    def tensor(name, dtype, shape, **extra):
        return {"name": name, "dtype": dtype, "shape": shape, **extra}

    states = state_shapes(model)
    state_inputs = [
        tensor(state_name(k), dtype, ["batch", *shape])
        for k, (shape, dtype) in enumerate(states)
    ]
    state_outputs = [
        dict(s, name=next_state_name(k)) for k, s in enumerate(state_inputs)
    ]
    levels = [0, model.num_levels - 1]
    log_prob_inputs = [tensor(IMAGES, IMAGE_DTYPE, image, range=levels)]
    log_prob_units = "nats per image"
    if dequantizes(model):
        log_prob_inputs.append(
            tensor(
                DEQUANTIZATION,
                "float32",
                image,
                range=[0, 1],
                doc=(
                    "uniform noise u in [0, 1): the model scores the "
                    "continuous values (images + u) / num_levels; averaged "
                    "over u, -log_prob bounds the discrete NLL from above"
                ),
            )
        )
        log_prob_units = "nats per image (a bound: see dequantization)"
    conditional = []
    if not model.step_conditional_dims:
        pass
    elif model.num_classes:
        conditional = [
            tensor(
                CONDITIONAL_INPUT,
                "int32",
                ["batch"],
                range=[0, model.num_classes - 1],
                doc="class label of each image",
            )
        ]
    else:
        conditional = [
            tensor(
                CONDITIONAL_INPUT,
                "float32",
                ["batch", model.step_conditional_dims],
                doc="conditioning vector of each image",
            )
        ]
    sample_inputs = [tensor(SEED, "int32", [])] + conditional
    if not conditional:
        sample_inputs.insert(0, tensor(NUM_SAMPLES, "int32", []))
    endpoints = {}
    if has_encoder(model):
        endpoints["encode"] = {
            "file": "encode.onnx",
            "saved_model_signature": "encode",
            "doc": "auto-encoder: the codes to pass as conditional_input",
            "inputs": [tensor(IMAGES, IMAGE_DTYPE, image, range=levels)],
            "outputs": [
                tensor(CODES, "float32", ["batch", model.conditional_dims])
            ],
        }
    return {
        "format_version": 1,
        "kerpix_version": __version__,
        "image_shape": [height, width, channels],
        "num_levels": model.num_levels,
        "conditional": bool(conditional),
        "noise_dims": model.noise_dims,
        "num_positions": model.num_positions,
        "initial_state": "every state tensor starts as zeros of its shape",
        "endpoints": {
            "log_prob": {
                "file": "log_prob.onnx",
                "saved_model_signature": "serving_default",
                "doc": (
                    "Inputs outside their `range` are rejected: the "
                    "SavedModel fails the call (InvalidArgument naming the "
                    "input), ONNX gives log_prob NaN for such an image."
                ),
                "inputs": [*log_prob_inputs, *conditional],
                "outputs": [
                    tensor(
                        LOG_PROB, "float32", ["batch"], units=log_prob_units
                    ),
                    tensor(
                        BITS_PER_DIM,
                        "float32",
                        ["batch"],
                        units="nats / (H*W*C*ln 2)",
                    ),
                ],
            },
            "sample_step": {
                "file": "sample_step.onnx",
                "saved_model_signature": "sample_step",
                "doc": (
                    "Step `position` (0 <= position < num_positions) by "
                    "inverse CDF of `noise` uniform in [0, 1): fills pixel "
                    "`position` (raster index i*W + j) of `canvas`, every "
                    "colour in R, G, B order. A multi-scale model first "
                    "draws its small image (positions < num_positions - "
                    "H*W, kept in its state), then pixel position - "
                    "(num_positions - H*W). Start from a zero canvas and "
                    "zero states; feed next_* back for position + 1."
                ),
                "inputs": [
                    tensor(CANVAS, IMAGE_DTYPE, image, range=levels),
                    tensor(POSITION, "int64", []),
                    tensor(NOISE, "float32", ["batch", model.noise_dims]),
                    *conditional,
                    *state_inputs,
                ],
                "outputs": [
                    tensor(NEXT_CANVAS, IMAGE_DTYPE, image, range=levels),
                    *state_outputs,
                ],
            },
            "sample_from_noise": {
                "file": "sample.onnx",
                "doc": (
                    "ONNX only: the whole sampling loop in one call, equal "
                    "to running sample_step over every position with this "
                    "noise (the SavedModel's `sample` draws its noise from "
                    "a seed instead)."
                ),
                "inputs": [
                    tensor(
                        NOISE,
                        "float32",
                        ["batch", model.num_positions, model.noise_dims],
                        range=[0, 1],
                    ),
                    *conditional,
                ],
                "outputs": [tensor(IMAGES, IMAGE_DTYPE, image, range=levels)],
            },
            "sample": {
                "saved_model_signature": "sample",
                "doc": (
                    "SavedModel only: the whole loop, noise from seed; a "
                    "conditional model draws one image per conditional_input."
                ),
                "inputs": sample_inputs,
                "outputs": [tensor(IMAGES, IMAGE_DTYPE, image, range=levels)],
            },
            **endpoints,
        },
    }


def has_encoder(model):
    """Whether `model` is an auto-encoder with an `encode` endpoint."""
    return model.encoder is not None


def encode_outputs(model, images):
    """The `encode` endpoint's outputs: the codes of a batch of images."""
    return {CODES: model.encoder(model.preprocessor(images))}


def log_prob_outputs(model, inputs, dequantization=None):
    """The `log_prob` endpoint's outputs for a batch of images, or of
    `{"images", "conditional_input"}` (and, for dequantizing models, their
    dequantization noise).

    An image with a pixel outside `[0, num_levels)` gets a NaN log_prob
    in every runtime (the SavedModel also fails the call, see
    `tf_functions.check_range`): never a finite score.
    """
    images = inputs[IMAGES] if isinstance(inputs, dict) else inputs
    top = model.num_levels - 1
    valid = keras.ops.all((images >= 0) & (images <= top), axis=(1, 2, 3))
    safe = keras.ops.clip(images, 0, top)
    inputs = {**inputs, IMAGES: safe} if isinstance(inputs, dict) else safe
    if dequantizes(model):
        log_prob = model.compute_log_prob(inputs, dequantization)
    else:
        log_prob = model.compute_log_prob(inputs)
    log_prob = keras.ops.where(valid, log_prob, float("nan"))
    return {
        LOG_PROB: log_prob,
        BITS_PER_DIM: bits_per_dim(-log_prob, model.image_shape),
    }


def sample_step_outputs(
    model, canvas, position, noise, states, conditional_input=None
):
    """The `sample_step` endpoint's outputs."""
    canvas, states = model.sample_step(
        canvas,
        tuple(states),
        position,
        noise,
        conditional_input=conditional_input,
    )
    return {NEXT_CANVAS: canvas, **next_states(states)}


def next_states(states):
    """`{next_state_k: state}`: how step endpoints return states."""
    return {next_state_name(k): state for k, state in enumerate(states)}


def drive_sample_steps(model, noise, run_step, conditional_input=None):
    """Sample by the contract: zero canvas and states, one call per position.

    Args:
        model: the Keras model (for the state shapes).
        noise: uniforms `(N, H*W, noise_dims)`.
        run_step: maps a feed `{input name: NumPy array}` to
            `{output name: array}` (a SavedModel signature, an ONNX
            session, a REST client).
        conditional_input: labels or vectors of conditional models.

    Returns:
        The final canvas, int32 `(N, H, W, C)`.
    """
    batch = noise.shape[0]
    states = [np.asarray(s) for s in model.initial_state(batch)]
    canvas = np.zeros((batch,) + model.image_shape, IMAGE_DTYPE)
    for position in range(noise.shape[1]):
        feed = {
            CANVAS: canvas,
            POSITION: np.array(position, "int64"),
            NOISE: np.asarray(noise[:, position], "float32"),
        }
        if conditional_input is not None:
            feed[CONDITIONAL_INPUT] = conditional_input
        feed.update({state_name(k): s for k, s in enumerate(states)})
        out = run_step(feed)
        canvas = np.asarray(out[NEXT_CANVAS])
        states = [
            np.asarray(out[next_state_name(k)]) for k in range(len(states))
        ]
    return canvas
