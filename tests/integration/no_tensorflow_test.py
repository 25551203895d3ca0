import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent(
    """
    import sys

    class BlockTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ImportError(f"blocked import of {name}")

    sys.meta_path.insert(0, BlockTensorFlow())

    import numpy as np
    import kerpix
    import kerpix.layers, kerpix.heads, kerpix.models, kerpix.sampling
    import kerpix.metrics, kerpix.losses, kerpix.ops

    model = kerpix.models.PixelCNN((4, 4, 3), num_levels=4, filters=6,
                                   num_layers=1)
    images = np.random.default_rng(0).integers(0, 4, (8, 4, 4, 3))
    model.compile()
    model.fit(images, epochs=1, verbose=0)
    assert model.log_prob(images).shape == (8,)
    assert model.sample(2, seed=0, verbose=0).shape == (2, 4, 4, 3)
    assert not any(m.startswith("tensorflow") for m in sys.modules)
    print("core ran without tensorflow")
    """
)


def test_core_imports_and_runs_without_tensorflow():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "core ran without tensorflow" in result.stdout
