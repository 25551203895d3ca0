import keras
import numpy as np
import pytest

from kerpix import heads
from kerpix import models
from kerpix import testing


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def make_head(colors=3, levels=256, mixtures=4):
    return heads.DiscretizedLogisticMixtureHead(
        num_channels=colors, num_levels=levels, num_mixtures=mixtures
    )


def random_params(head, shape, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.normal(size=shape + (head.params_size,))).astype(
        "float32"
    )


# === Independent NumPy reference (float64) of the same distribution ===


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def reference_bin_log_prob(x, mean, log_scale, levels):
    """PixelCNN++'s formula, in float64, with the CDF difference taken in
    whichever tail keeps it exact (instead of the 1e-5 threshold and the
    mid-bin fallback)."""
    log_scale = np.maximum(log_scale, -7.0)
    half = 1.0 / (levels - 1)
    xs = 2.0 * x / (levels - 1) - 1.0
    inv = np.exp(-log_scale)
    upper = inv * (xs - mean + half)
    lower = inv * (xs - mean - half)
    with np.errstate(divide="ignore", over="ignore"):
        # Right of the mean, 1 - σ is the accurate side.
        right = np.log(1 / (1 + np.exp(lower)) - 1 / (1 + np.exp(upper)))
        left = np.log(1 / (1 + np.exp(-upper)) - 1 / (1 + np.exp(-lower)))
    mid = np.where(xs - mean > 0, right, left)
    return np.where(
        x == 0,
        log_sigmoid(upper),
        np.where(x == levels - 1, log_sigmoid(-lower), mid),
    )


def reference_log_prob(images, params, colors, levels, mixtures):
    """Joint `log p(pixel)` `(...)` by the mixture formula, in float64."""
    k = mixtures
    params = params.astype("float64")
    logits = params[..., :k]
    means = params[..., k : k + colors * k].reshape(
        params.shape[:-1] + (colors, k)
    )
    scales = params[..., k + colors * k : k + 2 * colors * k].reshape(
        params.shape[:-1] + (colors, k)
    )
    coeffs = np.tanh(
        params[..., k + 2 * colors * k :].reshape(params.shape[:-1] + (-1, k))
    )
    xs = 2.0 * images / (levels - 1) - 1.0
    log_pi = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    total = log_pi
    pair = 0
    for c in range(colors):
        mean = means[..., c, :]
        for prev in range(c):
            mean = mean + coeffs[..., pair, :] * xs[..., prev, None]
            pair += 1
        total = total + reference_bin_log_prob(
            images[..., c, None].astype("float64"),
            mean,
            scales[..., c, :],
            levels,
        )
    return np.logaddexp.reduce(total, axis=-1)


# === Tests ===


def test_params_layout_and_shape():
    head = make_head(colors=3, mixtures=5)
    # K logits + K means, K log-scales per colour + 3 coefficients per K.
    assert head.params_size == 5 * (1 + 3 + 3 + 3)
    params = head(np.zeros((2, 3, 4, 12)))
    assert tuple(params.shape) == (2, 3, 4, head.params_size)
    assert head.compute_output_shape((2, 3, 4, 12)) == (2, 3, 4, 50)
    assert make_head(colors=1, mixtures=10).params_size == 30
    assert head.samples_channels_jointly


@pytest.mark.parametrize("colors, levels", [(1, 256), (3, 256), (3, 5)])
def test_parity_with_numpy_reference(colors, levels):
    head = make_head(colors, levels)
    params = random_params(head, (4, 5), scale=2.0)
    images = np.random.default_rng(3).integers(0, levels, (4, 5, colors))
    images[0, 0] = 0
    images[0, 1] = levels - 1
    got = to_numpy(head.log_prob(images, params)).sum(-1)
    want = reference_log_prob(images, params, colors, levels, 4)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("colors", [1, 3])
def test_each_colour_conditional_sums_to_one_over_256_levels(colors):
    head = make_head(colors)
    params = random_params(head, (6,), scale=2.0)
    base = np.random.default_rng(2).integers(0, 256, (6, colors))
    for c in range(colors):
        images = np.repeat(base[:, None], 256, axis=1)
        images[:, :, c] = np.arange(256)
        lp = to_numpy(head.log_prob(images, np.repeat(params[:, None], 256, 1)))
        np.testing.assert_allclose(np.exp(lp[..., c]).sum(1), 1.0, atol=2e-5)


@pytest.mark.large  # slow: the large suite (CI) runs it
def test_joint_sums_to_one_over_all_256_cubed_colours():
    # One pixel, every (R, G, B): 256 batches of the 65536 (G, B) pairs.
    head = make_head(colors=3, mixtures=3)
    params = random_params(head, (1,), seed=5, scale=1.5)
    gb = np.stack(np.meshgrid(np.arange(256), np.arange(256)), -1)
    gb = gb.reshape(-1, 2)
    batch_params = np.repeat(params, len(gb), axis=0)
    total = 0.0
    for red in range(256):
        images = np.concatenate([np.full((len(gb), 1), red), gb], axis=1)
        lp = to_numpy(head.log_prob(images, batch_params)).sum(-1)
        total += np.exp(lp.astype("float64")).sum()
    assert total == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    "policy", ["float32", "mixed_float16", "mixed_bfloat16"]
)
def test_extreme_parameters_stay_finite(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        head = make_head(colors=3)
        features = np.full((1, 2, 2, 6), 6e4 if "16" in policy else 1e6)
        features[0, 1] *= -1
        params = head(features.astype(keras.config.floatx()))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert keras.backend.standardize_dtype(params.dtype) == "float32"
    k = 4
    extreme = np.zeros((8, head.params_size), "float32")
    extreme[0, :k] = [1e4, -1e4, 0, 0]  # one component only
    extreme[1, k : 4 * k] = 1e3  # means far right
    extreme[2, k : 4 * k] = -1e3  # means far left
    extreme[3, 4 * k : 7 * k] = -50.0  # scale below the floor
    extreme[4, 4 * k : 7 * k] = 30.0  # bins far narrower than the scale
    extreme[5, 4 * k : 7 * k] = 80.0  # exp(-80) underflows float32
    extreme[6, 7 * k :] = 1e4  # saturated coefficients
    extreme[7] = random_params(head, (), scale=50.0)
    for value in [0, 1, 127, 254, 255]:
        images = np.full((8, 3), value, "int32")
        lp = to_numpy(head.log_prob(images, extreme))
        assert np.isfinite(lp).all(), (value, lp)
        assert (lp <= 1e-5).all()
        grad = testing.input_gradient(
            lambda p: p,
            extreme,
            lambda p: keras.ops.sum(head.log_prob(images, p)),
        )
        assert np.isfinite(grad).all(), value
        samples = to_numpy(head.sample(extreme, np.full((8, 3), 0.3)))
        assert samples.min() >= 0 and samples.max() <= 255
    # Means beyond the range: all mass on the edge bins.
    edge = to_numpy(head.log_prob(np.full((1, 3), 255), extreme[1:2]))
    np.testing.assert_allclose(edge, 0.0, atol=1e-6)


def test_wide_scale_is_uniform_over_the_bins():
    # s -> inf: every bin has mass 2h / (4 s), tiny but exact; the edge
    # bins take the rest.
    head = make_head(colors=1, mixtures=1)
    params = np.array([[0.0, 0.0, 30.0]], "float32")
    lp = to_numpy(head.log_prob(np.array([[100]]), params))[0, 0]
    half = 1.0 / 255
    assert lp == pytest.approx(np.log(2 * half / 4) - 30.0, rel=1e-6)


def test_samples_are_the_inverse_cdf_of_the_reported_conditionals():
    head = make_head(colors=3, levels=16, mixtures=3)
    params = random_params(head, (64,), scale=1.5)
    noise = np.random.default_rng(7).random((64, 3)).astype("float32")
    x = to_numpy(head.sample(params, noise))
    for c in range(3):
        images = np.repeat(x[:, None], 16, axis=1)
        images[:, :, c] = np.arange(16)
        lp = to_numpy(head.log_prob(images, np.repeat(params[:, None], 16, 1)))
        cdf = np.cumsum(np.exp(lp[..., c]), axis=1)
        rows = np.arange(64)
        above = cdf[rows, x[:, c]]
        below = np.where(x[:, c] > 0, cdf[rows, x[:, c] - 1], 0.0)
        assert (below <= noise[:, c] + 1e-6).all()
        assert (noise[:, c] <= above + 1e-6).all()


def test_mode_is_temperature_zero_and_greedy_per_colour():
    head = make_head(colors=3, levels=16, mixtures=3)
    params = random_params(head, (32,), scale=1.5)
    mode = to_numpy(head.mode(params))
    np.testing.assert_array_equal(
        mode, to_numpy(head.sample(params, np.zeros((32, 3)), 0.0))
    )
    for c in range(3):
        images = np.repeat(mode[:, None], 16, axis=1)
        images[:, :, c] = np.arange(16)
        lp = to_numpy(head.log_prob(images, np.repeat(params[:, None], 16, 1)))
        np.testing.assert_array_equal(np.argmax(lp[..., c], axis=1), mode[:, c])


def test_reads_only_colour_group_zero_features():
    # Group 0 sees nothing of its own pixel; groups 1 and 2 do, so reading
    # them would leak the colours the head is about to model.
    head = make_head(colors=3, mixtures=2)
    features = np.random.default_rng(0).normal(size=(1, 2, 2, 12))
    grad = testing.input_gradient(
        head, features, lambda p: keras.ops.sum(p[0, 1, 0])
    )
    nonzero = np.argwhere(grad[0] != 0)
    assert len(nonzero)
    assert all((i, j) == (1, 0) and k < 4 for i, j, k in nonzero)


def test_serialization_round_trip_and_bad_arguments():
    head = make_head(colors=3, mixtures=6)
    again = testing.run_serialization_test(head)
    assert again.num_mixtures == 6 and again.params_size == head.params_size
    with pytest.raises(ValueError, match="`num_mixtures`.*num_mixtures=0"):
        make_head(mixtures=0)
    with pytest.raises(ValueError, match="3 colour groups"):
        make_head(colors=3)(np.zeros((1, 2, 2, 4)))


@pytest.mark.parametrize("colors", [1, 3])
def test_gated_model_is_causal_and_normalized(colors):
    shape = (4, 4, colors)
    model = models.GatedPixelCNN(
        shape,
        num_levels=4,
        filters=4 * colors,
        num_layers=2,
        kernel_size=3,
        first_kernel_size=3,
        head="logistic_mixture",
    )
    assert model.passes_per_pixel == 1

    def all_params_in_every_group(x):
        params = model.compute_params(x)
        return keras.ops.concatenate([params] * colors, axis=-1)

    for site in [(2, 1), (3, 3)]:
        # Every parameter of pixel (i, j) sees exactly the pixels before
        # it: none of its own colours.
        expected = testing.gated_receptive_field([3, 3], shape, site + (0,))
        testing.assert_causal(
            all_params_in_every_group, shape, site + (0,), expected=expected
        )
    tiny = (1, 2, colors) if colors == 3 else (2, 2, 1)
    small = models.GatedPixelCNN(
        tiny,
        num_levels=3,
        filters=2 * colors,
        num_layers=1,
        kernel_size=3,
        first_kernel_size=3,
        head=heads.DiscretizedLogisticMixtureHead(colors, 3, num_mixtures=2),
    )
    testing.assert_normalized(small.log_prob, tiny, 3)


@pytest.mark.large  # slow: the large suite (CI) runs it
def test_model_fits_samples_cached_equals_naive_and_saves(tmp_path):
    model = models.GatedPixelCNN(
        (5, 5, 3),
        num_levels=256,
        filters=6,
        num_layers=2,
        kernel_size=3,
        first_kernel_size=3,
        head="logistic_mixture",
    )
    rng = np.random.default_rng(0)
    images = rng.integers(100, 140, (32, 5, 5, 3))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(images, batch_size=16, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    noise = rng.random((2, 25, 3), "float32")
    naive = model.sample(noise=noise, method="naive", verbose=0)
    cached = model.sample(noise=noise, method="cached", verbose=0)
    # Exact equality on untrained models is tested in tests/sampling; after
    # training, 256 narrow bins let float rounding between the full pass
    # and the cached step move a value across a CDF boundary (seen on
    # JAX: 2 to 4 of 150 sub-pixels, by one level).
    differ = naive != cached
    assert differ.mean() <= 0.05, differ.mean()
    assert np.abs(naive - cached)[differ].max(initial=0) <= 1
    testing.run_model_saving_test(model, images[:2], str(tmp_path))
