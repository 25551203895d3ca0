import json

import pytest

from kerpix.training import TrainConfig
from kerpix.training.config import list_presets


def test_presets_load_and_resolve_defaults():
    assert "dead_leaves_demo" in list_presets()
    config = TrainConfig.from_file("dead_leaves_demo")
    assert config.model.family == "pixel_cnn"
    assert config.training.jit_compile is False  # a default, resolved
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_overrides_parse_json_values():
    config = TrainConfig.from_file("dead_leaves_demo").override(
        [
            "training.epochs=2",
            "model.filters=8",
            "data.image_shape=[8,8,1]",
            "training.learning_rate=1e-3",
        ]
    )
    assert config.training.epochs == 2
    assert config.model.kwargs["filters"] == 8
    assert config.data.image_shape == [8, 8, 1]
    assert config.training.learning_rate == 0.001


@pytest.mark.parametrize(
    "content, message",
    [
        (
            {"trainig": {}},
            r"Unknown config key `trainig`\. Known sections: \['model', "
            r"'data', 'training', 'sampling', 'description'\]\.",
        ),
        (
            {"training": {"epoch": 3}},
            r"Unknown config key `training\.epoch`\. Known keys of "
            r"`training`: \['epochs', ",
        ),
    ],
)
def test_unknown_keys_are_errors(tmp_path, content, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_file(str(path))


def test_unknown_override_and_preset():
    with pytest.raises(
        ValueError,
        match=r"Unknown config key `training\.epoch` in override "
        r"'training\.epoch=3'\.",
    ):
        TrainConfig().override(["training.epoch=3"])
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `config`\. Expected a JSON file "
        r"or one of the presets \[.*'dead_leaves_demo'.*\]\. Received: "
        r"config='nope'",
    ):
        TrainConfig.from_file("nope")


def test_unknown_model_argument_names_the_key():
    from kerpix.models import build_model

    with pytest.raises(
        ValueError,
        match=r"Unknown config key `model\.filter` for family 'pixel_cnn'\. "
        r"Known keys: \[",
    ):
        build_model("pixel_cnn", (8, 8, 1), 256, filter=3)


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "training.epochs=one",
            r"`training\.epochs`: expected an integer\. "
            r"Received: 'one'",
        ),
        ("training.epochs=true", r"`training\.epochs`: expected an integer"),
        (
            "training.learning_rate=fast",
            r"`training\.learning_rate`: "
            r"expected a number",
        ),
        (
            "training.deterministic=1",
            r"`training\.deterministic`: expected "
            r"true or false",
        ),
        ("data.image_shape=16", r"`data\.image_shape`: expected a list"),
    ],
)
def test_override_values_of_the_wrong_type_are_errors(override, message):
    config = TrainConfig.from_file("dead_leaves_demo")
    with pytest.raises(ValueError, match=message):
        config.override([override])
    assert config.override(["training.learning_rate=1"]).training.learning_rate


def test_a_bad_override_leaves_no_run_behind(tmp_path, capsys):
    """The config is checked before the workdir is touched, so the
    corrected command just runs (no 'interrupted run' to --restart)."""
    from kerpix.cli.main import main

    workdir = tmp_path / "run"
    args = ["train", "--config=dead_leaves_demo", f"--workdir={workdir}"]
    assert main(args + ["--override", "training.epochs=one"]) == 2
    assert "`training.epochs`: expected an integer" in capsys.readouterr().err
    assert not workdir.exists()
