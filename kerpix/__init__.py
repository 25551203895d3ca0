"""kerpix: autoregressive image density models for Keras 3."""

import importlib
import os
import sys

from kerpix.version import __version__

# Imported with the package: every public Keras object registers itself
# (`keras.models.load_model` of a kerpix `.keras` file needs that).
_EAGER = (
    "data",
    "heads",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "sampling",
    "schedules",
)
# These import TensorFlow: loaded on first use, so the core stays TF-free.
_LAZY = ("export", "training")


def import_submodules():
    """Import (and so register with Keras) every eager submodule."""
    for name in _EAGER:
        importlib.import_module(f"kerpix.{name}")


def __getattr__(name):
    if name in _EAGER or name in _LAZY:
        return importlib.import_module(f"kerpix.{name}")
    raise AttributeError(f"module 'kerpix' has no attribute {name!r}")


# The `kerpix` command answers `--help` and flag errors before Keras and
# TensorFlow load (seconds); `kerpix.cli.main` imports the submodules once
# the arguments parse. Everywhere else, `import kerpix` loads them now.
if os.path.basename(sys.argv[0] if sys.argv else "") != "kerpix":
    import_submodules()
