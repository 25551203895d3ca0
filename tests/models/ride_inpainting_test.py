"""RIDE inpainting by block Metropolis-Hastings (the whole context)."""

import numpy as np
import pytest
from ride_test import make_model

from kerpix.models.ride.inpainting import metropolis_log_ratio


def images_and_mask(shape=(5, 6, 1), levels=4, n=3):
    rng = np.random.default_rng(3)
    steps = rng.integers(0, 2, (n,) + shape)
    images = (np.cumsum(steps, axis=2) % levels).astype("int32")
    mask = np.ones(shape[:2], bool)
    mask[1:4, 2:5] = False
    return images, mask


@pytest.mark.parametrize("layers", [0, 1])
def test_known_pixels_are_kept_and_seeded_runs_repeat(layers):
    model = make_model(layers=layers)
    images, mask = images_and_mask()
    a = model.inpaint(
        images, mask, num_sweeps=2, block_size=2, seed=5, verbose=0
    )
    b = model.inpaint(
        images, mask, num_sweeps=2, block_size=2, seed=5, verbose=0
    )
    c = model.inpaint(
        images, mask, num_sweeps=2, block_size=2, seed=6, verbose=0
    )
    assert a.shape == images.shape and a.dtype == np.int32
    np.testing.assert_array_equal(a[:, mask], images[:, mask])
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert a.min() >= 0 and a.max() < model.num_levels


def test_acceptance_ratio_is_the_exact_metropolis_hastings_ratio():
    """log α = log p(y') - log p(y) - log q(y'_B | y) + log q(y_B | y'),
    with p the whole image's density (`image_log_prob`) and q the product
    of the model's raster conditionals over the block."""
    model = make_model()
    rng = np.random.default_rng(0)
    y = rng.random((4, 5, 6)).astype("float32")
    block = np.zeros((4, 5, 6), bool)
    block[:, 1:3, 2:4] = True
    proposal = np.where(block, rng.random((4, 5, 6)), y).astype("float32")
    log_ratio = metropolis_log_ratio(model, y, proposal, block)

    def joint(v):
        return np.asarray(model.image_log_prob(v[..., None]), "float64")

    def block_conditionals(v):
        per_pixel = np.asarray(model.pixel_log_density(v[..., None]))
        return np.sum(np.where(block, per_pixel, 0.0), axis=(1, 2))

    expected = (
        joint(proposal)
        - joint(y)
        - block_conditionals(proposal)
        + block_conditionals(y)
    )
    np.testing.assert_allclose(log_ratio, expected, rtol=1e-4, atol=1e-3)
    # Nothing after the block changed its conditionals only if the model
    # ignores the block: here it does not.
    assert np.abs(log_ratio).max() > 1e-3


def test_a_hole_at_the_last_pixel_is_always_accepted():
    """No pixel follows the last one: the proposal is then the exact
    conditional and every move is accepted."""
    model = make_model()
    images, _ = images_and_mask()
    mask = np.ones((5, 6), bool)
    mask[4, 5] = False
    _, log_probs, rates = model.inpaint(
        images, mask, num_sweeps=3, seed=0, return_log_prob=True, verbose=0
    )
    np.testing.assert_array_equal(rates, [1.0, 1.0, 1.0])
    assert log_probs.shape == (4, 3)


def test_chain_samples_the_conditional_given_pixels_after_the_hole():
    """A 1×2 image with the first pixel missing and the second known: the
    chain's target is p(y1 | y2) ∝ p(y1) p(y2 | y1), whose mean we
    integrate on a grid. 2000 chains after 12 sweeps match it; raster
    completion (a draw from p(y1), ignoring y2) does not."""
    # The same model on every backend (weights from NumPy, identity
    # preconditioner), with experts' means that lean on the neighbourhood:
    # y2 says much of y1.
    model = make_model(shape=(1, 2, 1), layers=0, adapt=False)
    rng = np.random.default_rng(0)
    head = model.head
    for weight, scale in (
        (head.features, 0.1),
        (head.beta, 0.1),
        (head.alpha, 0.5),
    ):
        weight.assign(rng.normal(0, scale, weight.shape).astype("float32"))
    head.predictors.assign(np.full(head.predictors.shape, 0.5, "float32"))
    images = np.zeros((2000, 1, 2, 1), "int32")
    images[..., 1, 0] = 3
    mask = np.array([[False, True]])
    start = model.inpaint(images, mask, num_sweeps=0, seed=0, verbose=0)
    chain, _, rates = model.inpaint(
        images, mask, num_sweeps=12, seed=0, return_log_prob=True, verbose=0
    )

    grid = np.linspace(-3, 4, 7001, dtype="float32")
    y = np.stack([grid, np.full_like(grid, 3.5 / 4)], -1)[:, None, :, None]
    log_p = np.asarray(model.pixel_log_density(y), "float64").sum((1, 2))
    weights = np.exp(log_p - log_p.max())
    levels = np.clip(np.floor(grid * 4), 0, 3)
    target = np.sum(weights * levels) / weights.sum()
    target_sd = np.sqrt(
        np.sum(weights * (levels - target) ** 2) / weights.sum()
    )
    tolerance = 4 * target_sd / np.sqrt(len(images))
    assert rates.min() > 0.5  # an independence sampler that mixes
    assert abs(chain[:, 0, 0, 0].mean() - target) < tolerance
    assert abs(start[:, 0, 0, 0].mean() - target) > tolerance


def test_bad_input():
    model = make_model()
    images, mask = images_and_mask()
    with pytest.raises(ValueError, match="at least one False"):
        model.inpaint(images, np.ones((5, 6), bool), verbose=0)
    with pytest.raises(ValueError, match="`mask`"):
        model.inpaint(images, mask[:, :3], verbose=0)
    with pytest.raises(ValueError, match="`num_sweeps`"):
        model.inpaint(images, mask, num_sweeps=-1, verbose=0)
    with pytest.raises(ValueError, match="`block_size`"):
        model.inpaint(images, mask, block_size=0, verbose=0)
    with pytest.raises(ValueError, match="integer pixel values"):
        model.inpaint(images.astype("float32"), mask, verbose=0)
    with pytest.raises(ValueError, match="integer models"):
        make_model(levels=None).inpaint(
            images.astype("float32"), mask, verbose=0
        )
