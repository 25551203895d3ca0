"""Causal building blocks, one per file; `keras` and `keras.ops` only."""

from kerpix.layers.cached_layer import BLOCKS
from kerpix.layers.cached_layer import CachedLayer
from kerpix.layers.cached_layer import get_block
from kerpix.layers.cached_layer import register_block
from kerpix.layers.causal_neighborhood import CausalNeighborhood
from kerpix.layers.diagonal_bilstm import DiagonalBiLSTM
from kerpix.layers.gated_pixel_cnn_block import GatedPixelCNNBlock
from kerpix.layers.image_upsampling import ImageUpsampling
from kerpix.layers.masked_conv2d import MaskedConv2D
from kerpix.layers.residual_block import ResidualBlock
from kerpix.layers.row_lstm import RowLSTM
from kerpix.layers.spatial_conditioning import SpatialConditioning
from kerpix.layers.spatial_lstm import SpatialLSTM
from kerpix.layers.whitening_preconditioner import WhiteningPreconditioner
