"""Data: uint8 image datasets (may import TensorFlow)."""

from kerpix.data.datasets import IN_MEMORY
from kerpix.data.datasets import image_shape_of
from kerpix.data.datasets import load
from kerpix.data.datasets import load_numpy
from kerpix.data.datasets import num_levels_of
from kerpix.data.datasets import to_numpy
from kerpix.data.dead_leaves import dead_leaves
from kerpix.data.levels import to_levels
from kerpix.data.natural_patches import brick_patches
from kerpix.data.natural_patches import natural_patches
from kerpix.data.rgb_patches import rgb_patches
