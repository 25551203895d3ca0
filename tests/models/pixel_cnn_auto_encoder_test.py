import keras
import numpy as np
import pytest

from kerpix import models
from kerpix import sampling
from kerpix import testing


def make_model(shape=(6, 6, 1), levels=2, spatial=True, **kwargs):
    kwargs = dict(
        dict(
            code_size=3,
            filters=4 * shape[-1],
            num_layers=2,
            kernel_size=3,
            first_kernel_size=3,
            encoder_filters=4,
            num_downsamplings=1,
            conditioning_filters=4,
        ),
        **kwargs,
    )
    return models.PixelCNNAutoEncoder(
        shape, num_levels=levels, spatial_conditioning=spatial, **kwargs
    )


def bars(n, seed=0, flip=0.05):
    """8×8 binary images: one full row (the content) plus pixel noise."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 8, n)
    images = np.zeros((n, 8, 8, 1), "int32")
    images[np.arange(n), rows] = 1
    noise = rng.random(images.shape) < flip
    return np.where(noise, 1 - images, images), rows


@pytest.mark.parametrize("spatial", [False, True])
@pytest.mark.parametrize("colors", [1, 3])
def test_decoder_is_causal_given_the_codes(colors, spatial):
    shape = (6, 6, colors)
    model = make_model(shape, levels=4, spatial=spatial)
    codes = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    for site in [(3, 2, 0), (5, 4, colors - 1)]:
        expected = testing.gated_receptive_field([3, 3], shape, site)
        testing.assert_causal(
            lambda x: model.compute_params(x, codes[: x.shape[0]]),
            shape,
            site,
            expected=expected,
        )


def test_normalized_given_a_code():
    model = make_model((2, 2, 1), levels=2)
    code = np.random.default_rng(1).normal(size=(1, 3)).astype("float32")
    testing.assert_normalized(
        lambda x: model.log_prob(
            x, conditional_input=np.repeat(code, len(x), axis=0)
        ),
        (2, 2, 1),
        2,
    )


def test_log_prob_uses_the_images_own_codes():
    model = make_model()
    x, _ = bars(4)
    x = x[:, :6, :6]
    np.testing.assert_allclose(
        model.log_prob(x),
        model.log_prob(x, conditional_input=model.encode(x)),
        rtol=1e-6,
    )


def test_cached_equals_naive_given_codes():
    model = make_model((5, 6, 3), levels=4)
    codes = np.random.default_rng(0).normal(size=(3, 3)).astype("float32")
    noise = np.random.default_rng(1).random((3, 30, 3), "float32")
    a = sampling.RasterSampler()(
        model, noise=noise, verbose=0, conditional_input=codes
    )
    b = sampling.CachedSampler()(
        model, noise=noise, verbose=0, conditional_input=codes
    )
    sampling.agreement.assert_same_samples(
        model, a, b, noise, conditional_input=codes, max_ties=1
    )


def test_fit_evaluate_and_keras_file_round_trip(tmp_path):
    model = make_model()
    x, _ = bars(16)
    x = x[:, :6, :6]
    model.compile()
    history = model.fit(x, epochs=2, batch_size=8, verbose=0)
    assert "bits_per_dim" in history.history
    result = model.evaluate(x, return_dict=True, verbose=0)
    np.testing.assert_allclose(
        result["loss"], -model.log_prob(x).mean(), rtol=1e-5
    )
    testing.run_serialization_test(model.encoder)
    restored = testing.run_model_saving_test(model, x[:2], str(tmp_path))
    np.testing.assert_allclose(restored.encode(x), model.encode(x))


@pytest.mark.large  # slow: the large suite (CI) runs it
def test_reconstructions_keep_the_encoded_content():
    # Content: which row holds the bar. Samples given the codes of test
    # images must put the bar in the same row (detail, the noise pixels,
    # is resampled).
    train, _ = bars(512, seed=0)
    test, rows = bars(32, seed=1)
    model = models.PixelCNNAutoEncoder(
        (8, 8, 1),
        num_levels=2,
        code_size=4,
        filters=16,
        num_layers=3,
        kernel_size=3,
        first_kernel_size=5,
        encoder_filters=8,
        num_downsamplings=2,
        conditioning_filters=8,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(train, epochs=15, batch_size=32, verbose=0)
    samples = model.sample(
        conditional_input=model.encode(test), seed=0, verbose=0
    )
    found = samples[..., 0].sum(axis=2).argmax(axis=1)
    assert np.mean(found == rows) >= 0.9, (found, rows)
    assert (samples != test).any()  # detail is resampled, not copied


def test_bad_input():
    model = make_model()
    x, _ = bars(4)
    x = x[:, :6, :6]
    model.compile()
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `y`\. This model computes its "
        r"conditioning from the images \(an auto-encoder's codes\); pass "
        r"images only\.",
    ):
        model.fit(x, np.zeros(4, "int32"), verbose=0)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `conditional_input`\. Expected "
        r"float vectors of shape \(4, 3\)\. Received: "
        r"conditional_input\.shape=\(4, 2\)",
    ):
        model.log_prob(x, conditional_input=np.zeros((4, 2), "float32"))
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `conditional_input`\. This model "
        r"is conditional; pass float vectors of shape \(2, 3\)\.",
    ):
        model.sample(2, verbose=0)
    with pytest.raises(ValueError, match=r"`code_size`.*code_size=0"):
        make_model(code_size=0)
    encoder = models.ImageEncoder((6, 6, 1), code_size=5)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `encoder`\. Its codes must have "
        r"backbone\.conditional_dims=3 values\. Received: codes of size 5",
    ):
        models.AutoEncoderDensityModel(encoder, model.backbone, model.head)
