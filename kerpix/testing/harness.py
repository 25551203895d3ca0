"""The checks every registered tiny model passes (keras-hub's
`run_backbone_test` style): gradient causality with the exact receptive
field, normalisation by enumeration, cached == naive sampling on the same
noise, and a config round trip that keeps the class and the outputs.

Each check takes a registry name (`kerpix.testing.tiny_models`) and
returns `None` when it ran and passed, or the reason it does not apply to
that model (the test suite turns the reason into a skip); a failure
raises `AssertionError`. `run_density_model_test(name)` runs them all:
what a new family, block or variant registers itself for.
"""

import numpy as np

from kerpix.models.families import FAMILIES
from kerpix.models.inputs import example_conditions
from kerpix.sampling.agreement import assert_same_samples
from kerpix.sampling.cached_sampler import CachedSampler
from kerpix.testing.causality import assert_causal
from kerpix.testing.test_case import assert_normalized
from kerpix.testing.tiny_models import TINY_MODELS
from kerpix.testing.tiny_models import build_tiny_model
from kerpix.testing.tiny_models import example_images
from kerpix.testing.tiny_models import fixed_log_prob


def check_causal(name):
    """The head parameters at two sites read exactly the entry's
    receptive field (gradients on untrained weights)."""
    entry = TINY_MODELS[name]
    if entry.causal_field is None:
        return f"{name}: its family's test file checks its causality"
    model = entry.build()
    height, width, colors = model.image_shape
    fn = entry.causal_function(model)
    for site in [(height // 2, 2, 0), (height - 1, width - 1, colors - 1)]:
        assert_causal(
            fn, model.image_shape, site, expected=entry.receptive_field(site)
        )
    return None


def check_normalized(name, num_levels=3):
    """The likelihood sums to one over every image of a 2×2 (or 1×2 RGB)
    canvas at `num_levels` levels."""
    entry = TINY_MODELS[name]
    if not entry.exact:
        return f"{name}: its integer likelihood is a bound"
    shape = (2, 2, 1) if entry.image_shape[-1] == 1 else (1, 2, 3)
    model = entry.build(image_shape=shape, num_levels=num_levels)
    condition = example_conditions(model, 1)

    def log_prob(images):
        if condition is None:
            return model.log_prob(images)
        repeated = np.repeat(condition, len(images), axis=0)
        return model.log_prob(images, conditional_input=repeated)

    assert_normalized(log_prob, shape, num_levels)
    return None


def check_cached_equals_naive(name, num_samples=2, seed=3):
    """Both samplers draw the same images from the same noise, but for
    CDF ties (`kerpix.sampling.agreement`; at most one image in
    `num_samples` may end at one)."""
    model = build_tiny_model(name)
    if "naive" not in model.sampling_methods:
        return (
            f"{name}: no naive sampler (its family's test file checks the "
            "cached sampler against the model's own conditionals)"
        )
    conditions = example_conditions(model, num_samples)
    noise = CachedSampler(seed=seed).make_noise(model, num_samples)
    naive, cached = (
        model.sample(
            noise=noise, conditional_input=conditions, method=method, verbose=0
        )
        for method in ("naive", "cached")
    )
    assert_same_samples(
        model, naive, cached, noise, conditional_input=conditions, max_ties=1
    )
    assert naive.min() >= 0 and naive.max() < model.num_levels
    return None


def check_config_round_trip(name):
    """`from_config(get_config())` is the family's class and, with the
    same weights, scores the same."""
    model = build_tiny_model(name)
    images = example_images(model)
    again = type(model).from_config(model.get_config())
    assert type(again) is FAMILIES[TINY_MODELS[name].family]
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(
        fixed_log_prob(again, images), fixed_log_prob(model, images), rtol=1e-6
    )
    return None


CHECKS = (
    check_causal,
    check_normalized,
    check_cached_equals_naive,
    check_config_round_trip,
)


def run_density_model_test(name):
    """Every check on the registered tiny model `name`; returns
    `{check name: None or the reason it does not apply}`."""
    if name not in TINY_MODELS:
        raise ValueError(
            "Invalid value for argument `name`. Expected a registered tiny "
            f"model, one of {sorted(TINY_MODELS)} (add one with "
            f"kerpix.testing.register_tiny_model). Received: name={name!r}"
        )
    return {check.__name__: check(name) for check in CHECKS}
