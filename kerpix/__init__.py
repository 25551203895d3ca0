"""kerpix: autoregressive image density models for Keras 3."""

import importlib

from kerpix import data
from kerpix import heads
from kerpix import layers
from kerpix import losses
from kerpix import metrics
from kerpix import models
from kerpix import ops
from kerpix import sampling
from kerpix.version import __version__

# These import TensorFlow: loaded on first use, so the core stays TF-free.
_LAZY = ("export", "training")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"kerpix.{name}")
    raise AttributeError(f"module 'kerpix' has no attribute {name!r}")
