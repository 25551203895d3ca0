"""The shared battery (`kerpix.testing.harness`) over every registered
tiny model (`kerpix.testing.tiny_models`): gradient causality with the exact
receptive field, normalisation by enumeration, cached == naive sampling
on the same noise, and a config round trip that keeps the class and the
outputs. Family test files keep what only their family has; the export
battery (tests/export/export_test.py) runs SavedModel and ONNX parity
over the same registry."""

import pytest

from kerpix import models
from kerpix.testing import harness
from kerpix.testing.tiny_models import TINY_MODELS
from kerpix.testing.tiny_models import build_tiny_model
from kerpix.testing.tiny_models import register_tiny_model

NAMES = sorted(TINY_MODELS)


def test_every_family_has_a_representative():
    assert sorted(models.FAMILIES) == sorted(
        name for name in TINY_MODELS if name in models.FAMILIES
    )
    for family in models.FAMILIES:
        assert TINY_MODELS[family].family == family


@pytest.mark.parametrize("check", harness.CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_harness(name, check):
    reason = check(name)
    if reason is not None:
        pytest.skip(reason)


def test_bad_registrations_and_names():
    with pytest.raises(ValueError, match=r"family='pixel_rcnn'"):
        register_tiny_model("x", "pixel_rcnn", (2, 2, 1), 2)
    with pytest.raises(ValueError, match=r"'pixel_cnn' is registered"):
        register_tiny_model("pixel_cnn", "pixel_cnn", (2, 2, 1), 2)
    with pytest.raises(ValueError, match=r"name='nope'"):
        build_tiny_model("nope")
    with pytest.raises(ValueError, match=r"a registered tiny model.*name='x'"):
        harness.run_density_model_test("x")
