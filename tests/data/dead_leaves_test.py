import numpy as np
import pytest

from kerpix.data import dead_leaves


def test_shape_dtype_and_determinism():
    a = dead_leaves(5, (12, 10, 3), seed=3)
    b = dead_leaves(5, (12, 10, 3), seed=3)
    c = dead_leaves(5, (12, 10, 3), seed=4)
    assert a.shape == (5, 12, 10, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_images_are_piecewise_flat():
    # Occluding disks: most horizontal neighbours share their value.
    images = dead_leaves(50, (16, 16, 1), seed=0)
    same = np.mean(images[:, :, 1:] == images[:, :, :-1])
    assert same > 0.6
    assert len(np.unique(images)) > 100  # grey levels span the range


def test_grey_level_palette():
    images = dead_leaves(20, (8, 8, 1), seed=0, num_grey_levels=4)
    assert set(np.unique(images)) <= {0, 85, 170, 255}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(num_images=-1),
            r"Invalid value for argument `num_images`\. Expected an int >= "
            r"0\. Received: num_images=-1",
        ),
        (
            dict(num_images=1, image_shape=(8, 8)),
            r"Invalid value for argument `image_shape`\. Expected \(height, "
            r"width, channels\) with positive sizes.*Received: "
            r"image_shape=\(8, 8\)",
        ),
        (
            dict(num_images=1, num_grey_levels=1),
            r"Invalid value for argument `num_grey_levels`\. Expected an int "
            r"in \[2, 256\]\. Received: num_grey_levels=1",
        ),
        (
            dict(num_images=1, min_radius=5, max_radius=2),
            r"Invalid values for arguments `min_radius`, `max_radius`\. "
            r"Expected 0 < min_radius <= max_radius\. Received: "
            r"min_radius=5, max_radius=2",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dead_leaves(**kwargs)


def test_to_levels_maps_grey_levels_to_model_levels():
    from kerpix import data
    from kerpix import models

    x = data.dead_leaves(4, (8, 8, 1), seed=0, num_grey_levels=4)
    levels = data.to_levels(x, 4)
    assert set(np.unique(x)) <= {0, 85, 170, 255}
    np.testing.assert_array_equal(levels, x // 85)
    model = models.PixelCNN((8, 8, 1), num_levels=4, filters=4, num_layers=1)
    assert model.log_prob(levels).shape == (4,)
    np.testing.assert_array_equal(
        data.to_levels(np.arange(256), 256), np.arange(256)
    )
    with pytest.raises(ValueError, match=r"`num_levels`.*num_levels=1"):
        data.to_levels(x, 1)
    with pytest.raises(ValueError, match=r"values in \[-1, 3\]"):
        data.to_levels(np.array([-1, 3]), 4)
    with pytest.raises(ValueError, match="NaN"):
        data.to_levels(np.array([np.nan]), 4)
