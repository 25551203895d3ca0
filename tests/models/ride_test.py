"""RIDE: spatial LSTM + MCGSM on continuous (dequantized) pixel values."""

import keras
import numpy as np
import pytest

from kerpix import models
from kerpix import testing
from kerpix.sampling import CachedSampler


def make_model(shape=(5, 6, 1), levels=4, layers=1, adapt=True, **kwargs):
    """A small RIDE; `adapt`: its preconditioner fitted to correlated
    random images (a map far from the identity), as before training."""
    model = models.RIDE(
        shape,
        num_levels=levels,
        num_layers=layers,
        num_hiddens=3,
        num_components=2,
        num_scales=2,
        num_features=2,
        **kwargs,
    )
    if adapt:
        rng = np.random.default_rng(7)
        if levels:
            steps = rng.integers(0, 2, (32,) + shape)
            images = (np.cumsum(steps, axis=2) % levels).astype("int32")
        else:
            steps = rng.normal(0, 0.2, (32,) + shape)
            images = (0.5 + np.cumsum(steps, axis=2)).astype("float32")
        model.adapt(images)
    return model


@pytest.mark.parametrize("layers", [0, 1, 2])
@pytest.mark.parametrize("site", [(2, 3, 0), (4, 0, 0), (0, 5, 0), (4, 5, 0)])
def test_hidden_states_read_exactly_the_causal_field(layers, site):
    model = make_model(layers=layers)
    field = (
        testing.ride_receptive_field
        if layers
        else testing.window_receptive_field
    )
    testing.assert_causal(
        model.backbone,
        (5, 6, 1),
        site,
        expected=field((5, 6, 1), site),
    )


def test_pixel_density_reads_its_value_and_the_causal_field_only():
    model = make_model(layers=2)
    shape = (5, 6, 1)
    site = (3, 2, 0)
    density = lambda y: model.pixel_log_density(y)[..., None]  # noqa: E731
    expected = testing.ride_receptive_field(shape, site)
    expected[site] = True
    testing.assert_causal(density, shape, site, expected=expected, strict=False)


@pytest.mark.parametrize(
    "layers, ensemble", [(0, False), (1, False), (1, True)]
)
def test_float_model_density_integrates_to_one(layers, ensemble):
    model = make_model((1, 2, 1), levels=None, layers=layers)
    grid = np.linspace(-4, 5, 451)
    y1, y2 = np.meshgrid(grid, grid, indexing="ij")
    images = np.stack([y1.ravel(), y2.ravel()], -1).reshape(-1, 1, 2, 1)
    log_prob = model.ensemble_log_prob if ensemble else model.log_prob
    density = np.exp(log_prob(images.astype("float32"), batch_size=8192))
    total = np.trapezoid(
        np.trapezoid(density.reshape(len(grid), len(grid)), grid), grid
    )
    np.testing.assert_allclose(total, 1.0, atol=2e-3)


def test_integer_log_prob_is_a_bound_on_the_discrete_likelihood():
    """E_u[log p((x+u)/L)] - D log L <= log P(x), with P(x) the density's
    mass on x's bin (computed by quadrature)."""
    model = make_model((1, 2, 1), levels=3)
    x = np.array([[[[1], [2]]]], "int32")
    draws = [model.log_prob(x, seed=s)[0] for s in range(200)]
    grid = np.linspace(0, 1, 201)
    bins = [(v + grid) / 3 for v in (1, 2)]
    y1, y2 = np.meshgrid(*bins, indexing="ij")
    y = np.stack([y1.ravel(), y2.ravel()], -1).reshape(-1, 1, 2, 1)
    values = keras.ops.convert_to_numpy(
        keras.ops.sum(model.pixel_log_density(y.astype("float32")), (1, 2))
    )
    density = np.exp(values.astype("float64")).reshape(201, 201)
    mass = np.trapezoid(np.trapezoid(density, bins[1], axis=1), bins[0])
    assert np.mean(draws) <= np.log(mass) + 1e-3


def test_fit_evaluate_and_keras_file_round_trip(tmp_path):
    images = np.tile(np.arange(6) % 4, (64, 5, 1))[..., None].astype("int32")
    model = make_model()
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    history = model.fit(images, epochs=4, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    result = model.evaluate(images, return_dict=True, verbose=0)
    assert set(result) == {"loss", "bits_per_dim_bound"}
    np.testing.assert_allclose(
        result["loss"], -model.log_prob(images).mean(), rtol=0.05
    )
    path = str(tmp_path / "ride.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        restored.log_prob(images[:4]), model.log_prob(images[:4])
    )
    testing.run_serialization_test(model)


def test_bad_input():
    with pytest.raises(ValueError, match=r"`image_shape`.*1 channel"):
        models.RIDE((4, 4, 3))
    model = make_model()
    with pytest.raises(ValueError, match=r"`images`.*values in \[0, 3\]"):
        model.log_prob(np.full((1, 5, 6, 1), 4))
    with pytest.raises(ValueError, match=r"`images`.*integer.*float32"):
        model.log_prob(np.zeros((1, 5, 6, 1), "float32"))
    with pytest.raises(ValueError, match=r"`images`.*num_levels=None.*float"):
        make_model(levels=None).log_prob(np.zeros((1, 5, 6, 1), "int32"))
    with pytest.raises(ValueError, match=r"`images`.*\(None, 5, 6, 1\)"):
        model.log_prob(np.zeros((1, 6, 6, 1), "int32"))
    with pytest.raises(ValueError, match=r"`y`.*unconditional"):
        model.fit(np.zeros((2, 5, 6, 1), "int32"), np.zeros(2))
    with pytest.raises(ValueError, match=r"`loss`"):
        model.compile(loss="mse")
    images = np.zeros((2, 5, 6, 1), "int32")
    with pytest.raises(ValueError, match=r"`noise`.*in \[0, 1\).*1\.5"):
        model.log_prob(images, noise=np.full((2, 5, 6, 1), 1.5))
    with pytest.raises(ValueError, match=r"`noise`.*shape \(2, 5, 6, 1\)"):
        model.log_prob(images, noise=np.zeros((2, 5, 6)))
    with pytest.raises(ValueError, match=r"`noise`.*num_levels=None"):
        make_model(levels=None).log_prob(
            images.astype("float32"), noise=np.zeros((2, 5, 6, 1))
        )


def test_log_prob_with_given_noise_equals_the_graph_version():
    model = make_model()
    rng = np.random.default_rng(6)
    images = rng.integers(0, 4, (3, 5, 6, 1))
    noise = rng.random((3, 5, 6, 1), "float32")
    graph = keras.ops.convert_to_numpy(model.compute_log_prob(images, noise))
    np.testing.assert_allclose(model.log_prob(images, noise=noise), graph)
    assert not np.allclose(model.log_prob(images, noise=noise / 2), graph)


@pytest.mark.parametrize("layers", [0, 1, 2])
def test_cached_sampling_draws_from_the_models_own_conditionals(layers):
    """Each sampled value is the head's inverse CDF at its noise given the
    hidden state that the full wavefront computes on the sampled image."""
    model = make_model(levels=None, layers=layers)
    noise = np.random.default_rng(0).random((3, 30, 2), "float32")
    y = model.sample(noise=noise, verbose=0)
    assert y.shape == (3, 5, 6, 1) and y.dtype == np.float32
    h, t = model.backbone.features_and_targets(model.normalize(y))
    again = model.head.sample(h, noise.reshape(3, 5, 6, 2))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(again),
        keras.ops.convert_to_numpy(t),
        rtol=1e-4,
        atol=1e-4,
    )


def test_integer_samples_are_levels_of_the_continuous_draws():
    model = make_model(levels=4)
    noise = np.random.default_rng(1).random((2, 30, 2), "float32")
    images = model.sample(noise=noise, verbose=0)
    assert images.dtype == np.int32
    y = CachedSampler().fill(model, noise, verbose=0)  # continuous values
    assert y.dtype == np.float32
    np.testing.assert_array_equal(
        images, np.clip(np.floor(y * 4), 0, 3).astype("int32")
    )


def test_ensemble_averages_the_eight_transformed_densities():
    model = make_model((4, 4, 1), levels=None, layers=1)
    y = np.random.default_rng(2).random((3, 4, 4, 1)).astype("float32")
    singles = []
    for t in (
        y,
        y[:, ::-1],
        y[:, :, ::-1],
        y[:, ::-1, ::-1],
    ):
        for image in (t, t.transpose(0, 2, 1, 3)):
            singles.append(model.log_prob(np.ascontiguousarray(image)))
    singles = np.stack(singles).astype("float64")
    want = np.log(np.exp(singles).mean(axis=0))
    np.testing.assert_allclose(model.ensemble_log_prob(y), want, rtol=1e-5)
    assert models.MCGSM((4, 4, 1), num_levels=None).backbone.num_layers == 0


def test_completion_keeps_the_known_pixels():
    model = make_model()
    images = np.random.default_rng(3).integers(0, 4, (3, 5, 6, 1))
    mask = np.zeros((5, 6), bool)
    mask[:2] = True
    mask[2:, :2] = True
    done = model.complete(images, mask, seed=0, verbose=0)
    np.testing.assert_array_equal(done[:, mask], images[:, mask])
    with pytest.raises(ValueError, match=r"`mask`.*Received: mask.dtype"):
        model.complete(images, mask.astype("int32"), verbose=0)


def test_a_resized_model_shares_the_weights():
    model = make_model(levels=None, layers=2)
    big = model.resized((8, 9, 1))
    y = np.random.default_rng(4).random((2, 8, 9, 1)).astype("float32")
    small = keras.ops.convert_to_numpy(
        model.pixel_log_density(np.ascontiguousarray(y[:, :5, :6]))
    )
    large = keras.ops.convert_to_numpy(big.pixel_log_density(y))
    # Pixel (i, j) reads columns up to j + 2: the same inputs for j <= 3.
    np.testing.assert_allclose(large[:, :5, :4], small[:, :, :4], rtol=1e-5)


def test_adapt_fits_the_preconditioner_and_keeps_the_density_exact():
    """Rows that repeat their left neighbour: the linear prediction from
    the neighbourhood explains most of each value, so the fitted residual
    scale is small; the density of the adapted model still integrates to
    one (float model, see above) and its log-Jacobian enters log_prob."""
    rng = np.random.default_rng(5)
    images = np.repeat(rng.integers(0, 16, (64, 5, 1, 1)), 6, axis=2)
    model = make_model(levels=16, adapt=False)
    before = model.log_prob(images[:8])
    model.adapt(images)
    scale = float(
        keras.ops.convert_to_numpy(model.backbone.preconditioner.output_scale)
    )
    # Only the first column (1/6 of the pixels) is unpredictable.
    spread = np.std((images + 0.5) / 16 / model.input_scale)
    assert scale < 0.5 * spread
    after = model.log_prob(images[:8])
    assert not np.allclose(before, after)
    with pytest.raises(ValueError, match=r"`images`.*\(None, 5, 6, 1\)"):
        model.adapt(images[:, :4])
