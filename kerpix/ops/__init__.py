"""Pure, backend-agnostic helpers for causal models (no weights)."""

from kerpix.ops.causal_masks import causal_mask
from kerpix.ops.causal_masks import channel_groups
from kerpix.ops.pixels import read_pixel
from kerpix.ops.pixels import update_pixel
from kerpix.ops.pixels import update_row
from kerpix.ops.shifts import down_shift
from kerpix.ops.special import erfinv
from kerpix.ops.special import normal_quantile
