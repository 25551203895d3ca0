import keras
import numpy as np
import pytest

from kerpix import testing
from kerpix.layers import GatedPixelCNNBlock


@pytest.mark.parametrize("colors", [1, 3])
def test_first_block_horizontal_output_is_causal(colors):
    block = GatedPixelCNNBlock(
        8 * colors, 3, first=True, num_color_channels=colors
    )
    shape = (5, 5, colors)
    for site in [(3, 2, 0), (3, 2, colors - 1), (0, 0, 0)]:
        expected = testing.gated_receptive_field([3], shape, site)
        # The block alone (no output 1×1 layer): group c of h' reads h_pre
        # of groups <= c through its own mask-B 1×1, as the reference
        # assumes.
        testing.assert_causal(
            lambda x: block((x, x))[1], shape, site, expected=expected
        )


def test_vertical_stack_reaches_the_horizontal_only_one_row_down():
    block = GatedPixelCNNBlock(4, 3, first=True)
    shape = (5, 5, 1)
    # The vertical output itself sees its own row, right of the centre too.
    seen = testing.site_gradient(lambda x: block((x, x))[0], shape, (2, 2, 0))
    assert seen[2, 3, 0] and not seen[3].any()


def test_step_matches_the_full_block():
    block = GatedPixelCNNBlock(6, 3, num_color_channels=3)
    rng = np.random.default_rng(0)
    v = rng.normal(size=(2, 4, 5, 6)).astype("float32")
    h = rng.normal(size=(2, 4, 5, 6)).astype("float32")
    v_full, h_full = (keras.ops.convert_to_numpy(t) for t in block((v, h)))
    # Row buffers, as the backbone's step keeps them: the vertical input's
    # last rows, the horizontal input's current row.
    v_cache = block.vertical.initial_cache(2, 5)
    v_pre_above = np.zeros((2, 5, 12), "float32")
    for i in range(4):
        v_cache = block.vertical.push_row(v_cache, v[:, i])
        v_pre, v_row = block.vertical_row(v_cache)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(v_row), v_full[:, i], atol=1e-5
        )
        h_row = block.horizontal.initial_cache(2, 5)
        for j in range(5):
            out, h_row = block.horizontal_step(
                h_row, h[:, i, j], v_pre_above[:, j], j
            )
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(out), h_full[:, i, j], atol=1e-5
            )
        v_pre_above = keras.ops.convert_to_numpy(v_pre)


def test_serialization_and_bad_arguments():
    testing.run_serialization_test(
        GatedPixelCNNBlock(6, 5, first=True, num_color_channels=3)
    )
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `filters`\. Expected a positive "
        r"multiple of num_color_channels=3\. Received: filters=4",
    ):
        GatedPixelCNNBlock(4, num_color_channels=3)
    with pytest.raises(
        ValueError,
        match=r"A GatedPixelCNNBlock with filters=4 and first=False needs "
        r"4-channel inputs\. Received: input_shape=\(1, 3, 3, 2\)",
    ):
        x = np.zeros((1, 3, 3, 2))
        GatedPixelCNNBlock(4)((x, x))


def test_called_on_one_tensor_names_the_expected_structure():
    block = GatedPixelCNNBlock(4)
    with pytest.raises(ValueError, match=r"`inputs`.*\(v, h\)"):
        block(np.zeros((1, 5, 5, 4), "float32"))
    conditional = GatedPixelCNNBlock(4, conditional_dims=3)
    v = np.zeros((1, 5, 5, 4), "float32")
    with pytest.raises(ValueError, match=r"\(v, h, conditional_input\)"):
        conditional((v, v))
