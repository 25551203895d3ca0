"""export/onnx_sample.py refuses damaged or edited artifacts in one line."""

import importlib.util
import json
import os
import re
import shutil

import numpy as np
import pytest

from kerpix import models

pytestmark = [pytest.mark.tensorflow_only, pytest.mark.large]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location(
        "onnx_sample", os.path.join(ROOT, "export", "onnx_sample.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from kerpix.export import export_onnx

    model = models.PixelCNN((3, 4, 1), num_levels=4, filters=4, num_layers=1)
    return export_onnx(model, str(tmp_path_factory.mktemp("onnx") / "pix"))


def edit_signature(folder, change):
    path = os.path.join(folder, "signature.json")
    with open(path) as f:
        signature = json.load(f)
    change(signature)
    with open(path, "w") as f:
        json.dump(signature, f)


def truncate(folder):
    path = os.path.join(folder, "sample.onnx")
    with open(path, "rb") as f:
        head = f.read(100)
    with open(path, "wb") as f:
        f.write(head)


def broken_json(folder):
    with open(os.path.join(folder, "signature.json"), "w") as f:
        f.write('{"image_shape": [3, 4')


def set_key(key, value):
    return lambda folder: edit_signature(
        folder, lambda s: s.__setitem__(key, value)
    )


def rename_output(folder):
    def change(signature):
        outputs = signature["endpoints"]["log_prob"]["outputs"]
        outputs.reverse()

    edit_signature(folder, change)


@pytest.mark.parametrize(
    "damage, message",
    [
        (truncate, r"sample\.onnx: cannot be loaded \("),
        (broken_json, r"signature\.json: not readable JSON"),
        (
            lambda f: os.remove(os.path.join(f, "signature.json")),
            r"signature\.json: missing",
        ),
        (
            lambda f: edit_signature(f, lambda s: s.pop("noise_dims")),
            r"signature\.json: lacks noise_dims",
        ),
        (
            set_key("image_shape", [5, 4, 1]),
            r"image_shape \[5, 4, 1\] disagrees with",
        ),
        (set_key("num_levels", 16), r"num_levels 16 disagrees with"),
        (
            rename_output,
            r"log_prob\.onnx's outputs are \['log_prob', "
            r"'bits_per_dim'\], signature\.json lists \['bits_per_dim'",
        ),
    ],
)
def test_damaged_artifacts_are_one_line_errors(
    script, exported, tmp_path, capsys, damage, message
):
    folder = str(tmp_path / "copy")
    shutil.copytree(exported, folder)
    damage(folder)
    assert script.main([folder, "--num-samples=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("onnx_sample.py: error: ") and err.count("\n") == 1
    assert re.search(message, err), err


def test_bad_arguments_are_errors(script, exported, tmp_path, capsys):
    assert script.main([exported, "--num-samples=0"]) == 2
    assert "--num-samples must be a positive integer, got 0" in (
        capsys.readouterr().err
    )
    noise = tmp_path / "noise.npy"
    np.save(noise, np.full((1, 12, 1), np.nan, "float32"))
    assert script.main([exported, f"--noise={noise}"]) == 2
    assert "uniform values in [0, 1)" in capsys.readouterr().err
    np.save(noise, np.zeros((1, 11, 1), "float32"))
    assert script.main([exported, f"--noise={noise}"]) == 2
    assert "expected shape (N, 12, 1), got (1, 11, 1)" in (
        capsys.readouterr().err
    )
    assert script.main([exported, "--num-samples=2"]) == 0
