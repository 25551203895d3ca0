"""Registry of model families: config name -> class.

Each family is a `DensityModel` subclass built from its own arguments
(`PixelCNN(image_shape, num_levels, filters=...)`); it saves, loads and
`isinstance`-checks as itself, and its `from_preset` loads only presets
of its family (`preset_family`)."""

import inspect

from kerpix.models.gated_pixel_cnn.gated_pixel_cnn import GatedPixelCNN
from kerpix.models.pixel_cnn.pixel_cnn import PixelCNN
from kerpix.models.pixel_cnn_auto_encoder.pixel_cnn_auto_encoder import (
    PixelCNNAutoEncoder,
)
from kerpix.models.pixel_rnn.pixel_rnn import DiagonalBiLSTMPixelRNN
from kerpix.models.pixel_rnn.pixel_rnn import MultiScalePixelRNN
from kerpix.models.pixel_rnn.pixel_rnn import RowLSTMPixelRNN
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


def build_model(family, image_shape, num_levels, **kwargs):
    """Build a model of `family` from its class's arguments.

    Args:
        family: a key of `FAMILIES`, e.g. `"pixel_cnn"`.
        image_shape: `(H, W, C)`.
        num_levels: int. Values per sub-pixel.
        **kwargs: the class's other arguments; unknown ones are errors.
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
        # What `from_config` passes (the built parts), not arguments.
        "backbone",
        "encoder",
        "small_model",
        "kwargs",
    }
    for key in kwargs:
        if key not in known:
            raise ValueError(
                f"Unknown config key `model.{key}` for family {family!r}. "
                f"Known keys: {sorted(known)}."
            )
    return factory(tuple(image_shape), num_levels=num_levels, **kwargs)
