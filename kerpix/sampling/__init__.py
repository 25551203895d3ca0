"""Samplers: uniform noise in, integer images out, in raster order."""

from kerpix.sampling.raster_sampler import RasterSampler
from kerpix.sampling.sampler import Sampler
