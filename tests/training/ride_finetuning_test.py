import keras
import numpy as np
import pytest

from kerpix import data
from kerpix import models
from kerpix.training.ride_finetuning import finetune_mcgsm

pytestmark = pytest.mark.tensorflow_only


def test_lbfgs_fits_the_head_only_and_keeps_the_best_validation():
    images = data.dead_leaves(96, (6, 6, 1), seed=0, num_grey_levels=4)
    images = (images.astype("int32") * 4) // 256
    train, valid = images[:64], images[64:]
    model = models.RIDE(
        (6, 6, 1),
        num_levels=4,
        num_hiddens=4,
        num_components=2,
        num_scales=2,
        num_features=2,
    )
    lstm_before = [
        keras.ops.convert_to_numpy(w) for w in model.backbone.lstms[0].weights
    ]
    head_before = [keras.ops.convert_to_numpy(w) for w in model.head.weights]
    valid_before = -model.log_prob(valid, seed=0).mean()
    history = finetune_mcgsm(
        model, train, valid, max_iterations=30, patience=3, verbose=0
    )
    assert history["train_nll"][-1] < history["train_nll"][0]
    assert history["best_iteration"] >= 1
    best = min(history["validation_nll"])
    assert best == pytest.approx(
        history["validation_nll"][history["best_iteration"] - 1]
    )
    for before, after in zip(lstm_before, model.backbone.lstms[0].weights):
        np.testing.assert_array_equal(before, keras.ops.convert_to_numpy(after))
    assert any(
        not np.array_equal(b, keras.ops.convert_to_numpy(a))
        for b, a in zip(head_before, model.head.weights)
    )
    # Same noise draw as the fine-tuning's validation features.
    assert -model.log_prob(valid, seed=0).mean() < valid_before
