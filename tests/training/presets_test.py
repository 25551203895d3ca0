"""Every built-in preset loads and describes itself; each paper-size
preset builds at full size, and trains for one step on tiny files in its
dataset's official format at the preset's kernels, head, data and
optimizer but 1/8 of its width and `SMOKE_LAYERS` of its layers (CPU smoke
tests: at full width one step of the 184M-parameter Gated PixelCNN took 4
minutes and 21.5 GiB here; the real runs need the real files and GPUs).
Each layer of a family runs the same code, and building the graph of the
full depth cost most of a step: 12 unrolled Diagonal BiLSTM layers took
456 s of a CI run (2 layers: 57 s), the 30-layer PixelCNN++ 96 s. The full
depth is built by `test_paper_preset_builds_at_full_size`."""

import numpy as np
import pytest

from kerpix.testing.dataset_files import write_cifar10
from kerpix.testing.dataset_files import write_png_version
from kerpix.training import TrainConfig
from kerpix.training import train
from kerpix.training.config import describe_presets
from kerpix.training.config import list_presets

pytestmark = pytest.mark.tensorflow_only

PAPER_PRESETS = (
    "cifar10_pixel_cnn",
    "cifar10_row_lstm",
    "cifar10_diagonal_bilstm",
    "cifar10_gated_pixel_cnn",
    "cifar10_pixel_cnn_pp",
    "imagenet32_gated_pixel_cnn",
    "imagenet32_row_lstm",
)


def test_every_preset_describes_itself():
    summaries = describe_presets()
    assert sorted(summaries) == list_presets()
    assert set(PAPER_PRESETS) <= set(summaries)
    for name, summary in summaries.items():
        assert summary, f"preset {name!r} has no description"
    for name in PAPER_PRESETS:
        # Paper presets cite the paper's number and the hardware it took.
        description = TrainConfig.from_file(name).description
        assert "bits/dim" in description and "GPU" in description, name


def test_description_must_be_a_string():
    with pytest.raises(ValueError, match="`description`: expected a string"):
        TrainConfig.from_dict({"description": 3})


# The widths a smoke test divides by 8 (rounded to multiples of 3).
WIDTHS = ("filters", "units", "output_filters")
# The depth of the one-step smoke test.
SMOKE_LAYERS = 2


@pytest.mark.large
@pytest.mark.parametrize("preset", PAPER_PRESETS)
def test_paper_preset_builds_at_full_size(preset):
    from kerpix.training.train import make_model

    config = TrainConfig.from_file(preset)
    model = make_model(config)
    assert model.image_shape == (32, 32, 3)
    assert model.count_params() > 1_000_000  # paper size, not a toy
    del model


@pytest.mark.large
@pytest.mark.parametrize("preset", PAPER_PRESETS)
def test_paper_preset_trains_one_step(preset, tmp_path, monkeypatch):
    monkeypatch.setenv("KERPIX_CACHE_DIR", str(tmp_path / "cache"))
    files = tmp_path / "files"
    files.mkdir()
    write_cifar10(str(files))
    write_png_version(str(files), 32, tarred=True, count=4)
    config = TrainConfig.from_file(preset)
    assert config.data.name in ("cifar10", "pixelrnn_imagenet32")
    narrow = [
        f"model.{key}={max(3, value // 8 // 3 * 3)}"
        for key, value in config.model.kwargs.items()
        if key in WIDTHS
    ]
    assert narrow, preset
    assert config.model.kwargs["num_layers"] > SMOKE_LAYERS, preset
    narrow.append(f"model.num_layers={SMOKE_LAYERS}")
    config = config.override(
        narrow
        + [
            f"data.data_dir={files}",
            "data.train_split=train[:2]",
            "data.validation_split=train[2:4]",
            "training.epochs=1",
            "training.steps_per_epoch=1",
            "training.batch_size=2",
            "training.tensorboard=false",
            "training.early_stopping_patience=null",
        ]
    )
    model = train(config, str(tmp_path / "run"), verbose=0)
    assert model.image_shape == (32, 32, 3)
    images = np.zeros((1, 32, 32, 3), "int32")
    assert np.isfinite(model.log_prob(images)).all()
