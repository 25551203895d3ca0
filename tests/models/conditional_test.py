"""Class- and vector-conditional Gated PixelCNN: per-image bias `V h`
(location-independent) and spatial maps `V * m(h)` (location-dependent)."""

import keras
import numpy as np
import pytest

from kerpix import layers
from kerpix import models
from kerpix import sampling
from kerpix import testing

SPATIAL = pytest.mark.parametrize(
    "spatial", [False, True], ids=["bias", "spatial"]
)


def class_model(colors=1, levels=4, spatial=False):
    return models.GatedPixelCNN(
        (5, 5, colors),
        num_levels=levels,
        filters=4 * colors,
        num_layers=2,
        kernel_size=3,
        first_kernel_size=3,
        num_classes=3,
        spatial_conditioning=spatial,
        conditioning_filters=4,
    )


def images(n=6, colors=1, levels=4, seed=0):
    return np.random.default_rng(seed).integers(0, levels, (n, 5, 5, colors))


@SPATIAL
@pytest.mark.parametrize("colors", [1, 3])
def test_causality_is_unchanged_by_conditioning(colors, spatial):
    model = class_model(colors, spatial=spatial)
    shape = (5, 5, colors)
    labels = np.arange(16) % 3
    for site in [(3, 2, 0), (3, 2, colors - 1)]:
        expected = testing.gated_receptive_field([3, 3], shape, site)
        testing.assert_causal(
            lambda x: model.compute_params(x, labels[: x.shape[0]]),
            shape,
            site,
            expected=expected,
        )


@SPATIAL
def test_step_interface_with_a_condition_vector(spatial):
    backbone = models.GatedPixelCNNBackbone(
        (4, 5, 3),
        filters=6,
        num_layers=2,
        kernel_size=3,
        first_kernel_size=3,
        conditional_dims=4,
        spatial_conditioning=spatial,
        conditioning_filters=3,
    )
    testing.assert_step_matches_call(backbone)


@SPATIAL
def test_normalized_for_every_class(spatial):
    model = models.GatedPixelCNN(
        (2, 2, 1),
        num_levels=2,
        filters=4,
        num_layers=2,
        kernel_size=3,
        first_kernel_size=3,
        num_classes=3,
        spatial_conditioning=spatial,
    )
    for label in range(3):
        testing.assert_normalized(
            lambda x, label=label: model.log_prob(
                x, conditional_input=np.full(len(x), label)
            ),
            (2, 2, 1),
            2,
        )


@SPATIAL
def test_the_condition_changes_the_likelihood(spatial):
    model = class_model(spatial=spatial)
    for w in model.weights:
        if "condition" in w.path:
            w.assign(np.random.default_rng(0).normal(size=w.shape) * 2)
    x = images()
    a = model.log_prob(x, conditional_input=np.zeros(6, "int32"))
    b = model.log_prob(x, conditional_input=np.ones(6, "int32"))
    assert np.abs(a - b).max() > 1e-3


@SPATIAL
def test_cached_equals_naive_with_labels_in_colour(spatial):
    # In grey, the registry's class-conditional models (bias and spatial)
    # run it in tests/models/tiny_models_test.py.
    model = class_model(3, spatial=spatial)
    noise = np.random.default_rng(2).random((4, 25, 3), "float32")
    labels = np.array([0, 1, 2, 1])
    a = sampling.RasterSampler()(
        model, noise=noise, verbose=0, conditional_input=labels
    )
    b = sampling.CachedSampler()(
        model, noise=noise, verbose=0, conditional_input=labels
    )
    sampling.agreement.assert_same_samples(
        model, a, b, noise, conditional_input=labels, max_ties=1
    )


@pytest.mark.large  # slow: the large suite (CI) runs it
@SPATIAL
def test_fit_with_labels_numpy_and_dataset_and_save(tmp_path, spatial):
    x, y = images(12), np.arange(12) % 3
    model = class_model(spatial=spatial)
    model.compile()
    history = model.fit(
        x, y, epochs=2, batch_size=4, verbose=0, validation_data=(x[:4], y[:4])
    )
    assert "val_bits_per_dim" in history.history
    result = model.evaluate(x, y, return_dict=True, verbose=0)
    np.testing.assert_allclose(
        result["loss"],
        -model.log_prob(x, conditional_input=y).mean(),
        rtol=1e-5,
    )
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
        model.fit(ds, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert restored.num_classes == 3
    np.testing.assert_allclose(
        restored.log_prob(x, conditional_input=y),
        model.log_prob(x, conditional_input=y),
    )
    samples = restored.sample(conditional_input=[0, 2], seed=1, verbose=0)
    assert samples.shape == (2, 5, 5, 1)


@pytest.mark.parametrize(
    "conditional_input, message",
    [
        (
            None,
            r"Invalid value for argument `conditional_input`\. This model is "
            r"conditional; pass integer class labels of shape \(6,\)\. "
            r"Received: conditional_input=None",
        ),
        (
            np.zeros((6, 3), "int32"),
            r"Invalid value for argument `conditional_input`\. Expected "
            r"integer class labels of shape \(6,\)\. Received: "
            r"conditional_input\.shape=\(6, 3\)",
        ),
        (
            np.full(6, 3),
            r"Invalid value for argument `conditional_input`\. Class labels "
            r"must be in \[0, 2\] for num_classes=3\. Received: labels in "
            r"\[3, 3\]",
        ),
        (
            np.zeros(6, "float32"),
            r"Invalid value for argument `conditional_input`\. Expected "
            r"integer class labels of shape \(6,\)\. Received: "
            r"conditional_input\.dtype=float32",
        ),
    ],
)
def test_bad_conditional_input(conditional_input, message):
    model = class_model()
    with pytest.raises(ValueError, match=message):
        model.log_prob(images(), conditional_input=conditional_input)


def test_bad_labels_in_fit_and_sample():
    model = class_model()
    model.compile()
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `y`\. Class labels must be in "
        r"\[0, 2\] for num_classes=3\. Received: labels in \[0, 5\]",
    ):
        model.fit(images(), np.arange(6), verbose=0)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `conditional_input`\. Expected "
        r"integer class labels of shape \(3,\)\. Received: "
        r"conditional_input\.shape=\(2,\)",
    ):
        model.sample(3, conditional_input=[0, 1], verbose=0)


def test_vector_conditioning_and_bad_factory_arguments():
    model = models.GatedPixelCNN(
        (4, 4, 1),
        num_levels=2,
        filters=4,
        num_layers=2,
        kernel_size=3,
        conditional_shape=(5,),
    )
    vectors = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    assert model.log_prob(
        images(3, levels=2)[:, :4, :4], conditional_input=vectors
    ).shape == (3,)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `conditional_input`\. Expected "
        r"float vectors of shape \(3, 5\)\. Received: "
        r"conditional_input\.shape=\(3, 4\)",
    ):
        model.log_prob(
            images(3, levels=2)[:, :4, :4], conditional_input=vectors[:, :4]
        )
    with pytest.raises(
        ValueError,
        match=r"Invalid values for arguments `num_classes`, "
        r"`conditional_shape`\. Pass one of them\.",
    ):
        models.GatedPixelCNN((4, 4, 1), num_classes=3, conditional_shape=(2,))


def test_spatial_conditioning_is_location_dependent():
    # Each block adds V * s with s = m(h) a map: the conditioning term of a
    # block differs from location to location (V h would be constant).
    model = class_model(spatial=True)
    backbone = model.backbone
    s = backbone.conditioning(model.encode_conditional(np.array([1])))
    term = keras.ops.convert_to_numpy(
        backbone.blocks[1].condition_v(s)
    ).reshape(-1, 8)
    assert s.shape == (1, 5, 5, 4)
    assert np.ptp(term, axis=0).min() > 1e-4


def test_spatial_conditioning_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `spatial_conditioning`\. It maps "
        r"the conditioning vectors to maps, so it needs conditional_dims\.",
    ):
        models.GatedPixelCNN((4, 4, 1), spatial_conditioning=True)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `image_size`\. Expected \(height, "
        r"width\), positive ints\. Received: image_size=\(4, 0\)",
    ):
        layers.SpatialConditioning((4, 0))
    with pytest.raises(ValueError, match=r"num_upsamplings=-1"):
        layers.SpatialConditioning((4, 4), num_upsamplings=-1)
