"""A new layer with a cached step, in one file: a 1×1 masked residual block.

    python examples/masked_1x1_block.py [--export DIR]

This file is all it takes to add a layer to kerpix's fast sampling: the
layer subclasses `kerpix.layers.CachedLayer` (the layer half of the
sampling-step protocol: `initial_cache`, `start_row`, `step`; a pointwise
layer keeps the defaults of the first two) and registers itself as a
`PixelCNNBackbone` block. `kerpix.models.PixelCNN(..., block=
"masked_1x1")` then stacks it; the model samples with the cached and the
naive sampler, saves, loads and exports like any PixelCNN.

The script registers a tiny model of it and runs kerpix's battery on it
(`kerpix.testing.run_density_model_test`: gradient causality with the
exact receptive field, normalisation by enumeration, cached == naive on
the same noise, config round trip), the layer's step against its full
pass, and a `.keras` round trip; with `--export DIR` (TensorFlow, tf2onnx
and onnxruntime installed) it exports SavedModel and ONNX and checks both
against Keras.
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerpix import layers  # noqa: E402
from kerpix import models  # noqa: E402
from kerpix import testing  # noqa: E402


@layers.register_block("masked_1x1")
@keras.saving.register_keras_serializable(package="kerpix_examples")
class Masked1x1Block(layers.CachedLayer):
    """`y = x + Conv1x1_B(ReLU(x))`: mixes a pixel's features, colour
    groups in order (mask B), and reads no other pixel, so it needs no
    cache and no row start."""

    def __init__(self, filters, kernel_size=1, num_color_channels=1, **kw):
        super().__init__(**kw)
        if kernel_size != 1:
            raise ValueError(
                "Invalid value for argument `kernel_size`. A masked 1×1 "
                f"block has kernel_size=1. Received: kernel_size={kernel_size}"
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.num_color_channels = num_color_channels
        self.conv = layers.MaskedConv2D(
            filters,
            1,
            mask_type="B",
            num_color_channels=num_color_channels,
            dtype=self.dtype_policy,
            name="conv",
        )

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, inputs):
        return inputs + self.conv(keras.activations.relu(inputs))

    def step(self, cache, inputs, i, j):
        inputs = keras.ops.convert_to_tensor(inputs, self.compute_dtype)
        x = self.conv.call_pointwise(keras.activations.relu(inputs))
        return inputs + x, cache

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "num_color_channels": self.num_color_channels,
            }
        )
        return config


def receptive_field(kwargs, image_shape, site):
    """What the head reads: the mask-A first layer's window only (the
    blocks and the head's 1×1 layers add no pixel)."""
    pointwise = [("conv", 1, "B")] * (kwargs["num_layers"] + 2)
    stack = [("conv", kwargs["first_kernel_size"], "A")] + pointwise
    return testing.masked_conv_receptive_field(stack, image_shape, site)


testing.register_tiny_model(
    "pixel_cnn_masked_1x1",
    "pixel_cnn",
    (5, 6, 3),
    8,
    filters=6,
    num_layers=2,
    kernel_size=1,
    first_kernel_size=3,
    block="masked_1x1",
    causal_field=receptive_field,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--export", default=None, help="export SavedModel and ONNX here"
    )
    args = parser.parse_args(argv)

    block = Masked1x1Block(6, num_color_channels=3)
    testing.assert_layer_step_matches_call(block, (4, 5, 6))
    print("Masked1x1Block.step matches its full pass")

    for check, reason in testing.run_density_model_test(
        "pixel_cnn_masked_1x1"
    ).items():
        print(f"{check}: {'passed' if reason is None else 'n/a: ' + reason}")

    model = testing.build_tiny_model("pixel_cnn_masked_1x1")
    assert type(model) is models.PixelCNN
    images = testing.tiny_models.example_images(model)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(
            loaded.log_prob(images), model.log_prob(images), rtol=1e-6
        )
    print(".keras round trip: passed")
    print("samples:", model.sample(2, seed=0, verbose=0).shape)

    if args.export:
        from kerpix import export

        base = export.export_saved_model(model, args.export)
        export.check_saved_model(model, base, images)
        onnx_path = os.path.join(args.export, "onnx")
        export.export_onnx(model, onnx_path)
        export.check_onnx(model, onnx_path, images)
        print(f"SavedModel and ONNX under {args.export}: checked")


if __name__ == "__main__":
    main()
