"""Every family is a class: built from its own arguments, it `isinstance`-
checks, round-trips its config and `.keras` file as itself, and a preset
written while families were factory functions (its config.json names
the generic `ImageDensityModel`) loads as the family's class with the
same weights."""

import json
import os

import keras
import numpy as np
import pytest

from kerpix import models
from kerpix.models import FAMILIES
from kerpix.testing.tiny_models import example_images
from kerpix.testing.tiny_models import fixed_log_prob
from kerpix.testing.tiny_models import representative


def build(family):
    """The family's representative in the one registry of tiny models."""
    return representative(family).build()


def test_families_register_themselves_in_the_one_map():
    from kerpix.models import families
    from kerpix.models import presets

    assert families.FAMILIES is presets.FAMILY_CLASSES
    for cls in families.BUILT_IN:
        assert FAMILIES[cls.preset_family] is cls


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_is_its_own_class_through_config_and_keras_file(
    family, tmp_path
):
    cls = FAMILIES[family]
    model = build(family)
    assert type(model) is cls
    assert isinstance(model, models.DensityModel)
    assert cls.preset_family == family
    images = example_images(model)
    expected = fixed_log_prob(model, images)
    again = cls.from_config(model.get_config())
    assert type(again) is cls
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is cls
    np.testing.assert_array_equal(fixed_log_prob(loaded, images), expected)


def test_a_preset_saved_as_the_generic_class_loads_as_the_family(tmp_path):
    """The layout presets had while families were factory functions:
    config.json names `ImageDensityModel`; the weights are the same."""
    model = build("pixel_cnn")
    path = model.save_to_preset(str(tmp_path / "old"), family="pixel_cnn")
    config_file = os.path.join(path, "config.json")
    with open(config_file) as f:
        config = json.load(f)
    config.update(
        class_name="ImageDensityModel",
        module="kerpix.models.image_density_model",
        registered_name="kerpix>ImageDensityModel",
    )
    with open(config_file, "w") as f:
        json.dump(config, f)
    generic = keras.saving.deserialize_keras_object(config)
    assert type(generic) is models.ImageDensityModel
    for loader in (
        models.DensityModel.from_preset,
        models.PixelCNN.from_preset,
    ):
        loaded = loader(path)
        assert type(loaded) is models.PixelCNN
        images = example_images(model)
        np.testing.assert_array_equal(
            fixed_log_prob(loaded, images), fixed_log_prob(model, images)
        )


def test_mcgsm_refuses_a_spatial_lstm():
    with pytest.raises(ValueError, match="`num_layers`: an MCGSM has no"):
        models.MCGSM((6, 6, 1), num_levels=4, num_layers=1)
