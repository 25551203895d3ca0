"""The rules exported graphs put on the core, and why: owned here.

`kerpix.export` traces a model's `log_prob` and its one sampling step
(`DensityModel.sample_step`, the starts it runs under graph conditionals)
to a SavedModel and, through tf2onnx, to ONNX, and `sample.onnx` runs
that step inside ONNX `Loop`s. A few ways of writing plain Keras code do
not survive that trip, or make the exported step slow in ONNX Runtime.
The core (`kerpix/ops`, `layers`, `heads`, `models`) is written so that
every runtime runs the same arithmetic, and where a line of it is shaped
by one of these rules it cites the rule by name ("export graph rule
`scatter-writes`"); the reasons and measurements are here, once.
`tests/export/graph_rules_test.py` checks that the core names no
exporter itself, that every cited rule exists, and that every rule here
is cited.

Rules (name: what the core does; why):
"""

RULES = {
    "portable-special": (
        "Special functions (the normal quantile of `kerpix.ops.special`, "
        "`log(1 - exp(-w))` of the logistic mixture) are elementary "
        "`keras.ops`: ONNX has no inverse error function and no `expm1`, "
        "and one formula gives every runtime the same values."
    ),
    "rolled-loops": (
        "Exporters trace inside `kerpix.ops.loops.rolled_loops()`, where "
        "the layers' static loops (the Diagonal BiLSTM's skewed scan) "
        "build one while loop instead of unrolled copies of their body: "
        "unrolled, converting a 6×6×3 Diagonal BiLSTM PixelRNN to ONNX "
        "took 495 s (issue 20; `python benchmarks/onnx_export_time.py`). "
        "Training keeps the unrolled form its speed was measured with. "
        "Inside a rolled loop, inputs are read by index and outputs "
        "written by scatter: tf2onnx writes tensor lists with an invalid "
        "dtype."
    ),
    "narrow-conditionals": (
        "An exported step runs the image and row starts under graph "
        "conditionals (`kerpix.ops.loops.cond_update`). With every state "
        "entry passing through, tf2onnx failed to convert the steps whose "
        "starts return entries unchanged (Row LSTM, RIDE, the multi-scale "
        "PixelRNN: \"Cannot find node with output 'cond:4'\"), so only "
        "the replaced entries pass (`Backbone.narrow_start_conditionals`, "
        "True by default). The Gated PixelCNN passes the whole state: "
        "narrowing made its exported step 7× slower in ONNX Runtime "
        "(2.24 s against 0.30 s for 8 images of 28×28 when `sample.onnx` "
        "looped it). `sample.onnx` and `sample_step.onnx` now run the "
        "starts as graphs of their own (`kerpix.export.onnx_loops`); only "
        "the multi-scale model's staged step still reaches tf2onnx "
        "through these conditionals."
    ),
    "no-branches-in-step": (
        "The multi-scale model's staged step computes both stages and "
        "selects by position (`ops.where`) instead of a graph "
        "conditional: an ONNX `If` around the stages did not convert."
    ),
    "scatter-writes": (
        "Writing one pixel into a map (`kerpix.ops.pixels.update_pixel`) "
        "is a scatter (`ScatterND` in ONNX), not a dynamic slice update, "
        "whose TensorFlow lowering (`XlaDynamicUpdateSlice`) has no ONNX "
        "counterpart."
    ),
    "few-nodes-per-step": (
        "ONNX Runtime's cost per sampling step grows with the step "
        "graph's node count (`python benchmarks/onnx_sampling_speed.py`): "
        "a step computes the batch's row numbers for its cache writes once "
        "(`kerpix.ops.pixels.batch_rows`), reads with slices whose batch "
        "size is -1 rather than `ops.take` (no negative-index "
        "correction), and computes a masked window as one matmul of the "
        "flattened window rather than an einsum (a dozen shape nodes "
        "around it)."
    ),
    "no-conv-in-step": (
        "Convolutions inside a sampling step (a row start's masked "
        "convolution of the finished row, the conditioning maps computed "
        "at the image start, 1×1 layers at one pixel) are matmuls or sums "
        "of einsums over shifted copies, with the same values: inside a "
        "graph conditional tf2onnx loses the shape a `Conv` needs, and it "
        "cannot place a convolution inside an ONNX `Loop` "
        "(`sample.onnx`). A concatenate inside the step's conditional did "
        "not convert either (the gated block reorders its channels with "
        "one gather)."
    ),
    "static-rank": (
        "Inside ONNX loops tf2onnx may not know a tensor's rank: reshapes "
        "use static sizes where known and -1 for the batch (not a "
        "computed shape), and axes are counted from the front, not with "
        "negative indices."
    ),
}


def rule(name):
    """The text of the rule `name`."""
    if name not in RULES:
        raise ValueError(
            "Invalid value for argument `name`. Expected one of "
            f"{sorted(RULES)}. Received: name={name!r}"
        )
    return RULES[name]
