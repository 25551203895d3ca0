import numpy as np
import pytest

from kerpix.ops import causal_mask
from kerpix.ops import channel_groups


def test_golden_mask_a_grey():
    m = causal_mask(3, "A", 1, 1)[..., 0, 0]
    np.testing.assert_array_equal(m, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])


def test_golden_mask_b_grey():
    m = causal_mask(3, "B", 1, 1)[..., 0, 0]
    np.testing.assert_array_equal(m, [[1, 1, 1], [1, 1, 0], [0, 0, 0]])


def test_golden_centre_rgb():
    # Rows: input R, G, B; columns: output R, G, B.
    a = causal_mask(1, "A", 3, 3, num_color_channels=3)[0, 0]
    b = causal_mask(1, "B", 3, 3, num_color_channels=3)[0, 0]
    np.testing.assert_array_equal(a, [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(b, [[1, 1, 1], [0, 1, 1], [0, 0, 1]])


def test_rgb_groups_are_contiguous_blocks():
    np.testing.assert_array_equal(channel_groups(6, 3), [0, 0, 1, 1, 2, 2])
    m = causal_mask(3, "A", 3, 6, num_color_channels=3)
    # Output G channels (2, 3) see input R at the centre but not G or B.
    np.testing.assert_array_equal(m[1, 1, :, 2], [1, 0, 0])
    np.testing.assert_array_equal(m[1, 1, :, 3], [1, 0, 0])


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("colors", [1, 3])
def test_no_future_positions(mask_type, colors):
    m = causal_mask((5, 7), mask_type, colors, 2 * colors, colors)
    assert m.shape == (5, 7, colors, 2 * colors)
    assert not m[3:].any()  # rows below the centre
    assert not m[2, 4:].any()  # right of the centre
    assert m[:2].all() and m[2, :3].all()  # the past is fully visible


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(kernel_size=4, mask_type="A"),
            r"Invalid value for argument `kernel_size`\. The masked kernel "
            r"needs odd sizes so that the current pixel is centred; use "
            r"kernel_size=\(3, 3\) or \(5, 5\)\. Received: "
            r"kernel_size=\(4, 4\)",
        ),
        (
            dict(kernel_size=3, mask_type="C"),
            r"Invalid value for argument `mask_type`\. Expected one of "
            r"\"A\", \"B\", \"V\"\. Received: mask_type='C'",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        causal_mask(input_channels=1, filters=1, **kwargs)


def test_bad_channel_count():
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `filters`\. Expected a positive "
        r"integer\. Received: filters=0",
    ):
        causal_mask(3, "A", 1, 0)
