"""`benchmarks/device_check.py` (the GPU recipe) runs whole on the JAX
backend at its tiny size on the CPU, without TensorFlow."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("jax")
pytestmark = pytest.mark.large

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
# Runs the script with TensorFlow's import blocked, as on a machine that
# has JAX and no TensorFlow.
RUN = """
import runpy, sys
class BlockTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"blocked import of {name}")
sys.meta_path.insert(0, BlockTensorFlow())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.timeout(900)
def test_device_check_runs_tiny_on_jax_without_tensorflow(tmp_path):
    output = tmp_path / "device_check.json"
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN,
            os.path.join(ROOT, "benchmarks", "device_check.py"),
            "--tiny",
            f"--output={output}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["backend"] == "jax"
    assert report["steps"] == 3 and report["num_samples"] == 2
    assert report["train_images_per_s"] > 0
    assert report["samples_in_range"]
    assert report["final_loss_nats_per_image"] > 0
