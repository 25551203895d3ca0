"""Registry of model families: config name -> factory."""

import inspect

from kerpix.models.gated_pixel_cnn.gated_pixel_cnn import GatedPixelCNN
from kerpix.models.pixel_cnn.pixel_cnn import PixelCNN
from kerpix.models.pixel_cnn_auto_encoder.pixel_cnn_auto_encoder import (
    PixelCNNAutoEncoder,
)
from kerpix.models.pixel_rnn.pixel_rnn import DiagonalBiLSTMPixelRNN
from kerpix.models.pixel_rnn.pixel_rnn import MultiScalePixelRNN
from kerpix.models.pixel_rnn.pixel_rnn import RowLSTMPixelRNN
from kerpix.models.presets import load_preset
from kerpix.models.ride.mcgsm import MCGSM
from kerpix.models.ride.ride import RIDE

FAMILIES = {
    "gated_pixel_cnn": GatedPixelCNN,
    "pixel_cnn": PixelCNN,
    "pixel_cnn_auto_encoder": PixelCNNAutoEncoder,
    "diagonal_bilstm_pixel_rnn": DiagonalBiLSTMPixelRNN,
    "multi_scale_pixel_rnn": MultiScalePixelRNN,
    "row_lstm_pixel_rnn": RowLSTMPixelRNN,
    "ride": RIDE,
    "mcgsm": MCGSM,
}


def _family_from_preset(family):
    def from_preset(preset, load_weights=True):
        return load_preset(preset, family=family, load_weights=load_weights)

    from_preset.__doc__ = (
        f"A trained {family!r} model from a preset name or folder (see "
        "`DensityModel.from_preset`); a preset of another family is a "
        "`ValueError`."
    )
    return from_preset


# The families still built by factory functions get the classes'
# `from_preset` as an attribute: `kerpix.models.PixelCNN.from_preset(...)`.
for _family, _factory in FAMILIES.items():
    if not hasattr(_factory, "from_preset"):
        _factory.from_preset = _family_from_preset(_family)


def build_model(family, image_shape, num_levels, **kwargs):
    """Build a model of `family` with the factory's kwargs (an
    `ImageDensityModel`, or `RIDE` for `"ride"` and `"mcgsm"`).

    Args:
        family: a key of `FAMILIES`, e.g. `"pixel_cnn"`.
        image_shape: `(H, W, C)`.
        num_levels: int. Values per sub-pixel.
        **kwargs: the factory's other arguments; unknown ones are errors.
    """
    if family not in FAMILIES:
        raise ValueError(
            "Invalid value for argument `family`. Expected one of "
            f"{sorted(FAMILIES)}. Received: family={family!r}"
        )
    factory = FAMILIES[family]
    known = set(inspect.signature(factory).parameters) - {
        "image_shape",
        "num_levels",
    }
    for key in kwargs:
        if key not in known:
            raise ValueError(
                f"Unknown config key `model.{key}` for family {family!r}. "
                f"Known keys: {sorted(known)}."
            )
    return factory(tuple(image_shape), num_levels=num_levels, **kwargs)
