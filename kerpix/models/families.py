"""Registry of model families: config name -> class.

Each family is a `DensityModel` subclass built from its own arguments
(`PixelCNN(image_shape, num_levels, filters=...)`); it saves, loads and
`isinstance`-checks as itself, and its `from_preset` loads only presets
of its family (`preset_family`). A class registers itself when it is
defined with a `preset_family` (`DensityModel.__init_subclass__`), so
`FAMILIES` is the one map of family -> class that configs, presets and
`build_model` read; importing this module defines the built-in ones."""

import inspect

from kerpix.models.gated_pixel_cnn.gated_pixel_cnn import GatedPixelCNN
from kerpix.models.pixel_cnn.pixel_cnn import PixelCNN
from kerpix.models.pixel_cnn_auto_encoder.pixel_cnn_auto_encoder import (
    PixelCNNAutoEncoder,
)
from kerpix.models.pixel_rnn.pixel_rnn import DiagonalBiLSTMPixelRNN
from kerpix.models.pixel_rnn.pixel_rnn import MultiScalePixelRNN
from kerpix.models.pixel_rnn.pixel_rnn import RowLSTMPixelRNN
from kerpix.models.presets import FAMILY_CLASSES
from kerpix.models.ride.mcgsm import MCGSM
from kerpix.models.ride.ride import RIDE

# The built-in families, each registered by its class's definition above.
BUILT_IN = (
    GatedPixelCNN,
    PixelCNN,
    PixelCNNAutoEncoder,
    DiagonalBiLSTMPixelRNN,
    MultiScalePixelRNN,
    RowLSTMPixelRNN,
    RIDE,
    MCGSM,
)
FAMILIES = FAMILY_CLASSES


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
