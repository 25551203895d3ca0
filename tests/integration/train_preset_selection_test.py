"""How `benchmarks/train_preset.py` picks the paper-schedule preset it
ships among its candidates (every variant and seed): by the lowest
validation bound only, counting what the shipped preset's selection
records, never a candidate of another schedule."""

import json
import os
import shutil
import sys

import numpy as np
import pytest

from kerpix import models
from kerpix.models import presets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import train_preset  # noqa: E402

NAME = "fake_ride"
RECIPE = {
    "paper_schedule": {
        "dataset": "natural_patches",
        "budget_minutes": None,
        "variants": [
            {"model": "ride", "max_steps": [3], "seeds": [0, 1]},
            {
                "model": "ride_2_layers",
                "max_steps": [2],
                "seeds": [0],
                "description": "two layers",
            },
        ],
    },
    "description": "one layer",
}


@pytest.fixture
def script(tmp_path, monkeypatch):
    """train_preset with its runs and results under `tmp_path`, and a
    trainer that writes a tiny candidate with the figures of `FIGURES`."""
    monkeypatch.setattr(train_preset, "RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(train_preset, "HERE", str(tmp_path / "benchmarks"))
    os.makedirs(tmp_path / "benchmarks" / "results")
    monkeypatch.setattr(
        train_preset, "sample_grid", lambda name, model: "samples.png"
    )
    monkeypatch.setitem(train_preset.RECIPES, NAME, RECIPE)
    trained = []

    def train(name, recipe, spec, description, seed, budget_minutes=None):
        trained.append((spec["model"], seed))
        validation, test = FIGURES[spec["model"], seed]
        write_candidate(
            train_preset.candidate_dir(name, spec, seed),
            spec,
            seed,
            validation,
            test,
            description,
        )

    monkeypatch.setattr(train_preset, "train_paper_candidate", train)
    return trained


# (model, seed) -> (validation, test) bits/px of the fake trainings.
FIGURES = {
    ("ride", 0): (3.65, 3.70),
    ("ride", 1): (3.64, 3.90),
    ("ride_2_layers", 0): (3.66, 3.60),
}


def write_candidate(directory, spec, seed, validation, test, description):
    model = models.PixelCNN((4, 4, 1), num_levels=4, filters=4, num_layers=1)
    model.save_to_preset(
        directory,
        description=description,
        family="pixel_cnn",
        family_kwargs={"filters": 4, "num_layers": 1},
        seed=seed,
        schedule=spec,
        validation_bits_per_dim=validation,
        test_bits_per_dim=test,
        test_nats_per_image=test,
        training_seconds=1.0,
        cpu_seconds=2.0,
    )
    with open(os.path.join(directory, train_preset.RESULT), "w") as f:
        json.dump({"result": {"seed": seed}, "started": "t", "commit": "c"}, f)


def run(tmp_path, **kwargs):
    preset = str(tmp_path / "preset")
    train_preset.train_and_package_paper(NAME, RECIPE, preset, **kwargs)
    return preset


def test_the_lowest_validation_bound_of_all_variants_ships(script, tmp_path):
    preset = run(tmp_path)
    assert sorted(script) == [("ride", 0), ("ride", 1), ("ride_2_layers", 0)]
    metadata = presets.read_metadata(preset)
    # Seed 1 has the worst test bound: the test split plays no part.
    assert (metadata["schedule"]["model"], metadata["seed"]) == ("ride", 1)
    assert metadata["description"] == "one layer"
    selection = metadata["selection"]
    assert (selection["model"], selection["seed"]) == ("ride", 1)
    assert [(c["model"], c["seed"]) for c in selection["candidates"]] == [
        ("ride", 0),
        ("ride", 1),
        ("ride_2_layers", 0),
    ]
    assert selection["cpu_seconds"] == 6.0
    result = os.path.join(
        str(tmp_path), "benchmarks", "results", f"preset-{NAME}.json"
    )
    with open(result) as f:
        assert json.load(f)["selection"] == selection
    # The shipped weights are the candidate's.
    candidate = train_preset.candidate_dir(
        NAME, train_preset.variants(RECIPE)[0][0], 1
    )
    images = np.random.default_rng(0).integers(0, 4, (2, 4, 4, 1))
    np.testing.assert_array_equal(
        models.DensityModel.from_preset(preset).log_prob(images),
        models.DensityModel.from_preset(candidate).log_prob(images),
    )


def test_seed_and_model_train_one_candidate_without_packaging(script, tmp_path):
    preset = run(tmp_path, seed=0, model="ride_2_layers")
    assert script == [("ride_2_layers", 0)]
    assert not os.path.exists(preset)
    run(tmp_path, seed=0)
    assert script == [("ride_2_layers", 0), ("ride", 0)]
    run(tmp_path)  # only the missing one is trained, then it ships
    assert script[2:] == [("ride", 1)]


def test_a_candidate_of_another_schedule_is_trained_again(script, tmp_path):
    run(tmp_path, budget_minutes=5)
    assert len(script) == 3
    with pytest.raises(
        ValueError,
        match="candidate ride seed 0 is not trained; run `python "
        f"benchmarks/train_preset.py {NAME} --model ride --seed 0`",
    ):
        train_preset.package_paper(NAME, RECIPE, str(tmp_path / "preset"))
    run(tmp_path)
    assert len(script) == 6


def test_a_fresh_clone_counts_the_shipped_selection(script, tmp_path):
    """With the runs folder gone (a fresh clone), the shipped candidate is
    written back with its weights, the others it lists count by their
    figures, and only a new variant's candidates are trained."""
    preset = run(tmp_path)
    shipped = presets.read_metadata(preset)
    recipe = json.loads(json.dumps(RECIPE))
    recipe["paper_schedule"]["variants"][1]["seeds"] = [0, 1]
    FIGURES["ride_2_layers", 1] = (3.60, 3.80)
    try:
        shutil.rmtree(train_preset.RUNS)
        del script[:]
        train_preset.train_and_package_paper(NAME, recipe, preset)
        assert script == [("ride_2_layers", 1)]
        metadata = presets.read_metadata(preset)
        assert (metadata["schedule"]["model"], metadata["seed"]) == (
            "ride_2_layers",
            1,
        )
        assert metadata["description"] == "two layers"
        assert len(metadata["selection"]["candidates"]) == 4
        written_back = train_preset.candidate_dir(NAME, shipped["schedule"], 1)
        assert "selection" not in presets.read_metadata(written_back)
        # A best candidate known only by its figures cannot ship.
        shutil.rmtree(train_preset.RUNS)
        FIGURES["ride_2_layers", 2] = (3.70, 3.70)
        recipe["paper_schedule"]["variants"][1]["seeds"] = [0, 1, 2]
        os.remove(os.path.join(preset, "metadata.json"))
        with open(os.path.join(preset, "metadata.json"), "w") as f:
            json.dump(dict(metadata, seed=9), f)
        with pytest.raises(
            ValueError,
            match="known only by its figures; train it again with "
            f"`python benchmarks/train_preset.py {NAME} --model "
            "ride_2_layers --seed 1`",
        ):
            train_preset.train_and_package_paper(NAME, recipe, preset)
        # The command the error gives trains it; then it ships.
        del script[:]
        train_preset.train_and_package_paper(
            NAME, recipe, preset, seed=1, model="ride_2_layers"
        )
        assert script == [("ride_2_layers", 1)]
        train_preset.train_and_package_paper(NAME, recipe, preset)
        assert script == [("ride_2_layers", 1)]
        metadata = presets.read_metadata(preset)
        assert (metadata["schedule"]["model"], metadata["seed"]) == (
            "ride_2_layers",
            1,
        )
    finally:
        FIGURES.pop(("ride_2_layers", 1))
        FIGURES.pop(("ride_2_layers", 2), None)
