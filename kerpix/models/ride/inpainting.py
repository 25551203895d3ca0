"""Inpainting with RIDE by Markov chain Monte Carlo over the missing
pixels, using the whole context (pixels below and to the right too), as
the RIDE reference code's `fillin.py` does.

The chain's state is the continuous values `y` of the image (known
pixels fixed at their bin centres). One move resamples a block `B` of
missing pixels from the model's raster-order conditionals given the rest
(the proposal `q(y'_B | y) = Π_{ij∈B} p(y'_ij | y'_<ij)`, drawn with the
cached sampler) and accepts it with the Metropolis-Hastings probability
for the target `p(y)` (the joint density of the whole image):

    α = min(1, p(y') q(y_B | y') / (p(y) q(y'_B | y)))
      = min(1, Π_{ij∉B} p(y'_ij | y'_<ij) / p(y_ij | y_<ij))

All factors of pixels in `B` cancel, so the ratio is that of the pixels
after the block (below and to the right) under the new and the old block:
exactly what raster-order completion ignores. The chain's stationary
distribution is `p(y_missing | y_known)`.
"""

import keras
import numpy as np
from keras import ops

from kerpix.models.inputs import validate_mask
from kerpix.sampling import CachedSampler


def inpaint(
    model,
    images,
    mask,
    num_sweeps=10,
    block_size=4,
    seed=None,
    return_log_prob=False,
    verbose="auto",
):
    """Fill the pixels of `images` where `mask` is False by MCMC (see the
    module docstring): a raster-order completion first, then `num_sweeps`
    sweeps of block Metropolis-Hastings moves over the missing region.

    Args:
        model: an integer `RIDE` / `MCGSM` (`num_levels` set).
        images: integer images `(N, H, W, 1)`.
        mask: boolean `(H, W)` or `(N, H, W)`, True where known; at least
            one pixel must be missing.
        num_sweeps: int >= 0. Passes over all blocks of the missing
            region. Defaults to `10`.
        block_size: int. Side of the square blocks resampled together.
            Defaults to `4`.
        seed: int or `None`. Seed of the proposals and acceptances (the
            same seed gives the same images).
        return_log_prob: bool. Also return the log density `log p(y)` (in
            nats, per image) of the chain's state after the raster
            completion and after each sweep, `(num_sweeps + 1, N)`, and
            the acceptance rate per sweep.
        verbose: `"auto"`, 0 or 1: a progress bar over sweeps.

    Returns:
        Integer images (NumPy int32), known pixels unchanged; with
        `return_log_prob`, `(images, log_probs, acceptance_rates)`.
    """
    if model.num_levels is None:
        raise ValueError(
            "Invalid value for argument `model`: inpainting is for integer "
            "models (num_levels set). Received a float model."
        )
    images = model.validate_images(images)
    keep = validate_mask(mask, model.image_shape, len(images))
    missing = ~keep
    if not missing.any():
        raise ValueError(
            "Invalid value for argument `mask`. Expected at least one False "
            "(missing) pixel to fill; the mask keeps every pixel. Pass a "
            "mask that is False over the region to inpaint."
        )
    for name, value, low in (
        ("num_sweeps", num_sweeps, 0),
        ("block_size", block_size, 1),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or value < low
        ):
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected an integer "
                f">= {low}. Received: {name}={value!r}"
            )
    rng = np.random.default_rng(seed)
    sampler = CachedSampler()
    levels = model.num_levels
    y = (images[..., 0].astype("float32") + 0.5) / levels
    y = _resample(model, sampler, y, keep, rng, verbose)
    # Per-pixel log densities of the chain's state, updated on acceptance
    # (not recomputed for every move).
    current = _pixel_log_density(model, y)
    log_probs = [current.sum(axis=(1, 2))]
    rates = []
    blocks = _blocks(missing, block_size)
    progbar = None
    if verbose in ("auto", 1, True) and num_sweeps:
        progbar = keras.utils.Progbar(num_sweeps, unit_name="sweep")
    for sweep in range(num_sweeps):
        accepted = proposed = 0
        for block in blocks:
            resampled = missing & block  # B, per image
            active = resampled.any(axis=(1, 2))
            proposal = _resample(model, sampler, y, ~resampled, rng, 0)
            new = _pixel_log_density(model, proposal)
            log_ratio = _log_ratio(current, new, resampled)
            accept = active & (np.log(rng.random(len(y))) < log_ratio)
            y = np.where(accept[:, None, None], proposal, y)
            current = np.where(accept[:, None, None], new, current)
            accepted += int(accept.sum())
            proposed += int(active.sum())
        rates.append(accepted / max(proposed, 1))
        log_probs.append(current.sum(axis=(1, 2)))
        if progbar is not None:
            progbar.update(sweep + 1, [("acceptance", rates[-1])])
    filled = np.clip(np.floor(y * levels), 0, levels - 1).astype("int32")
    filled = np.where(keep, images[..., 0], filled)[..., None]
    if return_log_prob:
        return filled, np.stack(log_probs), np.asarray(rates)
    return filled


def metropolis_log_ratio(model, y, proposal, resampled):
    """`log α` `(N,)` of moving from values `y` to `proposal` `(N, H, W)`
    whose pixels differ only where `resampled` `(N, H, W)` (the block B,
    drawn from the model's raster-order conditionals): the sum over the
    pixels outside B of `log p(y'_ij | y'_<ij) - log p(y_ij | y_<ij)`."""
    return _log_ratio(
        _pixel_log_density(model, y),
        _pixel_log_density(model, proposal),
        resampled,
    )


def _log_ratio(current, new, resampled):
    """`metropolis_log_ratio` from the per-pixel log densities."""
    return np.sum(np.where(resampled, 0.0, new - current), axis=(1, 2))


def _resample(model, sampler, y, keep, rng, verbose):
    """Draw the pixels where `keep` is 0 in raster order from the model's
    conditionals, the others held at their values `y` `(N, H, W)`;
    returns the new values."""
    levels = model.num_levels
    # The sampler's known pixels enter as `(value + 0.5) / levels`: pass
    # the continuous values in those units.
    known = (y * levels - 0.5)[..., None].astype("float32")
    noise = sampler.make_noise(
        model,
        noise=rng.random(
            (len(y), y.shape[1] * y.shape[2], model.noise_dims), "float32"
        ),
    )
    # Rows below the last resampled pixel are not needed.
    last_row = int(np.nonzero((~keep).any(axis=(0, 2)))[0].max())
    values = sampler.fill(
        model,
        noise,
        verbose=verbose,
        known=(known, keep.astype("int32")),
        num_rows=last_row + 1,
    )[..., 0]
    return np.where(keep, y, values)


def _pixel_log_density(model, y):
    return ops.convert_to_numpy(
        model.pixel_log_density(ops.convert_to_tensor(y[..., None]))
    ).astype("float64")


def _blocks(missing, block_size):
    """Boolean `(H, W)` masks of the `block_size` tiles (in raster order)
    that hold a missing pixel of any image."""
    height, width = missing.shape[1:]
    any_missing = missing.any(axis=0)
    blocks = []
    for i in range(0, height, block_size):
        for j in range(0, width, block_size):
            block = np.zeros((height, width), bool)
            block[i : i + block_size, j : j + block_size] = True
            if (block & any_missing).any():
                blocks.append(block)
    return blocks
