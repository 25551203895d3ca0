"""ONNX export: `log_prob.onnx`, `sample_step.onnx`, `sample.onnx` and
`signature.json`."""

import contextlib
import json
import os
import time

import numpy as np

import kerpix.export.signatures as sig
import kerpix.export.tf_functions as tf_functions
from kerpix.export.compare import assert_close_codes
from kerpix.export.compare import assert_close_log_prob
from kerpix.export.compare import assert_same_images
from kerpix.export.compare import log_prob_feed
from kerpix.export.onnx_loops import sample_loop
from kerpix.export.onnx_loops import sample_rows
from kerpix.export.onnx_loops import sample_step_rows
from kerpix.models.inputs import example_conditions
from kerpix.ops.loops import rolled_loops

OPSET = 17


def export_onnx(model, path, timings=None):
    """Write `log_prob.onnx`, `sample_step.onnx`, `sample.onnx` and
    `signature.json` (and `encode.onnx` for auto-encoders).

    `log_prob.onnx`: `images` int32 `[batch, H, W, C]` -> `log_prob`
    (nats) and `bits_per_dim`, float32 `[batch]`. `sample_step.onnx`: one
    pixel of sampling, states as explicit inputs `state_k` and outputs
    `next_state_k`, so any ONNX Runtime host drives sampling with its own
    loop (`export/onnx_sample.py` does, with NumPy alone). `sample.onnx`:
    the whole loop (ONNX `Loop`s over rows and pixels around the pixel
    step, see `kerpix.export.onnx_loops`):
    `noise` float32 `[batch, num_positions, noise_dims]` -> `images`, one
    `session.run` per batch, equal to `model.sample(noise=...)`.

    `timings`, a dict, receives the seconds of each conversion (tf2onnx
    per graph, and the assembly of `sample.onnx`), as
    `benchmarks/onnx_export_time.py` reports them.

    Returns:
        The folder written.
    """
    import tf2onnx

    sig.check_exportable(model)
    os.makedirs(path, exist_ok=True)
    timings = {} if timings is None else timings
    with rolled_loops(), _tf2onnx_without_graph_copies():
        _convert(model, path, tf2onnx, timings)
    with open(os.path.join(path, "signature.json"), "w") as f:
        json.dump(sig.signature(model), f, indent=2)
        f.write("\n")
    return path


@contextlib.contextmanager
def _tf2onnx_without_graph_copies():
    """tf2onnx deep-copies the whole graph before each of its optimizer
    passes (to roll back a failing one) unless TF2ONNX_CATCH_ERRORS is
    FALSE: most of the conversion time of a large graph (measured: 18.3 s
    -> 11.0 s for a 2-layer Row LSTM's log_prob). A failing pass then
    fails the export instead of being skipped."""
    previous = os.environ.get("TF2ONNX_CATCH_ERRORS")
    os.environ["TF2ONNX_CATCH_ERRORS"] = "FALSE"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TF2ONNX_CATCH_ERRORS"]
        else:
            os.environ["TF2ONNX_CATCH_ERRORS"] = previous


def _convert(model, path, tf2onnx, timings):
    endpoints = sig.signature(model)["endpoints"]

    def timed(key, make):
        start = time.perf_counter()
        result = make()
        timings[key] = round(time.perf_counter() - start, 2)
        return result

    def convert(name, fn, specs):
        proto = timed(
            f"{name}.onnx", lambda: _from_function(tf2onnx, fn, specs)
        )
        _order_like_contract(proto, endpoints[name], f"{name}.onnx")
        _write(proto, path, f"{name}.onnx")
        return proto

    convert(
        "log_prob",
        tf_functions.log_prob_function(model),
        tf_functions.log_prob_specs(model),
    )
    for name, fn, specs in _encode_function(model):
        convert(name, fn, specs)
    if not sig.samples_by_rows(model):
        step = convert(
            "sample_step",
            tf_functions.sample_step_function(model),
            tf_functions.sample_step_specs(model),
        )
        loop = timed("sample.onnx loop", lambda: sample_loop(model, step))
        _write(loop, path, "sample.onnx")
        return
    # Both sampling files from the same three converted pieces (see
    # `kerpix.export.onnx_loops`).
    makers = [tf_functions.pixel_step_function, tf_functions.start_row_function]
    if model.starts_images:
        makers.append(tf_functions.start_image_function)
    pieces = [
        timed(
            make.__name__.removesuffix("_function"),
            lambda: _from_function(tf2onnx, *make(model)),
        )
        for make in makers
    ]
    step = timed("sample_step.onnx", lambda: sample_step_rows(model, *pieces))
    _order_like_contract(step, endpoints["sample_step"], "sample_step.onnx")
    _write(step, path, "sample_step.onnx")
    rows = timed("sample.onnx", lambda: sample_rows(model, *pieces))
    _write(rows, path, "sample.onnx")


def _from_function(tf2onnx, fn, specs):
    proto, _ = tf2onnx.convert.from_function(
        fn, input_signature=specs, opset=OPSET
    )
    _name_batch_axis(proto)
    return proto


def _order_like_contract(proto, endpoint, filename):
    """Put the graph's inputs and outputs in signature.json's order (tf2onnx
    sorts them by name), so a client that reads them by position gets
    what the contract lists (log_prob first, then bits_per_dim)."""
    for field, names in (
        ("input", [t["name"] for t in endpoint["inputs"]]),
        ("output", [t["name"] for t in endpoint["outputs"]]),
    ):
        values = {v.name: v for v in getattr(proto.graph, field)}
        if set(values) != set(names):
            raise ValueError(
                f"{filename}: the converted graph's {field}s "
                f"{sorted(values)} are not the contract's {sorted(names)}."
            )
        ordered = [type(values[n])() for n in names]
        for copy, name in zip(ordered, names):
            copy.CopyFrom(values[name])
        del getattr(proto.graph, field)[:]
        getattr(proto.graph, field).extend(ordered)


def _write(proto, path, filename):
    with open(os.path.join(path, filename), "wb") as f:
        f.write(proto.SerializeToString())


def check_onnx(model, path, images, num_samples=2, seed=0, rtol=1e-4):
    """Run the ONNX files with ONNX Runtime and compare them with Keras.

    Checks `log_prob` on `images`, and a full sample driven pixel by pixel
    through `sample_step.onnx` and one through `sample.onnx` against
    `model.sample(noise=...)`.

    Returns:
        The largest relative log_prob difference.
    """
    if sig.has_encoder(model):
        (codes,) = _session(path, "encode.onnx").run(
            [sig.CODES], {sig.IMAGES: np.asarray(images, "int32")}
        )
        assert_close_codes(model.encode(images), codes, path)
    session = _session(path, "log_prob.onnx")
    feed, expected = log_prob_feed(model, images, seed)
    (got,) = session.run([sig.LOG_PROB], feed)
    diff = assert_close_log_prob(expected, got, rtol, path)
    step = _session(path, "sample_step.onnx")
    noise = np.random.default_rng(seed).random(
        (num_samples, model.num_positions, model.noise_dims),
        "float32",
    )
    names = [o.name for o in step.get_outputs()]
    condition = example_conditions(model, num_samples)
    canvas = sig.drive_sample_steps(
        model,
        noise,
        lambda feed: dict(zip(names, step.run(names, feed))),
        condition,
    )
    expected = model.sample(noise=noise, conditional_input=condition, verbose=0)
    assert_same_images(
        model, expected, canvas, noise, condition, f"{path} sample_step.onnx"
    )
    feed = {sig.NOISE: noise}
    if condition is not None:
        feed[sig.CONDITIONAL_INPUT] = condition
    (images,) = _session(path, "sample.onnx").run([sig.IMAGES], feed)
    assert_same_images(
        model, expected, images, noise, condition, f"{path} sample.onnx"
    )
    return diff


def _encode_function(model):
    if not sig.has_encoder(model):
        return ()
    return (
        (
            "encode",
            tf_functions.encode_function(model),
            [tf_functions.image_spec(model, sig.IMAGES)],
        ),
    )


def _session(path, filename):
    import onnxruntime

    file = os.path.join(path, filename)
    if not os.path.isfile(file):
        raise ValueError(
            f"Invalid value for argument `path`: no {filename} in {path!r}. "
            "Export it with export_onnx first."
        )
    return onnxruntime.InferenceSession(
        file, providers=["CPUExecutionProvider"]
    )


def _name_batch_axis(proto):
    # tf2onnx names unknown dimensions unk__N; call the batch axis "batch".
    for value in list(proto.graph.input) + list(proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and dims[0].dim_param:
            dims[0].dim_param = "batch"
