import keras
import numpy as np
import pytest

from kerpix import testing
from kerpix.layers import MaskedConv2D
from kerpix.ops import causal_mask


def np_masked_conv2d(x, kernel, bias, mask):
    """Independent reference: 'same' cross-correlation with kernel*mask."""
    k = kernel * mask
    kh, kw = k.shape[:2]
    pad = ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0))
    xp = np.pad(x, pad)
    n, h, w, _ = x.shape
    out = np.zeros((n, h, w, k.shape[-1]))
    for dy in range(kh):
        for dx in range(kw):
            out += xp[:, dy : dy + h, dx : dx + w] @ k[dy, dx]
    return out + bias


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("colors", [1, 3])
def test_matches_numpy_reference(mask_type, colors):
    layer = MaskedConv2D(
        2 * colors,
        (3, 5),
        mask_type=mask_type,
        num_color_channels=colors,
        bias_initializer="random_normal",
    )
    x = np.random.default_rng(0).normal(size=(2, 6, 7, colors))
    got = keras.ops.convert_to_numpy(layer(x))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    bias = keras.ops.convert_to_numpy(layer.bias)
    mask = causal_mask((3, 5), mask_type, colors, 2 * colors, colors)
    np.testing.assert_allclose(
        got, np_masked_conv2d(x, kernel, bias, mask), atol=1e-5
    )


def test_output_shape_and_weights():
    layer = MaskedConv2D(4, 3, mask_type="A")
    y = layer(np.zeros((2, 5, 5, 1)))
    assert tuple(y.shape) == (2, 5, 5, 4)
    assert layer.compute_output_shape((2, 5, 5, 1)) == (2, 5, 5, 4)
    # The mask is a constant, not a weight.
    assert [w.name for w in layer.weights] == ["kernel", "bias"]


@pytest.mark.parametrize("mask_type, strict", [("A", True), ("B", False)])
@pytest.mark.parametrize("colors", [1, 3])
def test_gradient_causality(mask_type, strict, colors):
    layer = MaskedConv2D(
        2 * colors, 3, mask_type=mask_type, num_color_channels=colors
    )
    shape = (5, 5, colors)
    for site in [(2, 2, 0), (2, 2, colors - 1), (0, 0, 0), (4, 4, 0)]:
        # One layer reaches the 3×3 causal window of the site.
        window = np.zeros(shape, bool)
        i, j, _ = site
        window[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2] = True
        expected = window & testing.causal_past(shape, site, strict=strict)
        testing.assert_causal(
            layer, shape, site, expected=expected, strict=strict
        )


def test_serialization_round_trip():
    layer = MaskedConv2D(6, 5, mask_type="A", num_color_channels=3)
    again = testing.run_serialization_test(layer)
    assert again.mask_type == "A" and again.num_color_channels == 3


def test_trains_and_runs_in_mixed_precision():
    layer = MaskedConv2D(3, 3, mask_type="B", dtype="mixed_float16")
    y = layer(np.ones((1, 4, 4, 2), "float32"))
    assert keras.backend.standardize_dtype(y.dtype) == "float16"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(kernel_size=2),
            r"Invalid value for argument `kernel_size`\. The masked kernel "
            r"needs odd sizes so that the current pixel is centred; use "
            r"kernel_size=\(3, 3\) or \(5, 5\)\. Received: "
            r"kernel_size=\(2, 2\)",
        ),
        (
            dict(mask_type="C"),
            r"Invalid value for argument `mask_type`\. Expected one of "
            r"\"A\", \"B\", \"V\"\. Received: mask_type='C'",
        ),
        (
            dict(data_format="channels_first"),
            r"Invalid value for argument `data_format`\. kerpix models use "
            r"channels-last images \(N, H, W, C\); use "
            r"data_format=\"channels_last\"\. Received: "
            r"data_format='channels_first'",
        ),
        (
            dict(padding="valid"),
            r"Invalid value for argument `padding`\. A masked convolution "
            r"keeps the image size; use padding=\"same\"\. Received: "
            r"padding='valid'",
        ),
        (
            dict(strides=2),
            r"Invalid value for argument `strides`\. A masked convolution "
            r"keeps the image size; use strides=1\. Received: strides=2",
        ),
        (
            dict(groups=2),
            r"Invalid value for argument `groups`\. Grouped convolution "
            r"would break the colour masking; use groups=1\. Received: "
            r"groups=2",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs = {"filters": 4, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        MaskedConv2D(**kwargs)


@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("colors", [1, 3])
def test_call_at_pixel_equals_the_full_convolution(dilation, colors):
    layer = MaskedConv2D(
        2 * colors,
        (3, 5),
        mask_type="A",
        num_color_channels=colors,
        dilation_rate=dilation,
        bias_initializer="random_normal",
    )
    x = np.random.default_rng(0).normal(size=(2, 5, 6, colors))
    full = keras.ops.convert_to_numpy(layer(x))
    cache = layer.initial_cache(2, 6)
    # The buffer holds the centre row and those above: 2 rows (3 with
    # dilation 2), however tall the image.
    assert tuple(cache.shape) == (2, 1 + dilation, 6 + 4 * dilation, colors)
    by_row = layer.initial_cache(2, 6)
    for i in range(5):
        cache = layer.next_row(cache)  # the current row keeps stale values
        for j in range(6):  # raster order
            cache = layer.cache_pixel(cache, j, x[:, i, j])
            got = keras.ops.convert_to_numpy(layer.call_at_pixel(cache, j))
            np.testing.assert_allclose(got, full[:, i, j], atol=1e-5)
        row = keras.ops.convert_to_numpy(layer.call_at_row(cache))
        np.testing.assert_allclose(row, full[:, i], atol=1e-5)
        # Pushing a whole row gives what the pixel writes gave.
        by_row = layer.push_row(by_row, x[:, i])
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(by_row),
            keras.ops.convert_to_numpy(cache),
        )


def test_call_pointwise_equals_a_1x1_convolution():
    layer = MaskedConv2D(6, 1, mask_type="B", num_color_channels=3)
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 6)).astype("float32")
    full = keras.ops.convert_to_numpy(layer(x))
    got = keras.ops.convert_to_numpy(layer.call_pointwise(x[:, 1, 2]))
    np.testing.assert_allclose(got, full[:, 1, 2], atol=1e-5)
    with pytest.raises(ValueError, match="call_pointwise needs a 1×1 kernel"):
        MaskedConv2D(2, 3).call_pointwise(x[:, 0, 0])
