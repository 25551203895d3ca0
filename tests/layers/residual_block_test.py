import keras
import numpy as np
import pytest

from kerpix import testing
from kerpix.layers import ResidualBlock


@pytest.mark.parametrize("colors", [1, 3])
def test_gradient_causality_mask_b(colors):
    # 8 channels per colour so that random ReLUs leave every path alive
    # for some of the test inputs.
    block = ResidualBlock(filters=8 * colors, num_color_channels=colors)
    shape = (6, 6, colors)

    def fn(x):
        # Repeat each colour 8 times: contiguous colour groups as the block
        # expects.
        return block(keras.ops.repeat(x, 8, axis=-1))

    for site in [(3, 3, 0), (3, 3, colors - 1), (5, 0, 0)]:
        expected = testing.masked_conv_receptive_field(
            [("residual", 3)], shape, site
        )
        testing.assert_causal(fn, shape, site, expected=expected, strict=False)


def test_shape_and_serialization():
    block = ResidualBlock(filters=6, kernel_size=5, num_color_channels=3)
    assert tuple(block(np.zeros((2, 4, 4, 6))).shape) == (2, 4, 4, 6)
    assert len(block.trainable_weights) == 6
    testing.run_serialization_test(block)


def test_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `filters`\. Expected an integer "
        r">= 2 \(the inner layers use filters // 2\)\. Received: filters=1",
    ):
        ResidualBlock(filters=1)
    with pytest.raises(
        ValueError,
        match=r"ResidualBlock with filters=4 needs inputs with 4 channels\. "
        r"Received: input_shape=\(2, 3, 3, 5\)",
    ):
        ResidualBlock(filters=4)(np.zeros((2, 3, 3, 5)))


@pytest.mark.parametrize("colors", [1, 3])
def test_step_in_raster_order_equals_the_full_block(colors):
    block = ResidualBlock(filters=6, num_color_channels=colors)
    testing.assert_layer_step_matches_call(block, (4, 5, 6))
    assert len(block.initial_cache(2, 5)) > 0  # two rows of a 3×3 kernel
