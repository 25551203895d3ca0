import math

import keras
import numpy as np
import pytest

from kerpix import metrics
from kerpix import models
from kerpix import testing


def tiny_model(colors=1, levels=4, **kwargs):
    return models.PixelCNN(
        (6, 6, colors),
        num_levels=levels,
        filters=4 * colors,
        num_layers=1,
        **kwargs,
    )


def random_images(n=8, shape=(6, 6, 1), levels=4, seed=0):
    return np.random.default_rng(seed).integers(0, levels, (n,) + shape)


def test_log_prob_is_sum_of_head_terms_and_bits_per_dim_is_consistent():
    model = tiny_model(colors=3)
    images = random_images(shape=(6, 6, 3)).astype("uint8")
    lp = model.log_prob(images)
    assert lp.shape == (8,) and lp.dtype == np.float32
    params = model(images)
    ref = keras.ops.convert_to_numpy(model.head.log_prob(images, params))
    np.testing.assert_allclose(lp, ref.sum(axis=(1, 2, 3)), rtol=1e-6)
    model.compile()
    result = model.evaluate(images, return_dict=True, verbose=0)
    assert result["loss"] == pytest.approx(-lp.mean(), rel=1e-5)
    assert result["bits_per_dim"] == pytest.approx(
        -lp.mean() / (6 * 6 * 3 * math.log(2)), rel=1e-5
    )
    assert result["bits_per_dim"] == pytest.approx(
        metrics.bits_per_dim(-lp.mean(), (6, 6, 3)), rel=1e-5
    )


def test_zero_logits_give_exactly_eight_bits_per_dim():
    model = tiny_model(levels=256, colors=3)
    for weight in model.head.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    images = random_images(shape=(6, 6, 3), levels=256)
    bits = metrics.bits_per_dim(-model.log_prob(images), (6, 6, 3))
    np.testing.assert_allclose(bits, 8.0, rtol=1e-6)


def test_fit_reduces_the_loss():
    # Images with a strong pattern: vertical stripes.
    images = np.tile(np.arange(6) % 2 * 3, (32, 6, 1))[..., None]
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    history = model.fit(images, epochs=15, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert history.history["bits_per_dim"][-1] < 1.0


def test_fit_on_a_tf_data_dataset():
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.data with the TensorFlow backend")
    images = random_images(16).astype("uint8")
    ds = tf.data.Dataset.from_tensor_slices(images).batch(8)
    model = tiny_model()
    model.compile()
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["bits_per_dim"][0])


def test_sample_is_deterministic_under_a_seed():
    model = tiny_model(colors=3)
    a = model.sample(3, seed=7, verbose=0)
    b = model.sample(3, seed=7, verbose=0)
    c = model.sample(3, seed=8, verbose=0)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert a.shape == (3, 6, 6, 3) and a.dtype == np.int32
    assert a.min() >= 0 and a.max() < 4


def test_sample_equals_under_fixed_noise():
    model = tiny_model(colors=3)
    noise = np.random.default_rng(0).random((2, 36, 3)).astype("float32")
    a = model.sample(noise=noise, verbose=0)
    b = model.sample(noise=noise, verbose=0)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        a, model.sample(seed=None, noise=noise, verbose=0)
    )


@pytest.mark.parametrize("colors, levels", [(1, 2), (3, 4)])
def test_greedy_sample_is_a_fixed_point(colors, levels):
    model = tiny_model(colors=colors, levels=levels)
    sample = model.sample(2, temperature=0.0, verbose=0)
    mode = keras.ops.convert_to_numpy(model.head.mode(model(sample)))
    np.testing.assert_array_equal(sample, mode)


def test_samples_follow_the_model_conditionals():
    # Each sampled sub-pixel is the inverse CDF of its conditional, computed
    # on the finished sample (teacher forcing): recompute and compare.
    model = tiny_model(colors=3)
    noise = np.random.default_rng(3).random((2, 36, 3)).astype("float32")
    sample = model.sample(noise=noise, verbose=0)
    params = model(sample)
    again = keras.ops.convert_to_numpy(
        model.head.sample(params, noise.reshape(2, 6, 6, 3))
    )
    np.testing.assert_array_equal(sample, again)


def test_serialization_round_trip():
    model = tiny_model(colors=3)
    again = testing.run_serialization_test(model)
    images = random_images(shape=(6, 6, 3))
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(
        model.log_prob(images), again.log_prob(images)
    )


@pytest.mark.large
def test_keras_file_round_trip(tmp_path):
    model = tiny_model(colors=3)
    images = random_images(shape=(6, 6, 3))
    restored = testing.run_model_saving_test(model, images, str(tmp_path))
    np.testing.assert_array_equal(
        model.log_prob(images), restored.log_prob(images)
    )


def test_model_keras_file_round_trip_small(tmp_path):
    # Also in the default suite: saving is a product guarantee.
    model = tiny_model(levels=2)
    images = random_images(levels=2)
    testing.run_model_saving_test(model, images, str(tmp_path))


@pytest.mark.parametrize(
    "images, message",
    [
        (
            np.zeros((6, 6, 1), "uint8"),
            r"Invalid value for argument `images`\. Expected a 4D batch of "
            r"shape \(None, 6, 6, 1\); add a batch axis: images\[None\]\. "
            r"Received: images\.shape=\(6, 6, 1\)",
        ),
        (
            np.zeros((2, 6, 6), "uint8"),
            r"Invalid value for argument `images`\. Expected a 4D batch of "
            r"shape \(None, 6, 6, 1\); add a channel axis: images\[\.\.\., "
            r"None\]\. Received: images\.shape=\(2, 6, 6\)",
        ),
        (
            np.zeros((2, 6, 6, 3), "uint8"),
            r"Invalid value for argument `images`\. Expected images of shape "
            r"\(None, 6, 6, 1\) \(channels last\)\. Received: "
            r"images\.shape=\(2, 6, 6, 3\)",
        ),
        (
            np.zeros((2, 6, 6, 1), "float32"),
            r"Invalid value for argument `images`\. Expected integer pixel "
            r"values in \[0, 4\) \(e\.g\. uint8\); quantize float images "
            r"first\. Received: images\.dtype=float32",
        ),
        (
            np.full((2, 6, 6, 1), 4),
            r"Invalid value for argument `images`\. Expected values in "
            r"\[0, 3\] for num_levels=4\. Received: values in \[4, 4\]",
        ),
        (
            np.full((2, 6, 6, 1), -1),
            r"Invalid value for argument `images`\. Expected values in "
            r"\[0, 3\] for num_levels=4\. Received: values in \[-1, -1\]",
        ),
    ],
)
def test_bad_images(images, message):
    model = tiny_model()
    model.compile()
    with pytest.raises(ValueError, match=message):
        model.log_prob(images)
    with pytest.raises(
        ValueError,
        match=message.replace("`images`", "`x`")
        .replace("images\\.", "x\\.")
        .replace("images\\[", "x\\["),
    ):
        model.fit(images, verbose=0)


def test_bad_api_arguments():
    model = tiny_model()
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `conditional_input`\. This model "
        r"is unconditional; pass conditional_input=None\. Received: "
        r"conditional_input of type ndarray",
    ):
        model.log_prob(random_images(), conditional_input=np.zeros((8, 1)))
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `loss`/`metrics`\. "
        r"PixelCNN always trains on its negative log-likelihood "
        r"\(nats/image\) and reports bits/dim; call compile\(\) without "
        r"them\. Received: loss='mse', metrics=None",
    ):
        model.compile(loss="mse")
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `y`\. This model is unconditional; "
        r"pass y=None\. Received: y of type ndarray",
    ):
        model.fit(random_images(), random_images(), verbose=0)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `noise`\. Expected uniforms of "
        r"shape \(num_samples, 36, 1\) = \(N, num_positions, noise_dims\)\. "
        r"Received: noise\.shape=\(2, 36\)",
    ):
        model.sample(noise=np.zeros((2, 36)))
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `noise`\. Expected uniform values "
        r"in \[0, 1\)\. Received: values in \[1\.0, 1\.0\]",
    ):
        model.sample(noise=np.ones((2, 36, 1)))
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `num_samples`\. Expected a "
        r"positive int \(or pass `noise`\)\. Received: num_samples=0",
    ):
        model.sample(0)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `temperature`\. Expected a number "
        r">= 0 \(0 takes the mode\)\. Received: temperature=-1",
    ):
        model.sample(1, temperature=-1)
