import time

import numpy as np
import pytest

from kerpix import data
from kerpix import models
from kerpix.training.ride_training import PAPER_STAGES
from kerpix.training.ride_training import train_mcgsm
from kerpix.training.ride_training import train_ride

pytestmark = pytest.mark.tensorflow_only


def small_problem():
    images = data.dead_leaves(80, (10, 10, 1), seed=0, num_grey_levels=4)
    images = (images.astype("int32") * 4) // 256
    model = models.RIDE(
        (10, 10, 1),
        num_levels=4,
        num_hiddens=4,
        num_components=2,
        num_scales=2,
        num_features=2,
    )
    return model, images


def train_with_a_ruinous_stage(on_worse):
    """`train_ride` whose second stage's huge learning rate ruins the
    model; returns `(model, images, report)`."""
    model, images = small_problem()
    report = train_ride(
        model,
        images[:64],
        images[64:],
        stages=((4, 1, 0.5), (6, 1, 1e4), (8, 1, 0.1)),
        batch_size=16,
        finetune_iterations=0,
        on_worse=on_worse,
        verbose=0,
    )
    return model, images, report


@pytest.mark.large  # slow: the large suite (CI) runs it
def test_curriculum_trains_the_full_size_model():
    model, images = small_problem()
    before = -model.log_prob(images[64:], seed=1).mean()
    report = train_ride(
        model,
        images[:64],
        images[64:],
        stages=((4, 2, 0.5), (6, 2, 0.2)),
        batch_size=16,
        finetune_iterations=5,
        verbose=0,
    )
    assert [stage["patch"] for stage in report] == [4, 6]
    assert all(stage["finetune"]["train_nll"] for stage in report)
    # All tiles of the mirrored images, twice: 64 · 2 · (10 // 4)² · 2.
    assert report[0]["sgd_steps"] == 64 * 2 * 4 * 2 // 16
    kept = [s["validation_nll"] for s in report if s["kept"]]
    assert kept == sorted(kept, reverse=True)
    assert -model.log_prob(images[64:], seed=1).mean() < before


def test_a_stage_that_hurts_validation_is_undone():
    """A huge learning rate ruins the model: that stage is undone and the
    schedule stops (the reference code's early stopping)."""
    model, images, report = train_with_a_ruinous_stage("stop")
    assert [s["kept"] for s in report] == [True, False]
    nll = -model.log_prob(images[64:], seed=0).mean()
    np.testing.assert_allclose(nll, report[0]["validation_nll"], rtol=1e-5)


def test_budget_is_shared_among_the_stages():
    model, images = small_problem()
    start = time.monotonic()
    report = train_ride(
        model,
        np.concatenate([images] * 20),
        images[64:],
        stages=((4, 50, 0.5), (6, 50, 0.2)),
        batch_size=16,
        finetune_iterations=2,
        max_minutes=0.1,
        verbose=0,
    )
    assert time.monotonic() - start < 0.1 * 60 + 20
    # Both stages ran, each cut short of its 50 epochs.
    assert [s["patch"] for s in report if s["kept"]][:1] == [4]
    assert report[0]["sgd_steps"] < 50 * 1600 * 4 * 2 // 16


def test_bad_input():
    model, images = small_problem()
    with pytest.raises(ValueError, match=r"`stages`.*largest patch 12"):
        train_ride(model, images, images, stages=((12, 1, 0.01),))
    with pytest.raises(ValueError, match="`stages`"):
        train_ride(model, images, images, stages=())
    with pytest.raises(ValueError, match="`max_minutes`"):
        train_ride(model, images, images, stages=((4, 1, 1.0),), max_minutes=0)
    with pytest.raises(ValueError, match="`finetune_share`"):
        train_ride(
            model, images, images, stages=((4, 1, 1.0),), finetune_share=1.0
        )
    for name, value in (
        ("max_steps", 0),
        ("max_steps", [5, 5]),
        ("finetune_iterations", -1),
        ("finetune_iterations", 2.5),
    ):
        with pytest.raises(ValueError, match=f"`{name}`.*{name}="):
            train_ride(
                model, images, images, stages=((4, 1, 1.0),), **{name: value}
            )
    assert PAPER_STAGES[0] == (8, 1, 1.0) and len(PAPER_STAGES) == 8


def test_fixed_steps_and_iterations_per_stage():
    """`max_steps` cuts each stage's SGD at its count (a stage with fewer
    tiles runs them all); `finetune_iterations` per stage (0: none)."""
    model, images = small_problem()
    report = train_ride(
        model,
        images[:64],
        images[64:],
        stages=((4, 1, 0.5), (6, 1, 0.2)),
        batch_size=16,
        max_steps=[5, 1000],
        finetune_iterations=[2, 0],
        verbose=0,
    )
    # The second stage's epoch: 64 mirrored images, one 6×6 tile each.
    assert [s["sgd_steps"] for s in report] == [5, 64 * 2 // 16]
    assert report[0]["finetune"]["train_nll"]
    assert report[1]["finetune"] is None


@pytest.mark.large  # slow: the large suite (CI) runs it
def test_on_worse_undo_goes_on_with_the_next_stage():
    model, images, report = train_with_a_ruinous_stage("undo")
    assert [s["patch"] for s in report] == [4, 6, 8]
    assert report[1]["kept"] is False
    with pytest.raises(ValueError, match="`on_worse`"):
        train_ride(
            model, images, images, stages=((4, 1, 1.0),), on_worse="continue"
        )


def test_train_mcgsm_fits_the_head_by_lbfgs():
    _, images = small_problem()
    model = models.MCGSM(
        (10, 10, 1),
        num_levels=4,
        num_components=2,
        num_scales=2,
        num_features=2,
    )
    before = -model.log_prob(images[64:], seed=0).mean()
    history = train_mcgsm(
        model,
        images[:64],
        images[64:],
        num_pixels=3000,  # 30 of the 64 images
        num_validation_pixels=1000,
        max_iterations=15,
        verbose=0,
    )
    assert 1 <= len(history["train_nll"]) <= 15
    assert history["seconds"] > 0
    assert -model.log_prob(images[64:], seed=0).mean() < before
    with pytest.raises(ValueError, match="`max_minutes`"):
        train_mcgsm(model, images, images, max_minutes=-1)
