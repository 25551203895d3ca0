import numpy as np
import pytest

from kerpix import models
from kerpix import sampling
from kerpix.sampling import agreement


def tiny_model():
    return models.PixelCNN((3, 4, 1), num_levels=4, filters=4, num_layers=1)


def draw(model, noise):
    return sampling.RasterSampler()(model, noise=noise, verbose=0)


def test_a_one_level_difference_at_a_boundary_is_a_tie():
    model = tiny_model()
    noise = np.random.default_rng(0).random((2, 12, 1), "float32")
    images = draw(model, noise)
    # Put image 1's first noise value exactly on its pixel's CDF boundary
    # between levels k and k+1: drawn just below and just above, the two
    # samples differ there by one level, as two float paths may.
    params = np.asarray(model(images[1:2]))[0, 0, 0]
    probs = np.exp(params - params.max())
    cdf = np.cumsum(probs / probs.sum())
    below, above = noise.copy(), noise.copy()
    below[1, 0, 0] = cdf[1] - 1e-6
    above[1, 0, 0] = cdf[1] + 1e-6
    a, b = draw(model, below), draw(model, above)
    assert (a[1, 0, 0, 0], b[1, 0, 0, 0]) == (1, 2)
    result = agreement.assert_same_samples(model, a, b, below)
    assert result["ties"] == [(1, 0, 0, 0)]
    assert result["identical"] == 1 and not result["disagreements"]
    agreement.assert_same_samples(model, a, b, below, max_ties=1)
    with pytest.raises(
        AssertionError,
        match=r"1 of 2 images end at a CDF tie, more than "
        r"max_ties=0",
    ):
        agreement.assert_same_samples(model, a, b, below, max_ties=0)


def test_other_differences_are_disagreements():
    model = tiny_model()
    noise = np.random.default_rng(0).random((3, 12, 1), "float32")
    a = draw(model, noise)
    b = a.copy()
    b[0, 1, 2, 0] = (a[0, 1, 2, 0] + 2) % 4  # two levels off
    # One level off where the noise is far from any boundary.
    b[2, 2, 3, 0] = a[2, 2, 3, 0] + (1 if a[2, 2, 3, 0] < 3 else -1)
    result = agreement.sample_agreement(model, a, b, noise)
    near = agreement._near_boundary(
        model, a, noise, (2, 2, 3, 0), 1.0, None, agreement.TOLERANCE
    )
    assert result["disagreements"][0] == (0, 1, 2, 0)
    assert ((2, 2, 3, 0) in result["disagreements"]) == (not near)
    with pytest.raises(
        AssertionError, match=r"differ in \d of 3 images other than at a CDF"
    ):
        agreement.assert_same_samples(model, a, b, noise)
    with pytest.raises(ValueError, match="`got`.*got.shape=\\(1, 3, 4, 1\\)"):
        agreement.sample_agreement(model, a, b[:1], noise)
