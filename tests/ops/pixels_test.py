import keras
import numpy as np
import pytest

from kerpix.ops.pixels import batch_rows
from kerpix.ops.pixels import read_column
from kerpix.ops.pixels import read_pixel
from kerpix.ops.pixels import update_column
from kerpix.ops.pixels import update_pixel
from kerpix.ops.pixels import window


def numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("shared", [False, True])
def test_writes_set_one_pixel_or_column_of_every_image(shared):
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(3, 4, 5, 2)).astype("float32")
    values = rng.normal(size=(3, 2)).astype("float32")
    expected = maps.copy()
    expected[:, 2, 3] = values
    expected_rows = maps[:, 0].copy()
    expected_rows[:, 4] = values
    if shared:  # the row numbers a step computes once
        with batch_rows(3):
            got = update_pixel(maps, 2, 3, values)
            got_rows = update_column(maps[:, 0], 4, values)
    else:
        got = update_pixel(maps, 2, 3, values)
        got_rows = update_column(maps[:, 0], 4, values)
    np.testing.assert_array_equal(numpy(got), expected)
    np.testing.assert_array_equal(numpy(got_rows), expected_rows)


def test_reads_take_a_pixel_a_column_or_a_window():
    maps = np.arange(3 * 4 * 5 * 2, dtype="float32").reshape(3, 4, 5, 2)
    np.testing.assert_array_equal(numpy(read_pixel(maps, 1, 2)), maps[:, 1, 2])
    np.testing.assert_array_equal(
        numpy(read_column(maps[:, 3], 4)), maps[:, 3, 4]
    )
    np.testing.assert_array_equal(
        numpy(window(maps, (1, 2), (2, 3))), maps[:, 1:3, 2:5]
    )
