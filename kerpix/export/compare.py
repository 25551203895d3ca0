"""Comparisons of reloaded artifacts against Keras."""

import numpy as np

import kerpix.export.signatures as sig
from kerpix.models.inputs import example_conditions
from kerpix.sampling.agreement import assert_same_samples


def assert_close_log_prob(expected, got, rtol, what):
    """Largest relative difference of two log-likelihood vectors."""
    expected = np.asarray(expected, "float64")
    got = np.asarray(got, "float64")
    diff = float(
        np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-6))
    )
    if not diff <= rtol:
        raise AssertionError(
            f"{what}: log_prob differs from Keras by {diff:.3g} (relative), "
            f"more than rtol={rtol}."
        )
    return diff


def assert_close_codes(expected, got, what, atol=1e-4):
    """An auto-encoder's exported codes against Keras's."""
    expected, got = np.asarray(expected), np.asarray(got)
    diff = float(np.max(np.abs(got - expected), initial=0.0))
    if expected.shape != got.shape or not diff <= atol:
        raise AssertionError(
            f"{what}: codes differ from Keras by {diff:.3g} (shapes "
            f"{expected.shape}, {got.shape}), more than atol={atol}."
        )
    return diff


def assert_same_images(model, expected, got, noise, condition, what):
    """Samples from the same noise must be identical integers, except at
    a CDF tie (`kerpix.sampling.agreement`: an image's first difference is
    one level where its noise lies within float32 rounding of a boundary);
    raises `AssertionError` otherwise."""
    expected, got = np.asarray(expected), np.asarray(got)
    if expected.shape != got.shape:
        raise AssertionError(
            f"{what}: samples have shape {got.shape}, Keras's {expected.shape}."
        )
    assert_same_samples(
        model,
        expected,
        got,
        np.asarray(noise),
        what=what,
        conditional_input=condition,
    )


def log_prob_feed(model, images, seed=0):
    """The `log_prob` endpoint's feed for `images` (NumPy arrays by input
    name) and Keras's log-likelihoods of the same inputs: example
    conditions for conditional models, uniform dequantization noise for
    dequantizing ones."""
    feed = {sig.IMAGES: np.asarray(images, "int32")}
    if sig.dequantizes(model):
        noise = np.random.default_rng(seed).random(np.shape(images), "float32")
        feed[sig.DEQUANTIZATION] = noise
        return feed, model.log_prob(images, noise=noise)
    condition = example_conditions(model, len(images))
    if condition is not None:
        feed[sig.CONDITIONAL_INPUT] = condition
    return feed, model.log_prob(images, conditional_input=condition)
