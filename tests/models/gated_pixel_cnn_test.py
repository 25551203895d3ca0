import numpy as np
import pytest

from kerpix import models
from kerpix import testing


class TestGatedPixelCNNBackbone:
    colors = 1

    def make_backbone(self):
        return models.GatedPixelCNNBackbone(
            (7, 7, self.colors),
            filters=8 * self.colors,
            num_layers=3,
            kernel_size=3,
            first_kernel_size=3,
        )

    def test_gradient_causality_with_exact_receptive_field(self):
        backbone = self.make_backbone()
        shape = (7, 7, self.colors)
        for site in [(4, 3, 0), (4, 3, self.colors - 1), (0, 1, 0), (6, 6, 0)]:
            expected = testing.gated_receptive_field([3, 3, 3], shape, site)
            testing.assert_causal(backbone, shape, site, expected=expected)

    def test_step_interface_matches_the_forward_pass(self):
        testing.assert_step_matches_call(self.make_backbone())

    def test_serialization(self):
        testing.run_serialization_test(self.make_backbone())


class TestGatedPixelCNNBackboneRGB(TestGatedPixelCNNBackbone):
    colors = 3


def test_gated_stack_has_no_blind_spot_unlike_masked_convolutions():
    shape, site = (8, 8, 1), (7, 3, 0)
    past = testing.causal_past(shape, site)
    # Three 3×3 layers reach 3 rows up; within that window, which of the
    # earlier pixels does each architecture see?
    window = np.zeros(shape, bool)
    window[4:8, 0:7] = True
    gated = testing.gated_receptive_field([3, 3, 3], shape, site)
    masked = testing.masked_conv_receptive_field(
        [("conv", 3, "A"), ("conv", 3, "B"), ("conv", 3, "B")], shape, site
    )
    assert (gated & window & past).sum() > (masked & window & past).sum()
    # The gated stack sees every pixel above within its reach ...
    assert gated[4:7, 0:7, 0].all()
    # ... the masked stack misses the ones up and to the right: the
    # blind spot.
    assert not masked[6, 5, 0] and not masked[6, 6, 0]
    assert not masked[5, 6, 0]
    # And the networks agree with the references (gradients, untrained).
    backbone = models.GatedPixelCNNBackbone(
        shape, filters=8, num_layers=3, kernel_size=3, first_kernel_size=3
    )
    testing.assert_causal(backbone, shape, site, expected=gated)
    plain = models.PixelCNNBackbone(
        shape, filters=8, num_layers=1, first_kernel_size=3
    )
    testing.assert_causal(
        plain,
        shape,
        site,
        expected=testing.masked_conv_receptive_field(
            [("conv", 3, "A"), ("residual", 3), ("conv", 1, "B")],
            shape,
            site,
        ),
    )


@pytest.mark.parametrize("colors", [1, 3])
def test_full_model_gradient_causality(colors):
    model = models.GatedPixelCNN(
        (6, 6, colors),
        num_levels=4,
        filters=8 * colors,
        num_layers=2,
        kernel_size=3,
        first_kernel_size=5,
    )
    shape = (6, 6, colors)
    for site in [(3, 2, 0), (3, 2, colors - 1), (5, 5, colors - 1)]:
        expected = testing.gated_receptive_field([5, 3], shape, site)
        testing.assert_causal(
            model.compute_params, shape, site, expected=expected
        )


@pytest.mark.parametrize(
    "shape, levels", [((2, 2, 1), 2), ((1, 2, 3), 3), ((2, 2, 1), 3)]
)
def test_normalized_by_enumeration(shape, levels):
    model = models.GatedPixelCNN(
        shape,
        num_levels=levels,
        filters=4 * shape[-1],
        num_layers=2,
        kernel_size=3,
        first_kernel_size=3,
    )
    testing.assert_normalized(model.log_prob, shape, levels)


def test_fit_and_keras_file_round_trip(tmp_path):
    images = np.tile(np.arange(6) % 2 * 3, (16, 6, 1))[..., None]
    model = models.GatedPixelCNN(
        (6, 6, 1), num_levels=4, filters=4, num_layers=2, kernel_size=3
    )
    model.compile()
    history = model.fit(images, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    testing.run_model_saving_test(model, images, str(tmp_path))


def test_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `filters`\. Expected a positive "
        r"multiple of 3 \(num_color_channels=3: each colour gets the same "
        r"number of features\)\. Received: filters=8",
    ):
        models.GatedPixelCNNBackbone((8, 8, 3), filters=8)
