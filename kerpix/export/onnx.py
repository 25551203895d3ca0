"""ONNX export: `log_prob.onnx`, `sample_step.onnx`, `sample.onnx` and
`signature.json`."""

import contextlib
import json
import os

import numpy as np

import kerpix.export.signatures as sig
import kerpix.export.tf_functions as tf_functions
from kerpix.export.compare import assert_close_codes
from kerpix.export.compare import assert_close_log_prob
from kerpix.export.compare import assert_same_images
from kerpix.export.compare import example_conditions
from kerpix.export.compare import log_prob_feed
from kerpix.ops.loops import rolled_loops

OPSET = 17


def export_onnx(model, path):
    """Write `log_prob.onnx`, `sample_step.onnx`, `sample.onnx` and
    `signature.json` (and `encode.onnx` for auto-encoders).

    `log_prob.onnx`: `images` int32 `[batch, H, W, C]` -> `log_prob`
    (nats) and `bits_per_dim`, float32 `[batch]`. `sample_step.onnx`: one
    pixel of sampling, states as explicit inputs `state_k` and outputs
    `next_state_k`, so any ONNX Runtime host drives sampling with its own
    loop (`export/onnx_sample.py` does, with NumPy alone). `sample.onnx`:
    the whole loop (an ONNX `Loop` over the positions around the step):
    `noise` float32 `[batch, num_positions, noise_dims]` -> `images`, one
    `session.run` per batch, equal to `model.sample(noise=...)`.

    Returns:
        The folder written.
    """
    import tf2onnx

    sig.check_exportable(model)
    os.makedirs(path, exist_ok=True)
    with rolled_loops(), _tf2onnx_without_graph_copies():
        _convert(model, path, tf2onnx)
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


def _convert(model, path, tf2onnx):
    for name, fn, specs in (
        (
            "log_prob",
            tf_functions.log_prob_function(model),
            tf_functions.log_prob_specs(model),
        ),
        (
            "sample_step",
            tf_functions.sample_step_function(model),
            tf_functions.sample_step_specs(model),
        ),
    ) + _encode_function(model):
        proto, _ = tf2onnx.convert.from_function(
            fn, input_signature=specs, opset=OPSET
        )
        _name_batch_axis(proto)
        _write(proto, path, f"{name}.onnx")
        if name == "sample_step":
            _write(sample_loop(model, proto), path, "sample.onnx")


def _write(proto, path, filename):
    with open(os.path.join(path, filename), "wb") as f:
        f.write(proto.SerializeToString())


def sample_loop(model, step):
    """`sample.onnx` from `sample_step.onnx`'s model `step`: an ONNX `Loop`
    over the `num_positions` positions whose body is the step graph itself
    (position = iteration number, noise = that position's slice of the
    input), from zero canvas and states. Built around the converted step
    rather than converted again: the export costs one step conversion.
    """
    from onnx import TensorProto
    from onnx import helper

    body = type(step.graph)()
    body.CopyFrom(step.graph)
    body.name = "sample_step_body"
    inputs = {value.name: value for value in body.input}
    carried = [sig.CANVAS] + [
        sig.state_name(k) for k in range(len(sig.state_shapes(model)))
    ]
    # The step reads its noise under another name: "noise" is the outer
    # graph's input (batch, num_positions, noise_dims).
    step_noise = "sample_step_noise"
    for node in body.node:
        node.input[:] = [
            step_noise if n == sig.NOISE else n for n in node.input
        ]
    del body.input[:]
    body.input.extend(
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("condition", TensorProto.BOOL, []),
        ]
        + [inputs[name] for name in carried]
    )
    body.node.insert(
        0, helper.make_node("Identity", ["iteration"], [sig.POSITION])
    )
    body.node.insert(
        0,
        helper.make_node(
            "Gather", [sig.NOISE, "iteration"], [step_noise], axis=1
        ),
    )
    body.node.append(
        helper.make_node("Identity", ["condition"], ["condition_out"])
    )
    outputs = {value.name: value for value in body.output}
    del body.output[:]
    body.output.extend(
        [helper.make_tensor_value_info("condition_out", TensorProto.BOOL, [])]
        + [outputs[sig.NEXT_CANVAS]]
        + [outputs[sig.next_state_name(k)] for k in range(len(carried) - 1)]
    )
    height, width, channels = model.image_shape
    nodes = [
        helper.make_node("Shape", [sig.NOISE], ["noise_shape"]),
        helper.make_node(
            "Slice", ["noise_shape", "zero", "one"], ["batch_size"]
        ),
        helper.make_node(
            "Constant",
            [],
            ["num_positions"],
            value=helper.make_tensor(
                "", TensorProto.INT64, [], [model.num_positions]
            ),
        ),
        helper.make_node(
            "Constant",
            [],
            ["keep_going"],
            value=helper.make_tensor("", TensorProto.BOOL, [], [True]),
        ),
    ]
    initial = []
    for k, (shape, dtype) in enumerate(
        [((height, width, channels), sig.IMAGE_DTYPE)] + sig.state_shapes(model)
    ):
        elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        nodes += [
            helper.make_node(
                "Constant",
                [],
                [f"initial_shape_{k}"],
                value=helper.make_tensor(
                    "", TensorProto.INT64, [len(shape)], list(shape)
                ),
            ),
            helper.make_node(
                "Concat",
                ["batch_size", f"initial_shape_{k}"],
                [f"initial_full_shape_{k}"],
                axis=0,
            ),
            helper.make_node(
                "ConstantOfShape",
                [f"initial_full_shape_{k}"],
                [f"initial_{k}"],
                value=helper.make_tensor("", elem, [1], [0]),
            ),
        ]
        initial.append(f"initial_{k}")
    nodes.append(
        helper.make_node(
            "Loop",
            ["num_positions", "keep_going"] + initial,
            [sig.IMAGES]
            + [f"final_state_{k}" for k in range(len(initial) - 1)],
            body=body,
        )
    )
    image = helper.make_tensor_value_info(
        sig.IMAGES, TensorProto.INT32, ["batch", height, width, channels]
    )
    outer_inputs = [
        helper.make_tensor_value_info(
            sig.NOISE,
            TensorProto.FLOAT,
            ["batch", model.num_positions, model.noise_dims],
        )
    ] + [v for v in step.graph.input if v.name == sig.CONDITIONAL_INPUT]
    graph = helper.make_graph(
        nodes,
        "sample",
        outer_inputs,
        [image],
        initializer=[
            helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
            helper.make_tensor("one", TensorProto.INT64, [1], [1]),
        ],
    )
    return helper.make_model(
        graph, opset_imports=step.opset_import, producer_name="kerpix"
    )


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
    assert_same_images(expected, canvas, f"{path} sample_step.onnx")
    feed = {sig.NOISE: noise}
    if condition is not None:
        feed[sig.CONDITIONAL_INPUT] = condition
    (images,) = _session(path, "sample.onnx").run([sig.IMAGES], feed)
    assert_same_images(expected, images, f"{path} sample.onnx")
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
