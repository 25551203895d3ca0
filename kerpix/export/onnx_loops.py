"""`sample.onnx`: the whole sampling loop as ONNX `Loop`s around converted
step graphs (one `session.run` samples a batch of images).

ONNX Runtime runs a loop body node by node, and its cost per step grows
with the body's node count more than with its arithmetic (0.4-0.6 µs per
node and pixel at batch 8 for the PixelCNN, Row LSTM and RIDE:
`benchmarks/results/onnx_sampling_speed.json`), so the loops are built
by hand around graphs that tf2onnx converts once each, and the body of
the loop over pixels is the pixel step alone:

- `sample_rows`, for models whose steps are the pixels in raster order:
  `RowProgram`'s structure — `start_image` once, a `Loop` over rows whose
  body runs `start_row` and a `Loop` over the row's pixels whose body is
  `pixel_step`; pixel values leave as scan outputs (no canvas is written
  per step), and no graph conditional runs per pixel.
- `sample_step_rows`, `sample_step.onnx` of the same models from the
  same pieces: `If` nodes choose `start_image` (position 0) and
  `start_row` (a row's first pixel), then `pixel_step` and a scatter into
  the canvas. Converting `sample_step` whole, its conditionals around the
  starts took tf2onnx 159 of the Diagonal BiLSTM's 220 export seconds
  (`benchmarks/onnx_export_time.py`); the pieces are converted anyway.
- `sample_loop`, for the others (the multi-scale model's staged steps
  over its small image and then the full one): one `Loop` over the
  positions whose body is `sample_step.onnx`'s graph.
"""

import numpy as np

import kerpix.export.signatures as sig
from kerpix.export.tf_functions import ROW
from kerpix.export.tf_functions import VALUES


def sample_rows(model, pixel_step, start_row, start_image=None):
    """`sample.onnx` from the converted `pixel_step`, `start_row` and (for
    models whose `starts_images`) `start_image` graphs of
    `kerpix.export.tf_functions`: `noise` `[batch, H*W, noise_dims]` (and
    `conditional_input`) -> `images`, equal to `model.sample(noise=...)`.
    """
    from onnx import TensorProto
    from onnx import helper

    height, width, channels = model.image_shape
    num_states = len(sig.state_shapes(model))
    states = [sig.state_name(k) for k in range(num_states)]
    next_states = [sig.next_state_name(k) for k in range(num_states)]
    conditional = _conditional_inputs(pixel_step)
    nodes = _initial_states(model, "initial")
    current = [f"initial_{k}" for k in range(num_states)]
    if start_image is not None:
        image_states = [f"image_state_{k}" for k in range(num_states)]
        nodes += _inline(
            start_image.graph,
            "start_image/",
            dict(zip(states, current)),
            dict(zip(next_states, image_states)),
        )
        current = image_states

    # Loop over the pixels of row `row` (the outer body's iteration). It
    # carries only the states a pixel step changes: those it passes through
    # (the row above, conditioning maps) are read from the row's scope
    # rather than copied through every pixel.
    row_states = [f"row_state_{k}" for k in range(num_states)]
    fixed = _passed_through(pixel_step.graph, states, next_states)
    carried = [k for k in range(num_states) if k not in fixed]
    step_nodes = _inline(
        pixel_step.graph,
        "pixel_step/",
        {
            sig.POSITION: "position",
            sig.NOISE: "pixel_noise",
            **{
                s: row_states[k] if k in fixed else f"pixel_in_{k}"
                for k, s in enumerate(states)
            },
        },
        {
            VALUES: "pixel_values",
            **{s: f"pixel_out_{k}" for k, s in enumerate(next_states)},
        },
    )
    unused = {f"pixel_out_{k}" for k in fixed}
    step_nodes = [n for n in step_nodes if not set(n.output) <= unused]
    pixel_body = helper.make_graph(
        [
            helper.make_node("Mul", ["row", "width"], ["row_start"]),
            helper.make_node("Add", ["row_start", "column"], ["position"]),
            helper.make_node(
                "Gather", [sig.NOISE, "position"], ["pixel_noise"], axis=1
            ),
            helper.make_node("Identity", ["pixel_cond"], ["pixel_cond_out"]),
        ]
        + step_nodes,
        "pixels",
        [
            helper.make_tensor_value_info("column", TensorProto.INT64, []),
            helper.make_tensor_value_info("pixel_cond", TensorProto.BOOL, []),
        ]
        + _renamed_values(
            pixel_step.graph.input,
            [states[k] for k in carried],
            "pixel_in_",
            [str(k) for k in carried],
        ),
        [helper.make_tensor_value_info("pixel_cond_out", TensorProto.BOOL, [])]
        + _renamed_values(
            pixel_step.graph.output,
            [next_states[k] for k in carried],
            "pixel_out_",
            [str(k) for k in carried],
        )
        + [
            helper.make_tensor_value_info(
                "pixel_values", TensorProto.INT32, ["batch", channels]
            )
        ],
    )
    # Loop over rows: the row's start, then its pixels.
    row_outputs = [
        row_states[k] if k in fixed else f"row_out_{k}"
        for k in range(num_states)
    ]
    row_body = helper.make_graph(
        [helper.make_node("Identity", ["row_cond"], ["row_cond_out"])]
        + _inline(
            start_row.graph,
            "start_row/",
            {
                ROW: "row",
                **{s: f"row_in_{k}" for k, s in enumerate(states)},
            },
            dict(zip(next_states, row_states)),
        )
        + [
            helper.make_node(
                "Loop",
                ["width", "keep_going"] + [row_states[k] for k in carried],
                [f"row_out_{k}" for k in carried] + ["row_values"],
                body=pixel_body,
            )
        ],
        "rows",
        [
            helper.make_tensor_value_info("row", TensorProto.INT64, []),
            helper.make_tensor_value_info("row_cond", TensorProto.BOOL, []),
        ]
        + _renamed_values(pixel_step.graph.input, states, "row_in_"),
        [helper.make_tensor_value_info("row_cond_out", TensorProto.BOOL, [])]
        + _renamed_values(pixel_step.graph.output, next_states, "", row_outputs)
        + [
            helper.make_tensor_value_info(
                "row_values", TensorProto.INT32, [width, "batch", channels]
            )
        ],
    )
    nodes += [
        helper.make_node(
            "Loop",
            ["height", "keep_going"] + current,
            [f"final_state_{k}" for k in range(num_states)] + ["values"],
            body=row_body,
        ),
        # (H, W, N, C) -> (N, H, W, C)
        helper.make_node(
            "Transpose", ["values"], [sig.IMAGES], perm=[2, 0, 1, 3]
        ),
    ]
    return _sample_model(
        model,
        nodes,
        conditional,
        pixel_step.opset_import,
        height=height,
        width=width,
    )


def sample_step_rows(model, pixel_step, start_row, start_image=None):
    """`sample_step.onnx` from the same converted pieces as `sample_rows`:
    `(canvas, position, noise, [conditional_input], state_k...)` ->
    `(next_canvas, next_state_k...)`, what `model.sample_step` computes
    (`step_with_starts`, then the pixel written into the canvas)."""
    from onnx import TensorProto
    from onnx import helper

    height, width, channels = model.image_shape
    num_states = len(sig.state_shapes(model))
    states = [sig.state_name(k) for k in range(num_states)]
    next_states = [sig.next_state_name(k) for k in range(num_states)]
    nodes = [
        helper.make_node("Div", [sig.POSITION, "width"], ["row"]),
        helper.make_node("Mod", [sig.POSITION, "width"], ["column"]),
    ]
    current = states
    for name, graph, condition, wanted in (
        ("start_image", start_image, sig.POSITION, model.starts_images),
        ("start_row", start_row, "column", model.starts_rows),
    ):
        if graph is None or not wanted:
            continue
        started = [f"{name}_{k}" for k in range(num_states)]
        then_outputs = [f"{name}_then_{k}" for k in range(num_states)]
        else_outputs = [f"{name}_else_{k}" for k in range(num_states)]
        inputs = dict(zip(states, current))
        if name == "start_row":
            inputs[ROW] = "row"
        then_branch = helper.make_graph(
            _inline(
                graph.graph,
                f"{name}/",
                inputs,
                dict(zip(next_states, then_outputs)),
            ),
            f"{name}_then",
            [],
            _renamed_values(graph.graph.output, next_states, "", then_outputs),
        )
        else_branch = helper.make_graph(
            [
                helper.make_node("Identity", [c], [e])
                for c, e in zip(current, else_outputs)
            ],
            f"{name}_else",
            [],
            _renamed_values(graph.graph.output, next_states, "", else_outputs),
        )
        nodes += [
            helper.make_node(
                "Equal", [condition, "zero_scalar"], [f"{name}_now"]
            ),
            helper.make_node(
                "If",
                [f"{name}_now"],
                started,
                then_branch=then_branch,
                else_branch=else_branch,
            ),
        ]
        current = started
    nodes += _inline(
        pixel_step.graph,
        "pixel_step/",
        {
            sig.POSITION: sig.POSITION,
            sig.NOISE: sig.NOISE,
            **dict(zip(states, current)),
        },
        {VALUES: "values", **{s: s for s in next_states}},
    )
    # next_canvas = canvas with (n, row, column) set to values[n].
    nodes += [
        helper.make_node("Shape", [sig.NOISE], ["noise_shape"]),
        helper.make_node(
            "Slice", ["noise_shape", "zero", "one"], ["batch_size"]
        ),
        helper.make_node("Squeeze", ["batch_size", "zero"], ["batch_scalar"]),
        helper.make_node(
            "Range",
            ["zero_scalar", "batch_scalar", "one_scalar"],
            ["image_numbers"],
        ),
        helper.make_node(
            "Unsqueeze", ["image_numbers", "one"], ["image_index"]
        ),
        helper.make_node(
            "Concat", ["batch_size", "one"], ["index_shape"], axis=0
        ),
        helper.make_node("Expand", ["row", "index_shape"], ["row_index"]),
        helper.make_node("Expand", ["column", "index_shape"], ["col_index"]),
        helper.make_node(
            "Concat",
            ["image_index", "row_index", "col_index"],
            ["indices"],
            axis=1,
        ),
        helper.make_node(
            "ScatterND", [sig.CANVAS, "indices", "values"], [sig.NEXT_CANVAS]
        ),
    ]
    canvas_type = helper.make_tensor_value_info(
        sig.CANVAS, TensorProto.INT32, ["batch", height, width, channels]
    )
    graph = helper.make_graph(
        nodes,
        "sample_step",
        [
            canvas_type,
            helper.make_tensor_value_info(sig.POSITION, TensorProto.INT64, []),
            helper.make_tensor_value_info(
                sig.NOISE, TensorProto.FLOAT, ["batch", model.noise_dims]
            ),
        ]
        + _conditional_inputs(pixel_step)
        + _renamed_values(pixel_step.graph.input, states, "", states),
        [
            helper.make_tensor_value_info(
                sig.NEXT_CANVAS,
                TensorProto.INT32,
                ["batch", height, width, channels],
            )
        ]
        + _renamed_values(
            pixel_step.graph.output, next_states, "", next_states
        ),
        initializer=[
            helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
            helper.make_tensor("one", TensorProto.INT64, [1], [1]),
            helper.make_tensor("zero_scalar", TensorProto.INT64, [], [0]),
            helper.make_tensor("one_scalar", TensorProto.INT64, [], [1]),
            helper.make_tensor("width", TensorProto.INT64, [], [width]),
        ],
    )
    step = helper.make_model(
        graph, opset_imports=pixel_step.opset_import, producer_name="kerpix"
    )
    step.ir_version = helper.find_min_ir_version_for(list(step.opset_import))
    return step


def sample_loop(model, step):
    """`sample.onnx` from `sample_step.onnx`'s model `step`: an ONNX `Loop`
    over the `num_positions` positions whose body is the step graph itself
    (position = iteration number, noise = that position's slice of the
    input), from zero canvas and states.
    """
    from onnx import TensorProto
    from onnx import helper

    num_states = len(sig.state_shapes(model))
    states = [sig.state_name(k) for k in range(num_states)]
    next_states = [sig.next_state_name(k) for k in range(num_states)]
    body = helper.make_graph(
        [
            helper.make_node(
                "Gather", [sig.NOISE, "iteration"], ["step_noise"], axis=1
            ),
            helper.make_node("Identity", ["condition"], ["condition_out"]),
        ]
        + _inline(
            step.graph,
            "sample_step/",
            {
                sig.POSITION: "iteration",
                sig.NOISE: "step_noise",
                sig.CANVAS: "step_canvas",
                **{s: f"step_in_{k}" for k, s in enumerate(states)},
            },
            {
                sig.NEXT_CANVAS: "step_next_canvas",
                **{s: f"step_out_{k}" for k, s in enumerate(next_states)},
            },
        ),
        "sample_step_body",
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("condition", TensorProto.BOOL, []),
        ]
        + _renamed_values(step.graph.input, [sig.CANVAS], "step_", ["canvas"])
        + _renamed_values(step.graph.input, states, "step_in_"),
        [helper.make_tensor_value_info("condition_out", TensorProto.BOOL, [])]
        + _renamed_values(
            step.graph.output, [sig.NEXT_CANVAS], "step_", ["next_canvas"]
        )
        + _renamed_values(step.graph.output, next_states, "step_out_"),
    )
    canvas = (model.image_shape, sig.IMAGE_DTYPE)
    nodes = _initial_states(model, "initial", extra=[canvas])
    nodes.append(
        helper.make_node(
            "Loop",
            ["num_positions", "keep_going", f"initial_{num_states}"]
            + [f"initial_{k}" for k in range(num_states)],
            [sig.IMAGES] + [f"final_state_{k}" for k in range(num_states)],
            body=body,
        )
    )
    return _sample_model(
        model,
        nodes,
        _conditional_inputs(step),
        step.opset_import,
        num_positions=model.num_positions,
    )


# === Helpers ===


def _inline(graph, prefix, inputs, outputs):
    """`graph`'s nodes for insertion into another graph: its inputs read
    the names `inputs` maps them to (unmapped ones, e.g.
    `conditional_input`, read the outer graph's value of that name), its
    outputs are written under the names `outputs` maps them to, and every
    other name (nodes, intermediate values, initializers as `Constant`
    nodes, the names inside nested graphs) gets `prefix`, so that graphs
    converted separately never share a name."""
    from onnx import helper

    graph_inputs = {value.name for value in graph.input}

    def name(n):
        if not n or n in graph_inputs:
            return inputs.get(n, n)
        return outputs.get(n, prefix + n)

    nodes = [
        helper.make_node("Constant", [], [name(tensor.name)], value=tensor)
        for tensor in graph.initializer
    ]
    for node in graph.node:
        nodes.append(_renamed_node(node, prefix, name))
    # An output that is an input passed through needs a node writing it.
    for value in graph.output:
        if value.name in graph_inputs:
            nodes.append(
                helper.make_node(
                    "Identity", [name(value.name)], [outputs[value.name]]
                )
            )
    return nodes


def _renamed_node(node, prefix, name):
    """A copy of `node` reading and writing `name(n)` for each name `n`,
    nested graphs included (their own names get `prefix`)."""
    copy = type(node)()
    copy.CopyFrom(node)
    copy.name = prefix + node.name if node.name else ""
    copy.input[:] = [name(n) for n in node.input]
    copy.output[:] = [name(n) for n in node.output]
    for attribute in copy.attribute:
        for graph in [attribute.g] if attribute.HasField("g") else []:
            _rename_nested(graph, prefix, name)
        for graph in attribute.graphs:
            _rename_nested(graph, prefix, name)
    return copy


def _rename_nested(graph, prefix, outer):
    """Rename a nested graph (an `If` branch, a `Loop` body) in place: its
    own names get `prefix`, its outer-scope references `outer(n)`."""
    local = {value.name for value in graph.input}
    local |= {tensor.name for tensor in graph.initializer}
    local |= {n for node in graph.node for n in node.output}

    def name(n):
        return prefix + n if n in local else outer(n)

    for tensor in graph.initializer:
        tensor.name = name(tensor.name)
    for value in list(graph.input) + list(graph.output):
        value.name = name(value.name)
    renamed = [_renamed_node(node, prefix, name) for node in graph.node]
    del graph.node[:]
    graph.node.extend(renamed)


def _passed_through(graph, inputs, outputs):
    """Indices `k` for which `graph` writes `outputs[k]` as `inputs[k]`
    unchanged (through `Identity` nodes)."""
    source = {
        node.output[0]: node.input[0]
        for node in graph.node
        if node.op_type == "Identity"
    }
    fixed = set()
    for k, name in enumerate(outputs):
        while name in source:
            name = source[name]
        if name == inputs[k]:
            fixed.add(k)
    return fixed


def _renamed_values(values, names, prefix, new_names=None):
    """Copies of the `values` (graph inputs or outputs) named `names`,
    renamed `prefix + k` (or `prefix + new_names[k]`), in `names`' order."""
    by_name = {value.name: value for value in values}
    copies = []
    for k, n in enumerate(names):
        copy = type(by_name[n])()
        copy.CopyFrom(by_name[n])
        copy.name = prefix + (new_names[k] if new_names else str(k))
        copies.append(copy)
    return copies


def _initial_states(model, prefix, extra=()):
    """Nodes writing zero states `prefix_k` (batch from the noise input),
    then `extra` `(shape, dtype)` zero tensors after them."""
    from onnx import TensorProto
    from onnx import helper

    nodes = [
        helper.make_node("Shape", [sig.NOISE], ["noise_shape"]),
        helper.make_node(
            "Slice", ["noise_shape", "zero", "one"], ["batch_size"]
        ),
    ]
    for k, (shape, dtype) in enumerate(
        list(sig.state_shapes(model)) + list(extra)
    ):
        elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        nodes += [
            helper.make_node(
                "Constant",
                [],
                [f"{prefix}_shape_{k}"],
                value=helper.make_tensor(
                    "", TensorProto.INT64, [len(shape)], list(shape)
                ),
            ),
            helper.make_node(
                "Concat",
                ["batch_size", f"{prefix}_shape_{k}"],
                [f"{prefix}_full_shape_{k}"],
                axis=0,
            ),
            helper.make_node(
                "ConstantOfShape",
                [f"{prefix}_full_shape_{k}"],
                [f"{prefix}_{k}"],
                value=helper.make_tensor("", elem, [1], [0]),
            ),
        ]
    return nodes


def _sample_model(model, nodes, conditional, opset_import, **counts):
    """The `sample.onnx` model around `nodes`: inputs `noise` (and the
    `conditional` ones), output `images`, and the constants the nodes
    read (`zero`, `one`, `keep_going`, and `counts` as int64 scalars)."""
    from onnx import TensorProto
    from onnx import helper

    graph = helper.make_graph(
        nodes,
        "sample",
        [_noise_input(model)] + conditional,
        [
            helper.make_tensor_value_info(
                sig.IMAGES,
                TensorProto.INT32,
                ["batch"] + list(model.image_shape),
            )
        ],
        initializer=[
            helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
            helper.make_tensor("one", TensorProto.INT64, [1], [1]),
            helper.make_tensor("keep_going", TensorProto.BOOL, [], [True]),
        ]
        + [
            helper.make_tensor(name, TensorProto.INT64, [], [value])
            for name, value in counts.items()
        ],
    )
    model = helper.make_model(
        graph, opset_imports=opset_import, producer_name="kerpix"
    )
    # make_model stamps the installed onnx's newest IR version, which
    # older runtimes refuse; the lowest the opsets need opens everywhere
    # they do (ONNX Runtime 1.x reading opset 17).
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    return model


def _noise_input(model):
    from onnx import TensorProto
    from onnx import helper

    return helper.make_tensor_value_info(
        sig.NOISE,
        TensorProto.FLOAT,
        ["batch", model.num_positions, model.noise_dims],
    )


def _conditional_inputs(step):
    return [v for v in step.graph.input if v.name == sig.CONDITIONAL_INPUT]
