"""The shared battery over every registered tiny model
(`kerpix.testing.tiny_models`): gradient causality with the exact
receptive field, normalisation by enumeration, cached == naive sampling
on the same noise, and a config round trip that keeps the class and the
outputs. Family test files keep what only their family has; the export
battery (tests/export/export_test.py) runs SavedModel and ONNX parity
over the same registry."""

import numpy as np
import pytest

from kerpix import models
from kerpix import sampling
from kerpix import testing
from kerpix.models.inputs import example_conditions
from kerpix.testing.tiny_models import TINY_MODELS
from kerpix.testing.tiny_models import build_tiny_model
from kerpix.testing.tiny_models import register_tiny_model

NAMES = sorted(TINY_MODELS)


def scores(model, images):
    conditions = example_conditions(model, len(images))
    if isinstance(model, models.RIDE):  # a fixed dequantization
        return model.log_prob(images, noise=np.full(images.shape, 0.5, "f4"))
    return model.log_prob(images, conditional_input=conditions)


def test_every_family_has_a_representative():
    assert sorted(models.FAMILIES) == sorted(
        name for name in TINY_MODELS if name in models.FAMILIES
    )
    for family in models.FAMILIES:
        assert TINY_MODELS[family].family == family


@pytest.mark.parametrize("name", NAMES)
def test_causal_with_the_exact_receptive_field(name):
    entry = TINY_MODELS[name]
    if entry.causal_field is None:
        pytest.skip(f"{name}: its family's test file checks its causality")
    model = entry.build()
    height, width, colors = model.image_shape
    fn = entry.causal_function(model)
    for site in [(height // 2, 2, 0), (height - 1, width - 1, colors - 1)]:
        testing.assert_causal(
            fn, model.image_shape, site, expected=entry.receptive_field(site)
        )


@pytest.mark.parametrize("name", NAMES)
def test_normalized_by_enumeration(name):
    entry = TINY_MODELS[name]
    if not entry.exact:
        pytest.skip(f"{name}: its integer likelihood is a bound")
    shape = (2, 2, 1) if entry.image_shape[-1] == 1 else (1, 2, 3)
    model = entry.build(image_shape=shape, num_levels=3)
    condition = example_conditions(model, 1)

    def log_prob(images):
        if condition is None:
            return model.log_prob(images)
        repeated = np.repeat(condition, len(images), axis=0)
        return model.log_prob(images, conditional_input=repeated)

    testing.assert_normalized(log_prob, shape, 3)


@pytest.mark.parametrize("name", NAMES)
def test_cached_equals_naive_on_the_same_noise(name):
    model = build_tiny_model(name)
    if "naive" not in model.sampling_methods:
        pytest.skip(
            f"{name}: no naive sampler (its family's test file checks the "
            "cached sampler against the model's own conditionals)"
        )
    conditions = example_conditions(model, 2)
    noise = sampling.CachedSampler(seed=3).make_noise(model, 2)
    naive, cached = (
        model.sample(
            noise=noise, conditional_input=conditions, method=method, verbose=0
        )
        for method in ("naive", "cached")
    )
    agreement = sampling.agreement.assert_same_samples(
        model, naive, cached, noise, conditional_input=conditions
    )
    assert len(agreement["ties"]) <= 1, agreement
    assert naive.min() >= 0 and naive.max() < model.num_levels


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip_keeps_the_class_and_the_outputs(name):
    model = build_tiny_model(name)
    images = np.random.default_rng(0).integers(
        0, model.num_levels, (2,) + model.image_shape
    )
    again = type(model).from_config(model.get_config())
    assert type(again) is models.FAMILIES[TINY_MODELS[name].family]
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(
        scores(again, images), scores(model, images), rtol=1e-6
    )


def test_bad_registrations_and_names():
    with pytest.raises(ValueError, match=r"family='pixel_rcnn'"):
        register_tiny_model("x", "pixel_rcnn", (2, 2, 1), 2)
    with pytest.raises(ValueError, match=r"'pixel_cnn' is registered"):
        register_tiny_model("pixel_cnn", "pixel_cnn", (2, 2, 1), 2)
    with pytest.raises(ValueError, match=r"name='nope'"):
        build_tiny_model("nope")
