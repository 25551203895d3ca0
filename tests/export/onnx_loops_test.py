"""`sample.onnx`'s loops: the pixel loop runs the pixel step alone."""

import os

import numpy as np
import pytest

from kerpix import models

pytestmark = pytest.mark.tensorflow_only


def loops(graph):
    return [node for node in graph.node if node.op_type == "Loop"]


def node_types(graph):
    """Op types of `graph`'s nodes and of every nested graph's."""
    types = []
    for node in graph.node:
        types.append(node.op_type)
        for attribute in node.attribute:
            if attribute.HasField("g"):
                types += node_types(attribute.g)
    return types


@pytest.mark.parametrize(
    "make, fixed",
    [
        # The plain PixelCNN's step changes every state entry.
        (lambda: models.PixelCNN((3, 4, 1), 4, filters=4, num_layers=1), 0),
        # A Row LSTM's step reads the row above without writing it (h and
        # c of each layer): the pixel loop does not carry them.
        (
            lambda: models.RowLSTMPixelRNN(
                (3, 4, 1), num_levels=4, units=2, num_layers=2
            ),
            4,
        ),
    ],
)
def test_sample_onnx_loops_over_rows_and_pixels(make, fixed, tmp_path):
    import onnx
    import onnxruntime

    from kerpix.export import export_onnx
    from kerpix.export.signatures import state_shapes

    model = make()
    export_onnx(model, str(tmp_path))
    graph = onnx.load(os.path.join(tmp_path, "sample.onnx")).graph
    (rows,) = loops(graph)
    row_body = rows.attribute[0].g
    (pixels,) = loops(row_body)
    pixel_body = pixels.attribute[0].g
    # No graph conditional per pixel (the starts run once per row), and
    # no canvas: values leave as the loops' scan outputs.
    assert "If" not in node_types(pixel_body)
    carried = len(pixels.input) - 2
    assert carried == len(state_shapes(model)) - fixed
    noise = np.random.default_rng(0).random(
        (3, model.num_positions, model.noise_dims), "float32"
    )
    session = onnxruntime.InferenceSession(
        os.path.join(tmp_path, "sample.onnx"),
        providers=["CPUExecutionProvider"],
    )
    (images,) = session.run(["images"], {"noise": noise})
    np.testing.assert_array_equal(images, model.sample(noise=noise, verbose=0))


def test_onnx_files_follow_the_contract_and_open_on_older_runtimes(tmp_path):
    """Every file carries the lowest IR version its opsets need (an
    onnx-stamped newest one is refused by older ONNX Runtimes), and its
    inputs and outputs come in signature.json's order, so a client that
    fetches by position gets log_prob first."""
    import json

    import onnx
    import onnxruntime
    from onnx import helper

    from kerpix.export import export_onnx

    model = models.PixelCNN((3, 4, 1), 4, filters=4, num_layers=1)
    export_onnx(model, str(tmp_path))
    with open(os.path.join(tmp_path, "signature.json")) as f:
        endpoints = json.load(f)["endpoints"]
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith(".onnx"))
    assert files == ["log_prob.onnx", "sample.onnx", "sample_step.onnx"]
    for endpoint in endpoints.values():
        if "file" not in endpoint:
            continue
        proto = onnx.load(os.path.join(tmp_path, endpoint["file"]))
        opsets = list(proto.opset_import)
        assert proto.ir_version == helper.find_min_ir_version_for(opsets)
        assert proto.ir_version <= 8, endpoint["file"]
        inputs = [t["name"] for t in endpoint["inputs"]]
        outputs = [t["name"] for t in endpoint["outputs"]]
        assert [v.name for v in proto.graph.input] == inputs
        assert [v.name for v in proto.graph.output] == outputs
    session = onnxruntime.InferenceSession(
        os.path.join(tmp_path, "log_prob.onnx"),
        providers=["CPUExecutionProvider"],
    )
    images = np.random.default_rng(0).integers(0, 4, (2, 3, 4, 1))
    log_prob, bits = session.run(None, {"images": images.astype("int32")})
    np.testing.assert_allclose(log_prob, model.log_prob(images), rtol=1e-5)
    np.testing.assert_allclose(bits, -log_prob / (12 * np.log(2)), rtol=1e-5)
