"""Multi-scale PixelRNN: exact joint likelihood of a small image and the
rest of the image given it (paper §2.4)."""

import h5py
import keras
import numpy as np
import pytest

from kerpix import models
from kerpix import testing
from kerpix.export.signatures import drive_sample_steps

LSTMS = ["row_lstm", "diagonal_bilstm"]


def make_model(lstm, shape=(4, 4, 1), small=(2, 2, 1), levels=2, layers=1):
    return models.MultiScalePixelRNN(
        shape,
        small,
        num_levels=levels,
        lstm=lstm,
        units=2 * shape[-1],
        num_layers=layers,
        conditioning_filters=3,
        first_kernel_size=3,
    )


@pytest.mark.parametrize("lstm", LSTMS)
@pytest.mark.parametrize(
    "shape, small, levels",
    [
        ((4, 4, 1), (2, 2, 1), 2),
        ((2, 2, 3), (1, 1, 3), 2),
        ((2, 4, 1), (1, 2, 1), 3),
    ],
)
def test_joint_is_normalized_by_enumeration(lstm, shape, small, levels):
    model = make_model(lstm, shape, small, levels)
    testing.assert_normalized(
        lambda x: model.log_prob(x, batch_size=8192), shape, levels
    )


@pytest.mark.parametrize("lstm", LSTMS)
def test_log_prob_is_small_model_plus_the_rest(lstm):
    model = make_model(lstm, (4, 6, 1), (2, 3, 1))
    images = np.random.default_rng(0).integers(0, 2, (5, 4, 6, 1))
    small = images[:, ::2, ::2]
    params = model.compute_params(
        model.preprocessor(images), small.astype("int32")
    )
    per_pixel = keras.ops.convert_to_numpy(model.head.log_prob(images, params))
    rest = per_pixel[:, :, :, 0].copy()
    rest[:, ::2, ::2] = 0
    want = model.small_model.log_prob(small) + rest.sum(axis=(1, 2))
    np.testing.assert_allclose(model.log_prob(images), want, rtol=1e-5)


@pytest.mark.parametrize("lstm", LSTMS)
@pytest.mark.parametrize("colors", [1, 3])
def test_conditional_backbone_is_causal_given_the_small_image(lstm, colors):
    shape = (6, 4, colors)
    backbone = models.PixelRNNBackbone(
        shape,
        units=2 * colors,
        num_layers=2,
        lstm=lstm,
        conditional_shape=(3, 2, colors),
        conditioning_filters=3,
    )
    condition = np.random.default_rng(1).normal(size=(16, 6 * colors))
    condition = keras.ops.convert_to_tensor(condition.astype("float32"))
    fn = lambda x: backbone([x, condition])  # noqa: E731
    for site in [(3, 2, 0), (5, 3, colors - 1)]:
        expected = testing.masked_conv_receptive_field(
            testing.pixel_rnn_layers(2, lstm), shape, site
        )
        testing.assert_causal(fn, shape, site, expected=expected)


@pytest.mark.parametrize("lstm", LSTMS)
def test_full_model_reads_the_past_and_the_small_image_only(lstm):
    """A rest pixel's conditional may read the small image anywhere (it is
    generated first) and the causal past; nothing else."""
    shape = (6, 6, 1)
    model = make_model(lstm, shape, (3, 3, 1), layers=2)

    def params(x):
        small = keras.ops.reshape(model.subsample(x), (-1, 9))
        return model.head(model.backbone([x, small]))

    grid = np.zeros(shape, bool)
    grid[::2, ::2] = True
    for site in [(3, 1, 0), (1, 3, 0), (3, 5, 0)]:
        past = testing.causal_past(shape, site)
        got = testing.site_gradient(params, shape, site)
        assert not np.any(got & ~(past | grid)), np.argwhere(got & ~past)
        field = testing.masked_conv_receptive_field(
            testing.pixel_rnn_layers(2, lstm, first_kernel_size=3)
            + [("conv", 1, "B")],
            shape,
            site,
        )
        assert np.all(got[field & ~grid]), "misses part of its causal field"
        assert np.any(got & grid & ~past), "does not read the small image"


@pytest.mark.parametrize("lstm", LSTMS)
def test_conditional_step_interface_matches_the_forward_pass(lstm):
    backbone = models.PixelRNNBackbone(
        (4, 6, 3),
        units=3,
        num_layers=2,
        lstm=lstm,
        conditional_shape=(2, 3, 3),
        conditioning_filters=2,
    )
    testing.assert_step_matches_call(backbone)


def test_sampling_small_image_first_then_the_rest():
    # The Diagonal BiLSTM's: the registry's multi-scale model (a Row LSTM)
    # runs cached == naive in tests/models/tiny_models_test.py.
    model = make_model("diagonal_bilstm", (4, 6, 1), (2, 3, 1), levels=3)
    assert model.num_positions == 6 + 24
    noise = np.random.default_rng(0).random((5, 30, 1), "float32")
    cached = model.sample(noise=noise, verbose=0)
    naive = model.sample(noise=noise, method="naive", verbose=0)
    np.testing.assert_array_equal(cached, naive)
    # The small image is the small model's sample from the first h*w noise
    # rows.
    np.testing.assert_array_equal(
        cached[:, ::2, ::2],
        model.small_model.sample(noise=noise[:, :6], verbose=0),
    )
    # The rest reads the next H*W rows: changing the rows of the small
    # image's own pixels there changes nothing.
    unused = noise.copy()
    grid = [6 + 6 * i + j for i in range(0, 4, 2) for j in range(0, 6, 2)]
    unused[:, grid] = 0.5
    assert not np.array_equal(unused, noise)
    np.testing.assert_array_equal(model.sample(noise=unused, verbose=0), cached)
    # Given small images (p(x | s)): they stay at their positions.
    small = np.random.default_rng(1).integers(0, 3, (5, 2, 3, 1))
    upsampled = model.sample(conditional_input=small, seed=0, verbose=0)
    np.testing.assert_array_equal(upsampled[:, ::2, ::2], small)


def test_two_scales_are_two_models(tmp_path):
    """The multi-scale model composes an unconditional small model and an
    `UpscalingDensityModel` (`p(x | s)`); each is a model of its own."""
    model = make_model("row_lstm", (4, 6, 1), (2, 3, 1), levels=3)
    upscaling = model.upscaling_model
    assert isinstance(upscaling, models.UpscalingDensityModel)
    assert upscaling.backbone is model.backbone
    assert upscaling.head is model.head
    images = np.random.default_rng(0).integers(0, 3, (4, 4, 6, 1))
    np.testing.assert_allclose(
        model.log_prob(images),
        model.small_model.log_prob(images[:, ::2, ::2])
        + upscaling.log_prob(images),
        rtol=1e-5,
    )
    # The upscaling model alone, given small images, keeps them and fills
    # the rest as the multi-scale model's second stage does.
    small = np.random.default_rng(1).integers(0, 3, (4, 2, 3, 1))
    noise = np.random.default_rng(2).random((4, 24, 1), "float32")
    alone = upscaling.sample(noise=noise, conditional_input=small, verbose=0)
    np.testing.assert_array_equal(alone[:, ::2, ::2], small)
    staged = np.concatenate([np.zeros((4, 6, 1), "float32"), noise], 1)
    np.testing.assert_array_equal(
        alone, model.sample(noise=staged, conditional_input=small, verbose=0)
    )
    with pytest.raises(ValueError, match=r"`conditional_input`.*small"):
        upscaling.sample(2, seed=0, verbose=0)
    with pytest.raises(
        ValueError, match=r"`conditional_input`.*one small image per sample"
    ):
        upscaling.sample(noise=np.zeros((3, 24, 1)), conditional_input=small)
    # The full scale's layers save where they did when the multi-scale
    # model held them itself, so older `.keras` files load unchanged.
    model.save_weights(str(tmp_path / "model.weights.h5"))
    with h5py.File(tmp_path / "model.weights.h5") as f:
        assert {"backbone", "head"} <= set(f)
        assert "upscaling_model" not in f


@pytest.mark.parametrize(
    "lstm, shape, small",
    # Each LSTM once, one on a grey multi-row image, one in colour (the
    # export battery drives the same steps through SavedModel and ONNX).
    [
        ("row_lstm", (4, 6, 1), (2, 3, 1)),
        ("diagonal_bilstm", (2, 2, 3), (1, 1, 3)),
    ],
)
def test_staged_sample_step_reproduces_sample(lstm, shape, small):
    """The one-step interface the exporters drive: zero canvas and state,
    positions over the small image and then the full image."""
    model = make_model(lstm, shape, small, levels=3)
    noise = np.random.default_rng(2).random(
        (4, model.num_positions, model.noise_dims), "float32"
    )
    state_count = len(model.initial_state(1))

    def run_step(feed):
        states = tuple(feed[f"state_{k}"] for k in range(state_count))
        canvas, states = model.sample_step(
            feed["canvas"], states, int(feed["position"]), feed["noise"]
        )
        out = {"next_canvas": keras.ops.convert_to_numpy(canvas)}
        for k, state in enumerate(states):
            out[f"next_state_{k}"] = keras.ops.convert_to_numpy(state)
        return out

    np.testing.assert_array_equal(
        drive_sample_steps(model, noise, run_step),
        model.sample(noise=noise, verbose=0),
    )
    with pytest.raises(ValueError, match=r"`known`.*complete\(\)"):
        model.sample_step(
            np.zeros((1,) + shape, "int32"),
            model.initial_state(1),
            0,
            noise[:1, 0],
            known=(np.zeros((1, shape[-1]), "int32"), np.zeros(1, "int32")),
        )


def test_completion_keeps_known_pixels_at_both_scales():
    model = make_model("row_lstm", (4, 4, 1), (2, 2, 1))
    images = np.random.default_rng(0).integers(0, 2, (6, 4, 4, 1))
    mask = np.zeros((4, 4), bool)
    mask[:2] = True
    done = model.complete(images, mask, seed=0, verbose=0)
    np.testing.assert_array_equal(done[:, :2], images[:, :2])
    naive = model.complete(images, mask, seed=0, method="naive", verbose=0)
    np.testing.assert_array_equal(done, naive)


@pytest.mark.large  # slow: the large suite (CI) runs it
def test_fit_evaluate_and_keras_file_round_trip(tmp_path):
    images = np.tile(np.arange(8) % 2, (32, 8, 1))[..., None]
    model = models.MultiScalePixelRNN(
        (8, 8, 1), (4, 4, 1), num_levels=2, units=4, num_layers=1
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(images, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    result = model.evaluate(images, return_dict=True, verbose=0)
    np.testing.assert_allclose(
        result["loss"], -model.log_prob(images).mean(), rtol=1e-5
    )
    np.testing.assert_allclose(
        result["bits_per_dim"],
        result["loss"] / (64 * np.log(2)),
        rtol=1e-5,
    )
    restored = testing.run_model_saving_test(model, images[:2], str(tmp_path))
    np.testing.assert_array_equal(
        restored.sample(2, seed=0, verbose=0),
        model.sample(2, seed=0, verbose=0),
    )
    testing.run_serialization_test(model)


def test_bad_input():
    model = make_model("row_lstm")
    images = np.zeros((2, 4, 4, 1), "int32")
    with pytest.raises(ValueError, match=r"`conditional_input`.*images only"):
        model.log_prob(images, conditional_input=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"`y`.*images only"):
        model.fit(images, np.zeros(2), verbose=0)
    with pytest.raises(
        ValueError, match=r"`conditional_input`.*\(None, 2, 2, 1\)"
    ):
        model.sample(conditional_input=np.zeros((2, 3, 3, 1), "int32"))
    with pytest.raises(ValueError, match=r"`noise`.*\(num_samples, 20, 1\)"):
        model.sample(noise=np.zeros((2, 16, 1), "float32"))
    with pytest.raises(
        ValueError,
        match=r"`conditional_shape`.*dividing the image's \(4, 4\)\. "
        r"Received: conditional_shape=\(3, 2, 1\)",
    ):
        models.MultiScalePixelRNN((4, 4, 1), (3, 2, 1))
    small = models.RowLSTMPixelRNN((2, 2, 1), num_levels=3, units=2)
    backbone = models.PixelRNNBackbone(
        (4, 4, 1), units=2, conditional_shape=(2, 2, 1)
    )
    with pytest.raises(ValueError, match=r"`small_model`.*num_levels=2"):
        models.MultiScaleDensityModel(
            small, backbone, model.head.__class__(num_levels=2)
        )
    with pytest.raises(ValueError, match=r"`backbone`.*conditional_shape"):
        models.MultiScaleDensityModel(
            small, models.PixelRNNBackbone((4, 4, 1), units=2), model.head
        )
