import numpy as np
import pytest

from kerpix import models
from kerpix import testing


class TestPixelCNNBackbone:
    colors = 1

    def make_backbone(self, num_layers=2):
        return models.PixelCNNBackbone(
            (8, 8, self.colors),
            filters=8 * self.colors,
            num_layers=num_layers,
        )

    def test_output_shape(self):
        backbone = self.make_backbone()
        y = backbone(np.zeros((2, 8, 8, self.colors)))
        assert tuple(y.shape) == (2, 8, 8, 8 * self.colors)

    def test_gradient_causality_with_exact_receptive_field(self):
        backbone = self.make_backbone(num_layers=2)
        shape = (8, 8, self.colors)
        layers = testing.pixel_cnn_layers(2)[:-1]  # without the head's 1×1
        for site in [(5, 4, 0), (5, 4, self.colors - 1), (0, 0, 0), (7, 7, 0)]:
            expected = testing.masked_conv_receptive_field(layers, shape, site)
            testing.assert_causal(backbone, shape, site, expected=expected)

    def test_masked_cnn_has_a_blind_spot(self):
        # Stacked 3×3 masks never reach some pixels above-right of the
        # site: the PixelCNN blind spot. The reference sees it, and the
        # exact-field gradient test above proves the network has it too.
        shape = (8, 8, self.colors)
        site = (7, 3, 0)
        layers = [("conv", 3, "A")] + [("conv", 3, "B")] * 4
        field = testing.masked_conv_receptive_field(layers, shape, site)
        past = testing.causal_past(shape, site)
        window = np.zeros(shape, bool)
        window[2:, :] = True  # the 5 rows a 5-layer 3×3 stack can span
        blind = past & window & ~field
        assert blind[:, :, 0].any()
        assert blind[6, 6, 0]  # one row up, three columns right

    def test_step_interface_matches_the_forward_pass(self):
        testing.assert_step_matches_call(self.make_backbone())

    def test_serialization(self):
        testing.run_serialization_test(self.make_backbone())


class TestPixelCNNBackboneRGB(TestPixelCNNBackbone):
    colors = 3


def test_backbone_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `image_shape`\. Expected \(height, "
        r"width, channels\) with positive sizes, channels last, e\.g\. "
        r"\(28, 28, 1\)\. Received: image_shape=\(28, 28\)",
    ):
        models.PixelCNNBackbone((28, 28))
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `filters`\. Expected a positive "
        r"multiple of 3 \(num_color_channels=3: each colour gets the same "
        r"number of features\)\. Received: filters=8",
    ):
        models.PixelCNNBackbone((8, 8, 3), filters=8)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `num_layers`\. Expected a positive "
        r"integer\. Received: num_layers=0",
    ):
        models.PixelCNNBackbone((8, 8, 1), num_layers=0)


@pytest.mark.parametrize("colors", [1, 3])
def test_full_model_gradient_causality(colors):
    model = models.PixelCNN(
        (6, 6, colors), num_levels=4, filters=8 * colors, num_layers=1
    )
    shape = (6, 6, colors)
    for site in [(3, 2, 0), (3, 2, colors - 1), (5, 5, colors - 1)]:
        expected = testing.masked_conv_receptive_field(
            testing.pixel_cnn_layers(1), shape, site
        )
        testing.assert_causal(
            model.compute_params, shape, site, expected=expected
        )


@pytest.mark.parametrize(
    "shape, levels", [((2, 2, 1), 2), ((1, 2, 3), 3), ((2, 2, 1), 3)]
)
def test_normalized_by_enumeration(shape, levels):
    model = models.PixelCNN(
        shape,
        num_levels=levels,
        filters=4 * shape[-1],
        num_layers=1,
        first_kernel_size=3,
    )
    testing.assert_normalized(model.log_prob, shape, levels)
