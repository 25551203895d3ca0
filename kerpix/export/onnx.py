"""ONNX export: `log_prob.onnx` and `signature.json`."""

import json
import os

import numpy as np
import tensorflow as tf

from kerpix.export import signatures
from kerpix.export.saved_model import _compare

OPSET = 17


def export_onnx(model, path):
    """Write `log_prob.onnx` and `signature.json` into folder `path`.

    `log_prob.onnx` takes `images` int32 `[batch, H, W, C]` and returns
    `log_prob` (nats) and `bits_per_dim`, float32 `[batch]`.

    Returns:
        The folder written.
    """
    import tf2onnx

    os.makedirs(path, exist_ok=True)
    spec = tf.TensorSpec(
        (None,) + model.image_shape,
        signatures.IMAGE_DTYPE,
        name=signatures.IMAGES,
    )
    fn = tf.function(
        lambda images: signatures.log_prob_outputs(model, images),
        input_signature=[spec],
    )
    proto, _ = tf2onnx.convert.from_function(
        fn, input_signature=[spec], opset=OPSET
    )
    _name_batch_axis(proto)
    with open(os.path.join(path, "log_prob.onnx"), "wb") as f:
        f.write(proto.SerializeToString())
    with open(os.path.join(path, "signature.json"), "w") as f:
        json.dump(signatures.signature(model), f, indent=2)
        f.write("\n")
    return path


def check_onnx(model, path, images, rtol=1e-4):
    """Run `log_prob.onnx` with ONNX Runtime and compare with Keras.

    Raises `AssertionError` on a mismatch; returns the largest relative
    difference.
    """
    import onnxruntime

    file = os.path.join(path, "log_prob.onnx")
    if not os.path.isfile(file):
        raise ValueError(
            f"Invalid value for argument `path`: no log_prob.onnx in "
            f"{path!r}. Export it with export_onnx first."
        )
    session = onnxruntime.InferenceSession(
        file, providers=["CPUExecutionProvider"]
    )
    (got,) = session.run(
        [signatures.LOG_PROB],
        {signatures.IMAGES: np.asarray(images, "int32")},
    )
    return _compare(model.log_prob(images), got, rtol, file)


def _name_batch_axis(proto):
    # tf2onnx names unknown dimensions unk__N; call the batch axis "batch".
    for value in list(proto.graph.input) + list(proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and dims[0].dim_param:
            dims[0].dim_param = "batch"
