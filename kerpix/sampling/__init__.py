"""Samplers: uniform noise in, integer images out, in raster order."""

from kerpix.sampling import agreement
from kerpix.sampling.cached_sampler import CachedSampler
from kerpix.sampling.get_sampler import get_sampler
from kerpix.sampling.raster_sampler import RasterSampler
from kerpix.sampling.row_program import RowProgram
from kerpix.sampling.sampler import Sampler
