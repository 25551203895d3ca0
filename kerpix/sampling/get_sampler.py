from kerpix.sampling.cached_sampler import CachedSampler
from kerpix.sampling.raster_sampler import RasterSampler

SAMPLERS = {"cached": CachedSampler, "naive": RasterSampler}


def get_sampler(method, temperature=1.0, seed=None):
    """A sampler by name: `"cached"` (fast) or `"naive"` (reference)."""
    if method not in SAMPLERS:
        raise ValueError(
            "Invalid value for argument `method`. Expected one of "
            f"{sorted(SAMPLERS)}. Received: method={method!r}"
        )
    return SAMPLERS[method](temperature=temperature, seed=seed)
