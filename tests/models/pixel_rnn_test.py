import keras
import numpy as np
import pytest

from kerpix import models
from kerpix import testing

LSTMS = ["row_lstm", "diagonal_bilstm"]
FACTORIES = {
    "row_lstm": models.RowLSTMPixelRNN,
    "diagonal_bilstm": models.DiagonalBiLSTMPixelRNN,
}


class TestRowLSTMBackbone:
    colors = 1
    lstm = "row_lstm"

    def make_backbone(self):
        return models.PixelRNNBackbone(
            (6, 7, self.colors),
            units=2 * self.colors,
            num_layers=2,
            lstm=self.lstm,
        )

    def test_gradient_causality_with_exact_receptive_field(self):
        backbone = self.make_backbone()
        shape = (6, 7, self.colors)
        for site in [(3, 3, 0), (3, 3, self.colors - 1), (5, 6, 0), (0, 1, 0)]:
            expected = testing.masked_conv_receptive_field(
                testing.pixel_rnn_layers(2, self.lstm), shape, site
            )
            testing.assert_causal(backbone, shape, site, expected=expected)

    def test_step_interface_matches_the_forward_pass(self):
        testing.assert_step_matches_call(self.make_backbone())

    def test_serialization(self):
        testing.run_serialization_test(self.make_backbone())


class TestRowLSTMBackboneRGB(TestRowLSTMBackbone):
    colors = 3


class TestDiagonalBiLSTMBackbone(TestRowLSTMBackbone):
    lstm = "diagonal_bilstm"


class TestDiagonalBiLSTMBackboneRGB(TestRowLSTMBackbone):
    colors = 3
    lstm = "diagonal_bilstm"


@pytest.mark.parametrize("lstm", LSTMS)
@pytest.mark.parametrize("colors", [1, 3])
def test_full_model_gradient_causality(colors, lstm):
    model = FACTORIES[lstm](
        (5, 6, colors), num_levels=4, units=2 * colors, num_layers=2
    )
    shape = (5, 6, colors)
    for site in [(3, 2, 0), (4, 5, colors - 1)]:
        expected = testing.masked_conv_receptive_field(
            testing.pixel_rnn_layers(2, lstm) + [("conv", 1, "B")], shape, site
        )
        testing.assert_causal(
            model.compute_params, shape, site, expected=expected
        )


@pytest.mark.parametrize("lstm", LSTMS)
@pytest.mark.parametrize(
    "shape, levels", [((2, 2, 1), 2), ((1, 2, 3), 3), ((2, 2, 1), 3)]
)
def test_normalized_by_enumeration(shape, levels, lstm):
    model = FACTORIES[lstm](
        shape, num_levels=levels, units=2 * shape[-1], num_layers=2
    )
    testing.assert_normalized(model.log_prob, shape, levels)


@pytest.mark.large  # slow: the large suite (CI) runs it
@pytest.mark.parametrize("lstm", LSTMS)
def test_fit_evaluate_sample_and_keras_file_round_trip(tmp_path, lstm):
    images = np.tile(np.arange(6) % 2, (32, 6, 1))[..., None]
    model = FACTORIES[lstm]((6, 6, 1), num_levels=2, units=8, num_layers=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(images, epochs=5, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] / 2
    result = model.evaluate(images, return_dict=True, verbose=0)
    np.testing.assert_allclose(
        result["loss"], -model.log_prob(images).mean(), rtol=1e-5
    )
    samples = model.sample(4, seed=0, verbose=0)
    assert samples.shape == (4, 6, 6, 1)
    testing.run_model_saving_test(model, images[:2], str(tmp_path))


def test_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `lstm`\. Expected one of "
        r"\['diagonal_bilstm', 'row_lstm'\]\. Received: lstm='gru'",
    ):
        models.PixelRNNBackbone((4, 4, 1), lstm="gru")
    with pytest.raises(ValueError, match=r"`units`.*multiple of 3"):
        models.RowLSTMPixelRNN((4, 4, 3), units=4)
