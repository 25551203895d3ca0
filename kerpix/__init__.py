"""kerpix: autoregressive image density models for Keras 3."""

from kerpix import heads
from kerpix import layers
from kerpix import losses
from kerpix import metrics
from kerpix import models
from kerpix import ops
from kerpix import sampling
from kerpix.version import __version__
