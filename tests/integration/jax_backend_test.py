import os
import re
import subprocess
import sys

import keras
import pytest

pytest.importorskip("jax")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
# Every layer, head and op test: causality gradients, NumPy references,
# normalisation by enumeration, serialization.
CORE_TESTS = ["tests/ops", "tests/layers", "tests/heads"]
# Of the model and sampler tests, those that guard what the product
# promises: the shared battery over the registry of tiny models
# (tests/models/tiny_models_test.py: causality with the exact receptive
# field, normalisation, cached == naive sampling and the config round
# trip of every registered family and variant), each family's class
# through its config and `.keras` file (family_classes_test), the
# samplers' same-noise grid at 256 levels, and what only a family file
# checks (a RIDE pixel's density reads its own value and the causal
# field only; the likelihood is the sum of the conditionals). The
# PixelRNN models' tests but their class round trip run on TensorFlow
# only: on JAX's CPU backend every fresh gradient or step function of a
# model that unrolls a cell per row compiles that graph again (the whole
# core suite took over 20 minutes and 6 GB).
MODEL_TESTS = ["tests/models", "tests/sampling"]
MODEL_KEYWORDS = (
    "family_is_its_own_class or (tiny_models_test and not pixel_rnn) or "
    "((same_noise and grey256) or causal_field_only or log_prob_is_sum "
    "or state_and_single_step) and not pixel_rnn and not tiny_models_test"
)


def run_pytest(paths, keywords=None):
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    # -rA lists every test that passed by name (xdist prints no
    # "deselected" count).
    command = [sys.executable, "-m", "pytest", "-q", "-rA"]
    command += ["-p", "no:cacheprovider"]
    # Both cores, a file per worker (as `make test`).
    command += ["-n", "2", "--dist", "loadfile"]
    command += paths + (["-k", keywords] if keywords else [])
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    tail = result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), tail
    assert not re.search(r"\d+ (failed|error)", summary), tail
    return result.stdout


@pytest.mark.large
# Two subprocesses: 10 minutes on one core here (the whole core suite took
# ~17-20), fewer on both.
@pytest.mark.timeout(3000)
@pytest.mark.skipif(
    keras.backend.backend() == "jax", reason="already on the JAX backend"
)
def test_core_suite_passes_on_jax():
    # The layer, head and op tests whole, and the model and sampler tests
    # that guard causality, normalisation, cached == naive sampling and
    # serialization once per family, on the JAX backend in fresh
    # processes. The default suite keeps no_tensorflow_test.py: the core
    # imports and trains on JAX.
    run_pytest(CORE_TESTS)
    out = run_pytest(MODEL_TESTS, MODEL_KEYWORDS)
    # Each family's class round trip and the subset's guards ran on JAX.
    passed = [line for line in out.splitlines() if line.startswith("PASSED")]
    for name in (
        "family_is_its_own_class",
        "tiny_models_test.py::test_harness[pixel_cnn-check_causal]",
        "tiny_models_test.py::test_harness[pixel_cnn-check_normalized]",
        "tiny_models_test.py::test_harness[pixel_cnn-check_cached_equals",
    ):
        assert any(name in line for line in passed), (name, out[-3000:])
