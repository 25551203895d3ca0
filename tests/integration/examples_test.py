"""The example scripts run end to end (tiny budgets; the README's figures
come from the full commands in their docstrings)."""

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.tensorflow_only, pytest.mark.large]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def run_example(name, shared_data_dir, tmp_path, *args):
    output = tmp_path / f"{name}.png"
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "examples", f"{name}.py"),
            "--minutes=0.01",
            "--num-train=128",
            "--num-test=20",
            f"--data-dir={shared_data_dir}",
            f"--output={output}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert output.read_bytes().startswith(b"\x89PNG")
    return result.stdout


def test_class_conditional_mnist(shared_data_dir, tmp_path):
    out = run_example(
        "class_conditional_mnist",
        shared_data_dir,
        tmp_path,
        "--samples-per-class=1",
        "--num-validation=20",
    )
    assert "test NLL given the label:" in out
    assert "true label for" in out


def test_auto_encoder_mnist(shared_data_dir, tmp_path):
    out = run_example(
        "auto_encoder_mnist",
        shared_data_dir,
        tmp_path,
        "--columns=3",
        "--rows=1",
        "--num-validation=20",
    )
    assert "test reconstruction NLL -log p(x | enc(x)):" in out


@pytest.mark.parametrize("lstm", ["row_lstm", "diagonal_bilstm"])
def test_pixel_rnn_completion(shared_data_dir, tmp_path, lstm):
    out = run_example(
        "pixel_rnn_completion",
        shared_data_dir,
        tmp_path,
        f"--lstm={lstm}",
        "--columns=2",
        "--completions=1",
        "--num-validation=20",
        # Each layer runs the same code; building the graphs of 7 unrolled
        # layers took most of 188 s (Diagonal BiLSTM) of a CI run.
        "--num-layers=2",
    )
    assert f"{lstm} test NLL:" in out


@pytest.mark.parametrize("texture", ["dead_leaves", "brick"])
def test_ride_textures(shared_data_dir, tmp_path, texture):
    if texture != "dead_leaves":
        pytest.importorskip("skimage")
    out = run_example(
        "ride_textures",
        shared_data_dir,
        tmp_path,
        "--size=20",
        f"--texture={texture}",
        "--sweeps=1",
    )
    assert "bits/px (dequantized bound" in out
    assert "MCMC: filled crops <=" in out


def test_masked_1x1_block_is_one_file(tmp_path):
    """The layer-protocol example: a new cached layer defined and
    registered in its own file passes the battery and exports."""
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "examples", "masked_1x1_block.py"),
            f"--export={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for check in (
        "check_causal: passed",
        "check_normalized: passed",
        "check_cached_equals_naive: passed",
        "check_config_round_trip: passed",
        "SavedModel and ONNX under",
    ):
        assert check in result.stdout, result.stdout
