import json
import os

import numpy as np
import pytest

from kerpix.cli.main import main

pytestmark = pytest.mark.tensorflow_only

TINY = [
    "training.epochs=1",
    "training.steps_per_epoch=2",
    "training.batch_size=4",
    "model.filters=4",
    "model.num_layers=1",
    "data.image_shape=[6,6,1]",
    "data.num_train=8",
    "data.num_validation=4",
    "data.num_test=4",
    "sampling.num_samples=2",
]


def read_json(path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("run"))
    args = [
        "train",
        "--config=dead_leaves_demo",
        f"--workdir={path}",
        "--verbose=0",
    ]
    for override in TINY:
        args += ["--override", override]
    assert main(args) == 0
    return path


def test_train_writes_the_run_record(workdir):
    for name in (
        "config.json",
        "args.txt",
        "versions.json",
        "metrics.json",
        "history.json",
        "model.keras",
    ):
        assert os.path.isfile(os.path.join(workdir, name)), name
    config = read_json(os.path.join(workdir, "config.json"))
    assert config["training"]["epochs"] == 1  # resolved with overrides
    assert config["training"]["jit_compile"] is False  # defaults included
    versions = read_json(os.path.join(workdir, "versions.json"))
    assert {"keras", "tensorflow", "kerpix"} <= set(versions)


def test_evaluate_prints_bits_per_dim(workdir, capsys):
    assert main(["evaluate", f"--workdir={workdir}", "--verbose=0"]) == 0
    out = capsys.readouterr().out
    assert "bits/dim (uniform baseline: 8.00 bits/dim)" in out
    metrics = read_json(os.path.join(workdir, "metrics.json"))
    assert metrics["test_bits_per_dim"] == pytest.approx(
        metrics["test_nats_per_image"] / (36 * np.log(2))
    )


def test_sample_writes_png(workdir):
    assert main(["sample", f"--workdir={workdir}", "--verbose=0"]) == 0
    assert os.path.isfile(os.path.join(workdir, "samples.png"))
    samples = np.load(os.path.join(workdir, "samples.npy"))
    assert samples.shape == (2, 6, 6, 1)


@pytest.mark.large
@pytest.mark.parametrize("fmt", ["saved_model", "onnx"])
def test_export_and_check(workdir, fmt, capsys):
    args = ["export", f"--workdir={workdir}", f"--format={fmt}", "--check"]
    assert main(args) == 0
    assert "matches Keras" in capsys.readouterr().out


def test_unknown_config_key_is_an_error(tmp_path, capsys):
    code = main(
        [
            "train",
            "--config=dead_leaves_demo",
            f"--workdir={tmp_path}",
            "--override",
            "training.epoch=1",
        ]
    )
    assert code == 2
    assert "Unknown config key `training.epoch`" in capsys.readouterr().err


def test_missing_and_corrupt_runs_are_errors(tmp_path, capsys):
    assert main(["evaluate", f"--workdir={tmp_path}"]) == 2
    assert "no config.json" in capsys.readouterr().err
    from kerpix.training.train import load_model

    (tmp_path / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(
        ValueError,
        match=r"Could not load the model file "
        r".*model\.keras'; it may be corrupt",
    ):
        load_model(str(tmp_path))


@pytest.mark.large
def test_class_conditional_mnist_run(tmp_path, shared_data_dir, monkeypatch):
    monkeypatch.setenv("KERPIX_CACHE_DIR", str(tmp_path / "cache"))
    workdir = str(tmp_path / "run")
    args = [
        "train",
        "--config=mnist_class_conditional_gated_pixel_cnn",
        f"--workdir={workdir}",
        "--verbose=0",
    ]
    for override in [
        f"data.data_dir={shared_data_dir}",
        "data.train_split=train[:64]",
        "data.validation_split=train[64:96]",
        "data.test_split=test[:32]",
        "training.epochs=1",
        "training.batch_size=16",
        "model.filters=4",
        "model.num_layers=2",
        "sampling.num_samples=10",
    ]:
        args += ["--override", override]
    assert main(args) == 0
    assert main(["evaluate", f"--workdir={workdir}", "--verbose=0"]) == 0
    assert main(["sample", f"--workdir={workdir}", "--verbose=0"]) == 0
    samples = np.load(os.path.join(workdir, "samples.npy"))
    assert samples.shape == (10, 28, 28, 1)
    assert (
        main(
            [
                "export",
                f"--workdir={workdir}",
                "--format=onnx",
                "--check",
                "--verbose=0",
            ]
        )
        == 0
    )


def test_presets_lists_and_prints(capsys):
    assert main(["presets"]) == 0
    listing = capsys.readouterr().out
    assert "cifar10_gated_pixel_cnn: Gated PixelCNN at the size" in listing
    assert "dead_leaves_demo: " in listing
    assert main(["presets", "imagenet32_gated_pixel_cnn"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["data"]["name"] == "pixelrnn_imagenet32"
    assert "3.83 bits/dim" in config["description"]
    assert main(["presets", "nope"]) == 2
    assert "one of the presets" in capsys.readouterr().err


@pytest.fixture(scope="module")
def preset(workdir, tmp_path_factory):
    """The tiny run's model as a preset folder, as train_preset.py writes
    one (dataset, test split and data arguments in its metadata)."""
    from kerpix.training.train import load_model

    path = str(tmp_path_factory.mktemp("presets") / "tiny_dead_leaves")
    load_model(workdir).save_to_preset(
        path,
        description="tiny",
        family="pixel_cnn",
        family_kwargs={"filters": 4, "num_layers": 1},
        dataset="dead_leaves",
        test={"split": "test", "num_images": 4},
        data_kwargs={"image_shape": [6, 6, 1], "num_grey_levels": 16},
    )
    return path


def test_sample_and_evaluate_a_preset(preset, tmp_path, capsys):
    output = str(tmp_path / "grid.png")
    args = ["sample", f"--preset={preset}", f"--output={output}"]
    assert main(args + ["--num-samples=3", "--verbose=0"]) == 0
    assert np.load(str(tmp_path / "grid.npy")).shape == (3, 6, 6, 1)
    assert os.path.isfile(output)
    capsys.readouterr()
    assert main(["evaluate", f"--preset={preset}", "--verbose=0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("test NLL: ") and "bits/dim" in out
    from kerpix import data
    from kerpix.models import DensityModel
    from kerpix.models.presets import score_images

    images = data.to_numpy(
        data.load(
            "dead_leaves",
            "test",
            image_shape=(6, 6, 1),
            num_images=4,
            num_grey_levels=16,
        )
    )
    nats = score_images(DensityModel.from_preset(preset), images)
    assert f"test NLL: {nats:.2f} nats/image" in out


def test_zero_samples_is_an_error(preset, workdir, capsys):
    for source in (f"--workdir={workdir}", f"--preset={preset}"):
        assert main(["sample", source, "--num-samples=0"]) == 2
        err = capsys.readouterr().err
        assert "Expected a positive integer. Received: num_samples=0" in err


def test_preset_flags_are_checked(preset, workdir, capsys):
    assert main(["sample", f"--workdir={workdir}", "--output=x.png"]) == 2
    assert "`--output`: it goes with --preset" in capsys.readouterr().err
    assert main(["sample", "--preset=no_such_preset"]) == 2
    assert "Received: preset='no_such_preset'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sample", f"--preset={preset}", f"--workdir={workdir}"])


@pytest.mark.large
def test_export_a_preset_and_check(preset, tmp_path, capsys):
    output = str(tmp_path / "onnx")
    args = ["export", f"--preset={preset}", "--format=onnx"]
    assert main(args + [f"--output={output}", "--check"]) == 0
    assert "matches Keras" in capsys.readouterr().out
    assert os.path.isfile(os.path.join(output, "sample.onnx"))


@pytest.mark.parametrize(
    "args, code", [(["--help"], 0), (["train", "--bogus"], 2)]
)
def test_help_and_flag_errors_answer_before_keras_loads(args, code):
    """`kerpix --help` and argparse errors import neither Keras nor
    TensorFlow (which take seconds): `-X importtime` lists every module
    the command imported."""
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(sys.executable), "kerpix")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", script] + args,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == code, result.stderr[-2000:]
    assert "usage: kerpix" in result.stdout + result.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "argparse" in imported  # the listing is there
    assert not imported & {"keras", "tensorflow", "jax"}, sorted(imported)
