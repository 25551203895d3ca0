import pytest

from kerpix import data
from kerpix import models
from kerpix.training.ride_training import train_ride

pytestmark = pytest.mark.tensorflow_only


def test_curriculum_trains_the_full_size_model():
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
    before = -model.log_prob(images[64:], seed=1).mean()
    report = train_ride(
        model,
        images[:64],
        images[64:],
        stages=((4, 2, 0.05), (6, 2, 0.02)),
        batch_size=16,
        finetune_iterations=5,
        verbose=0,
    )
    assert [stage["patch"] for stage in report] == [4, 6]
    assert all(stage["finetune"]["train_nll"] for stage in report)
    assert -model.log_prob(images[64:], seed=1).mean() < before
    with pytest.raises(ValueError, match=r"`stages`.*largest patch 12"):
        train_ride(model, images, images, stages=((12, 1, 0.01),))
