import os
import subprocess
import sys

import keras
import pytest

pytest.importorskip("jax")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CORE_TESTS = [
    "tests/ops",
    "tests/layers",
    "tests/heads",
    "tests/models",
    "tests/sampling",
]


@pytest.mark.skipif(
    keras.backend.backend() == "jax", reason="already on the JAX backend"
)
def test_core_suite_passes_on_jax():
    # The same layer, head and model tests (causality gradients included)
    # on the JAX backend, in a fresh process.
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *CORE_TESTS,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    tail = result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and "failed" not in result.stdout, tail
