import json
import os

import numpy as np
import pytest

from kerpix import models
from kerpix import sampling
from kerpix.models import presets

KWARGS = {"filters": 4, "num_layers": 1}


def tiny(tmp_path, name="tiny"):
    model = models.PixelCNN((4, 4, 1), num_levels=4, **KWARGS)
    path = model.save_to_preset(
        str(tmp_path / name),
        description="a tiny PixelCNN",
        family="pixel_cnn",
        family_kwargs=KWARGS,
    )
    return model, path


def images():
    return np.random.default_rng(0).integers(0, 4, (3, 4, 4, 1))


def test_round_trip_and_family_checks(tmp_path):
    model, path = tiny(tmp_path)
    assert sorted(os.listdir(path)) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    metadata = presets.read_metadata(path)
    assert metadata["image_shape"] == [4, 4, 1]
    assert metadata["num_levels"] == 4
    assert metadata["parameters"] == model.count_params()
    expected = model.log_prob(images())
    for loader in (
        models.DensityModel.from_preset,
        models.PixelCNN.from_preset,
    ):
        again = loader(path)
        np.testing.assert_array_equal(again.log_prob(images()), expected)
    untrained = models.DensityModel.from_preset(path, load_weights=False)
    assert untrained.count_params() == model.count_params()
    with pytest.raises(
        ValueError,
        match=r"is a 'pixel_cnn' preset, not a 'gated_pixel_cnn' one",
    ):
        models.GatedPixelCNN.from_preset(path)
    with pytest.raises(ValueError, match="not a 'ride' one"):
        models.RIDE.from_preset(path)


def test_weights_load_into_the_family_built_from_its_arguments(tmp_path):
    """What a preset's weights depend on is the family and its constructor
    arguments (metadata.json), not the class that config.json names: a
    model built by `build_model(family, ...)` (the families' constructors,
    whatever classes they become) takes the weights unchanged."""
    model, path = tiny(tmp_path)
    metadata = presets.read_metadata(path)
    built = models.build_model(
        metadata["family"],
        metadata["image_shape"],
        metadata["num_levels"],
        **metadata["family_kwargs"],
    )
    presets.load_preset_weights(built, path)
    np.testing.assert_array_equal(
        built.log_prob(images()), model.log_prob(images())
    )


def test_unknown_names_list_the_presets(tmp_path, monkeypatch):
    tiny(tmp_path, "one")
    monkeypatch.setenv("KERPIX_PRESETS_DIR", str(tmp_path))
    assert presets.list_presets() == {"one": "a tiny PixelCNN"}
    assert models.DensityModel.from_preset("one").image_shape == (4, 4, 1)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `preset`\. Expected one of "
        r"\['one'\] or a preset folder .*Received: preset='two'",
    ):
        models.DensityModel.from_preset("two")
    with pytest.raises(ValueError, match="preset of type int"):
        models.DensityModel.from_preset(3)


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no_weights", r"weights file '.*model\.weights\.h5' is missing"),
        (
            "truncated_weights",
            r"Invalid preset file '.*model\.weights\.h5': its weights cannot "
            r"be loaded",
        ),
        ("other_weights", r"model\.weights\.h5': its weights cannot"),
        ("broken_config", r"config\.json': not readable JSON"),
        ("list_config", r"config\.json': expected a JSON object"),
        ("foreign_config", r"config\.json': it does not describe a kerpix"),
        ("no_metadata", r"metadata\.json' is missing"),
    ],
)
def test_damaged_presets_are_value_errors_naming_the_file(
    tmp_path, damage, message
):
    _, path = tiny(tmp_path)
    weights = os.path.join(path, "model.weights.h5")
    config = os.path.join(path, "config.json")
    if damage == "no_weights":
        os.remove(weights)
    elif damage == "truncated_weights":
        with open(weights, "rb") as f:
            head = f.read(500)
        with open(weights, "wb") as f:
            f.write(head)
    elif damage == "other_weights":
        wider = models.PixelCNN((4, 4, 1), num_levels=4, filters=8)
        wider.save_weights(weights)
    elif damage == "broken_config":
        with open(config, "w") as f:
            f.write('{"class_name": ')
    elif damage == "list_config":
        with open(config, "w") as f:
            json.dump([1, 2], f)
    elif damage == "foreign_config":
        with open(config, "w") as f:
            json.dump({"class_name": "NoSuchModel", "config": {}}, f)
    else:
        os.remove(os.path.join(path, "metadata.json"))
    with pytest.raises(ValueError, match=message):
        models.DensityModel.from_preset(path)


# === The shipped presets ===

SHIPPED = sorted(models.list_presets())


def test_shipped_presets_are_small():
    root = presets.presets_dir()
    total = 0
    for name in SHIPPED:
        size = sum(
            os.path.getsize(os.path.join(folder, file))
            for folder, _, files in os.walk(os.path.join(root, name))
            for file in files
        )
        assert size <= presets.MAX_PRESET_BYTES, (name, size)
        total += size
    assert total <= presets.MAX_TOTAL_BYTES
    assert {"dead_leaves_pixel_cnn", "natural_patches_ride"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_preset_loads_and_samples_a_row(name):
    model = models.DensityModel.from_preset(name)
    metadata = presets.read_metadata(presets.resolve_preset(name))
    assert model.count_params() == metadata["parameters"]
    assert list(model.image_shape) == metadata["image_shape"]
    family = models.FAMILIES[metadata["family"]]
    assert family.from_preset(name).image_shape == model.image_shape
    # A plain graph: it builds in half the time of XLA's program for a
    # first row (make demo and the README sample presets with XLA).
    sampler = sampling.CachedSampler(seed=0, jit_compile=False)
    noise = sampler.make_noise(model, 2)
    labels = np.array([0, 1]) if model.num_classes else None
    rows = sampler.fill(
        model, noise, verbose=0, conditional_input=labels, num_rows=1
    )
    assert rows.shape == (2,) + model.image_shape
    assert rows.min() >= 0 and rows.max() < model.num_levels


@pytest.mark.large
@pytest.mark.tensorflow_only
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_preset_scores_its_recorded_nll(name):
    """Re-score each preset on the test slice its metadata names: the NLL
    it recorded when it was packaged (benchmarks/train_preset.py)."""
    from kerpix import data

    model = models.DensityModel.from_preset(name)
    metadata = presets.read_metadata(presets.resolve_preset(name))
    where = metadata["slice"]
    images, labels = data.load_numpy(
        metadata["dataset"],
        where["split"],
        with_labels=bool(model.num_classes),
        num_images=where["num_images"],
        **metadata["data_kwargs"],
    )
    nats = presets.score_images(model, images, labels)
    np.testing.assert_allclose(
        nats, metadata["slice_nats_per_image"], rtol=1e-4
    )


# The large suite: the default one runs complete/inpaint on tiny RIDEs
# (tests/models/ride_inpainting_test.py) and loads every preset.
@pytest.mark.large
@pytest.mark.parametrize(
    "name, dataset",
    [
        pytest.param(name, dataset, id=name)
        for name, dataset in [
            ("natural_patches_ride", "natural_patches"),
            ("brick_ride", "brick_patches"),
        ]
        if name in SHIPPED
    ],
)
def test_ride_preset_inpaints_a_hole_better_than_noise(name, dataset):
    """`RIDE.inpaint` / `complete` on a shipped RIDE: a 6×6 hole in two
    test patches (never seen in training) is filled in range, the known
    pixels are kept, and the filled patches are far more likely under the
    model than the same patches with the hole filled by uniform noise."""
    from kerpix import data

    model = models.RIDE.from_preset(name)
    patches = data.to_numpy(
        data.load(
            dataset,
            "test",
            image_shape=model.image_shape,
            num_images=2,
        )
    ).astype("int32")
    size = model.image_shape[0]
    mask = np.ones(model.image_shape[:2], bool)
    mask[size // 2 - 3 : size // 2 + 3, size // 2 - 3 : size // 2 + 3] = False
    noise = np.where(
        mask[None, ..., None],
        patches,
        np.random.default_rng(0).integers(0, 256, patches.shape),
    )
    completed = model.complete(patches, mask, seed=0, verbose=0)
    inpainted, log_probs, rates = model.inpaint(
        completed,
        mask,
        num_sweeps=1,
        block_size=3,
        seed=0,
        return_log_prob=True,
        verbose=0,
    )
    for filled in (completed, inpainted):
        assert filled.shape == patches.shape
        np.testing.assert_array_equal(filled[:, mask], patches[:, mask])
        assert filled.min() >= 0 and filled.max() < 256
    assert log_probs.shape == (2, 2) and rates.shape == (1,)
    fixed = np.full(patches.shape, 0.5, "float32")
    noisy = model.log_prob(noise, noise=fixed)
    assert np.all(model.log_prob(inpainted, noise=fixed) > noisy + 36)
