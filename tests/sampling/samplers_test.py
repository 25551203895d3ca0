import importlib

import numpy as np
import pytest

from kerpix import models
from kerpix import sampling
from kerpix import testing
from kerpix.models.inputs import example_conditions
from kerpix.testing.tiny_models import TINY_MODELS
from kerpix.testing.tiny_models import build_tiny_model

# The samplers' grid runs over these registered tiny models
# (kerpix.testing.tiny_models). tests/models/tiny_models_test.py runs
# cached == naive over every registered model at its own shape and
# levels; the grid adds the settings that live in the heads and the
# sampler (256 and 2 levels, temperature below 1 and 0): each runs on the
# two heads' models (the categorical PixelCNN, the logistic mixture) and
# on one recurrent or gated backbone in rotation.
FAMILIES = [
    "pixel_cnn",
    "gated_pixel_cnn",
    "row_lstm_pixel_rnn",
    "diagonal_bilstm_pixel_rnn",
    "gated_pixel_cnn_logistic_mixture",
]
ROTATION = [
    "row_lstm_pixel_rnn",
    "diagonal_bilstm_pixel_rnn",
    "gated_pixel_cnn",
]


def make_model(shape, levels, family="pixel_cnn"):
    return build_tiny_model(family, shape, levels)


def grid(*params):
    """`params`, each for the PixelCNN, the logistic mixture (not at 2
    levels: a 2-level model has the categorical head) and one backbone of
    `ROTATION` in turn."""
    cases = []
    for k, p in enumerate(params):
        families = [
            "pixel_cnn",
            "gated_pixel_cnn_logistic_mixture",
            ROTATION[k % len(ROTATION)],
        ]
        for family in families:
            if family.endswith("logistic_mixture") and p.values[1] == 2:
                continue
            cases.append(pytest.param(family, *p.values, id=f"{p.id}-{family}"))
    return cases


@pytest.mark.parametrize(
    "family, shape, levels, temperature",
    grid(
        pytest.param((7, 5, 1), 256, 1.0, id="grey256"),
        pytest.param((5, 6, 1), 2, 1.0, id="grey2"),
        pytest.param((6, 6, 3), 8, 0.7, id="rgb8_cool"),
        pytest.param((5, 5, 3), 16, 0.0, id="rgb16_greedy"),
    ),
)
def test_cached_equals_naive_on_the_same_noise(
    family, shape, levels, temperature
):
    model = make_model(shape, levels, family)
    noise = np.random.default_rng(1).random(
        (3, shape[0] * shape[1], model.noise_dims), "float32"
    )
    naive = sampling.RasterSampler(temperature=temperature)
    cached = sampling.CachedSampler(temperature=temperature)
    a = naive(model, noise=noise, verbose=0)
    b = cached(model, noise=noise, verbose=0)
    assert_same_samples(model, a, b, noise, temperature)
    assert a.min() >= 0 and a.max() < levels


def assert_same_samples(model, a, b, noise, temperature=1.0):
    """Identical but at CDF ties (kerpix.sampling.agreement): an image's
    first differing sub-pixel must be one level off with its noise within
    float32 rounding of a boundary, or the test fails."""
    # Ties are rare: at most one image in three here.
    sampling.agreement.assert_same_samples(
        model, a, b, noise, temperature=temperature, max_ties=1
    )


@pytest.mark.parametrize(
    "family, shape, levels",
    # Every family's cached commit of known pixels, in colour (passes per
    # sub-pixel). Keeping known values is the same code at any number of
    # levels; the grid above samples 256 levels per head.
    [(family, (6, 5, 3), 4) for family in FAMILIES],
)
def test_completion_keeps_known_pixels_and_samplers_agree(
    family, shape, levels
):
    model = make_model(shape, levels, family)
    images = np.random.default_rng(0).integers(0, levels, (3,) + shape)
    mask = np.zeros((3,) + shape[:2], bool)
    mask[:, :3] = True  # upper half known
    mask[1, 4, 2] = True  # and one pixel below it
    # The naive sampler recomputes every conditional from the canvas that
    # holds the known pixels, so agreeing with it means conditioning on them.
    a = model.complete(images, mask, seed=1, verbose=0)
    b = model.complete(images, mask, seed=1, method="naive", verbose=0)
    noise = sampling.CachedSampler(seed=1).make_noise(model, 3)
    assert_same_samples(model, a, b, noise)
    np.testing.assert_array_equal(a[mask], images[mask])
    assert (a[~mask] != images[~mask]).any()


def test_completion_bad_mask():
    model = make_model((5, 5, 1), 4)
    images = np.zeros((2, 5, 5, 1), "int32")
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `mask`\. Expected booleans \(True "
        r"= known pixel\) of shape \(5, 5\) or \(2, 5, 5\)\. Received: "
        r"mask\.dtype=int64, mask\.shape=\(5, 5\)",
    ):
        model.complete(images, np.ones((5, 5), "int64"))
    with pytest.raises(ValueError, match=r"mask\.shape=\(5, 4\)"):
        model.complete(images, np.ones((5, 4), bool))


def test_method_argument_and_seed():
    model = make_model((5, 5, 1), 4)
    a = model.sample(2, seed=3, method="cached", verbose=0)
    b = model.sample(2, seed=3, method="naive", verbose=0)
    noise = sampling.CachedSampler(seed=3).make_noise(model, 2)
    np.testing.assert_array_equal(model.sample(noise=noise, verbose=0), a)
    assert_same_samples(model, b, a, noise)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `method`\. Expected one of "
        r"\['cached', 'naive'\]\. Received: method='fast'",
    ):
        model.sample(1, method="fast")


@pytest.mark.parametrize("family", ["ride", "mcgsm"])
def test_a_sampler_refuses_a_model_without_its_method(family):
    model = build_tiny_model(family)
    assert model.sampling_methods == ("cached",)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `model`\. RasterSampler "
        r"\(method='naive'\) cannot sample a (RIDE|MCGSM); its sampling "
        r"methods are \['cached'\]\. Received: model=",
    ):
        sampling.RasterSampler(seed=0)(model, num_samples=1, verbose=0)
    with pytest.raises(ValueError, match=r"Received: method='naive'"):
        model.sample(1, method="naive", verbose=0)


@pytest.mark.parametrize("family", ["pixel_cnn", "row_lstm_pixel_rnn"])
def test_chunked_sampling_changes_no_image(family, monkeypatch):
    """`batch_size` splits the batch; each image depends only on its own
    noise (and known pixels / condition), so chunks give the same images,
    for sample and complete alike; the default chunk obeys the memory cap."""
    model = make_model((4, 5, 1), 4, family)
    # Batches of 6 and 4 images, chunks of 4 (a remainder of 2) and 2: 4
    # compiled programs, each chunk shape met again below.
    whole = model.sample(6, seed=2, verbose=0)
    np.testing.assert_array_equal(
        model.sample(6, seed=2, verbose=0, batch_size=4), whole
    )
    images = np.random.default_rng(0).integers(0, 4, (4, 4, 5, 1))
    mask = np.zeros((4, 4, 5), bool)
    mask[:, :2] = True
    mask[3, 3, 1] = True
    np.testing.assert_array_equal(
        model.complete(images, mask, seed=1, verbose=0, batch_size=2),
        model.complete(images, mask, seed=1, verbose=0),
    )
    sampler = sampling.get_sampler("cached")
    assert sampler.default_batch_size(model) == 256
    # A cap of 2 images' worth of canvas, noise and state: chunks of 2.
    state = sum(np.asarray(s).nbytes for s in sampler.initial_state(model, 1))
    per_image = 4 * 20 + 4 * model.num_positions * model.noise_dims + state
    sampler_module = importlib.import_module("kerpix.sampling.sampler")
    monkeypatch.setattr(sampler_module, "STATE_BYTES", 2 * per_image + 1)
    assert sampler.default_batch_size(model) == 2
    np.testing.assert_array_equal(model.sample(6, seed=2, verbose=0), whole)
    with pytest.raises(
        ValueError, match="`batch_size`.*Received: batch_size=0"
    ):
        model.sample(2, batch_size=0)


def pixel_cnn_7x7(shape):
    return models.PixelCNN(shape, num_levels=4, filters=12, num_layers=2)


def test_step_interface_state_and_single_step():
    model = pixel_cnn_7x7((4, 5, 3))
    state = model.initial_state(2)
    # Row buffers of the input image (the 7×7 first layer reads the
    # centre row and 3 above, columns padded by 3) and of each residual
    # block, all zeros: their height does not depend on the image's.
    assert len(state) == 3
    assert tuple(state[0].shape) == (2, 4, 5 + 6, 3)
    tall = pixel_cnn_7x7((40, 5, 3)).initial_state(2)
    assert [s.shape for s in tall] == [s.shape for s in state]
    assert all(not np.asarray(s).any() for s in state)
    canvas = np.zeros((2, 4, 5, 3), "int32")
    # Away from the CDF boundaries of any near-uniform 4-level marginal
    # (0.25, 0.5, 0.75): at a boundary the two paths may round either way.
    noise = np.full((2, 3), 0.37, "float32")
    canvas, state = model.sample_step(canvas, state, 0, noise)
    canvas = np.asarray(canvas)
    assert not canvas[:, 0, 1:].any() and not canvas[:, 1:].any()
    # The first pixel has no context: its value is the inverse CDF of the
    # model's marginal at the same noise.
    params = model(np.zeros((2, 4, 5, 3), "int32"))
    first = np.asarray(model.head.sample(params, np.full((2, 4, 5, 3), 0.37)))
    np.testing.assert_array_equal(canvas[:, 0, 0, 0], first[:, 0, 0, 0])


def test_sampler_serialization():
    sampler = sampling.CachedSampler(temperature=0.5, seed=2)
    again = sampling.CachedSampler.from_config(sampler.get_config())
    assert again.temperature == 0.5 and again.seed == 2
    testing.run_serialization_test(sampling.RasterSampler(temperature=0.3))


def test_fill_stops_after_num_rows():
    model = models.PixelCNN((4, 3, 1), num_levels=4, filters=4, num_layers=1)
    sampler = sampling.CachedSampler(seed=0)
    noise = sampler.make_noise(model, 2)
    full = sampler.fill(model, noise, verbose=0)
    top = sampler.fill(model, noise, verbose=0, num_rows=2)
    np.testing.assert_array_equal(top[:, :2], full[:, :2])
    assert not top[:, 2:].any()
    for bad in (0, 5, True, 1.5):
        with pytest.raises(ValueError, match="`num_rows`"):
            sampler.fill(model, noise, verbose=0, num_rows=bad)


def test_fill_of_a_conditional_model_needs_its_conditional_input():
    model = models.GatedPixelCNN(
        (3, 3, 1), num_levels=2, filters=4, num_layers=1, num_classes=3
    )
    sampler = sampling.CachedSampler(seed=0)
    noise = sampler.make_noise(model, 2)
    with pytest.raises(
        ValueError, match="`conditional_input`.*conditional_input=None"
    ):
        sampler.fill(model, noise, verbose=0)
    rows = sampler.fill(
        model, noise, verbose=0, conditional_input=np.array([0, 2])
    )
    assert rows.shape == (2, 3, 3, 1)


# Families whose sampling state holds image-sized maps, and how many: maps
# that steps only read (a conditional model's per-pixel biases, computed
# at pixel 0), and the multi-scale staged step's small canvas.
IMAGE_SIZED = {
    "gated_pixel_cnn_spatial_conditional": 1,
    "pixel_cnn_auto_encoder": 1,  # the codes' spatial conditioning maps
    "multi_scale_pixel_rnn": 2,
}


@pytest.mark.parametrize("family", sorted(TINY_MODELS))
def test_sampling_state_does_not_grow_with_the_image_height(family):
    # Constant work per pixel: a step's caches are row buffers and
    # recurrent states, the same for an image 5 times as tall.
    short = build_tiny_model(family, (4, 6, 1), 4).initial_state(2)
    tall = build_tiny_model(family, (20, 6, 1), 4).initial_state(2)
    grown = [tuple(s.shape) for s, t in zip(short, tall) if s.shape != t.shape]
    assert len(grown) == IMAGE_SIZED.get(family, 0), grown


def test_one_compiled_call_per_image_batch_unless_a_progress_bar(
    monkeypatch,
):
    model = make_model((12, 3, 1), 4)
    sampler = sampling.CachedSampler(seed=0)
    noise = sampler.make_noise(model, 2)
    calls = []
    original = sampling.row_program.RowProgram.predict_on_batch

    def counting(self, inputs):
        calls.append(self.num_rows)
        return original(self, inputs)

    monkeypatch.setattr(
        sampling.row_program.RowProgram, "predict_on_batch", counting
    )
    quiet = sampler.fill(model, noise, verbose=0)
    assert calls == [12]
    calls.clear()
    shown = sampler.fill(model, noise, verbose=1)
    # 12 rows, about 8 updates: 6 calls of 2 rows, the same images.
    assert calls == [2] * 6
    np.testing.assert_array_equal(shown, quiet)
    assert sampling.sampler.rows_between_updates(28) == 4
    assert sampling.sampler.rows_between_updates(13) == 1
    # The first rows only (RIDE inpainting asks for each block's rows): the
    # same 2-row program whatever num_rows, the rows below left zero.
    calls.clear()
    for rows in (1, 3, 5):
        top = sampler.fill(model, noise, verbose=0, num_rows=rows)
        np.testing.assert_array_equal(top[:, :rows], quiet[:, :rows])
        assert not top[:, rows:].any()
    assert calls == [2, 2, 2, 2, 2, 2]
    assert len(sampling.row_program._PROGRAMS[model]) == 2


@pytest.mark.parametrize(
    "family",
    # One model per kind of cached step: masked residual blocks, gated
    # blocks with a per-image start (class-conditional), the logistic
    # mixture head, the Row LSTM's row start, the Diagonal BiLSTM's skew.
    [
        "pixel_cnn",
        "gated_pixel_cnn_class_conditional",
        "gated_pixel_cnn_logistic_mixture",
        "row_lstm_pixel_rnn",
        "diagonal_bilstm_pixel_rnn",
    ],
)
def test_xla_and_plain_graph_sample_alike(family):
    """XLA (the samplers' default) and a plain graph (what the default
    test suite samples with, see tests/conftest.py) draw the same images
    but for CDF ties."""
    model = build_tiny_model(family)
    conditions = example_conditions(model, 3)
    noise = sampling.CachedSampler(seed=5).make_noise(model, 3)
    xla, graph = (
        sampling.CachedSampler(jit_compile=jit).fill(
            model, noise, verbose=0, conditional_input=conditions
        )
        for jit in (True, False)
    )
    sampling.agreement.assert_same_samples(
        model, xla, graph, noise, conditional_input=conditions, max_ties=1
    )


def test_sampler_jit_compile_argument(monkeypatch):
    monkeypatch.delenv("KERPIX_SAMPLER_JIT_COMPILE", raising=False)
    assert sampling.CachedSampler().get_config()["jit_compile"] is True
    assert sampling.RasterSampler().get_config()["jit_compile"] is False
    for value, expected in (("0", False), ("false", False), ("1", True)):
        monkeypatch.setenv("KERPIX_SAMPLER_JIT_COMPILE", value)
        assert sampling.CachedSampler().jit_compile is expected
        assert sampling.CachedSampler(jit_compile=True).jit_compile is True
    monkeypatch.setenv("KERPIX_SAMPLER_JIT_COMPILE", "maybe")
    with pytest.raises(
        ValueError,
        match="environment variable `KERPIX_SAMPLER_JIT_COMPILE`.*"
        "Received: 'maybe'",
    ):
        sampling.CachedSampler()
    with pytest.raises(
        ValueError, match="`jit_compile`.*Received: jit_compile='yes'"
    ):
        sampling.CachedSampler(jit_compile="yes")


def test_multi_scale_pixel_step_needs_the_small_images():
    model = build_tiny_model("multi_scale_pixel_rnn", (4, 6, 1), 4)
    state = model.initial_state(2)
    with pytest.raises(ValueError, match="`conditional_input`.*small images"):
        model.pixel_step(state, 0, np.full((2, 1), 0.5, "float32"))


def test_nan_noise_is_an_error():
    """NaN compares false with every bound, so a range check alone would
    pass it and draw level 0 everywhere."""
    model = make_model((3, 3, 1), 4)
    noise = np.full((2, 9, model.noise_dims), np.nan, "float32")
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `noise`\. Expected uniform "
        r"values in \[0, 1\)\. Received: 18 NaN values",
    ):
        model.sample(noise=noise, verbose=0)
