"""What "the same samples" means across two computation paths.

Sampling draws each sub-pixel by inverse CDF of a uniform noise value. Two
paths that compute the same conditionals (the cached step and the full
pass, Keras and ONNX Runtime) round differently in the last bits of
float32, so where a noise value lies within rounding distance of a CDF
boundary the two may draw adjacent levels: a tie, broken one way or the
other by each CPU's float kernels. Everywhere else they must agree
exactly.

`sample_agreement` states that precisely. Per image, find the first
sub-pixel (raster order, then channel) where the two samples differ; the
rest of that image is not comparable (each path continues from its own
context). That first difference is a tie when the values differ by one
level and moving one of the pixel's noise values by at most `tolerance`
changes the full pass's draw there: the noise sits within `tolerance` of
a boundary. Any other difference is a real disagreement.
"""

import numpy as np

# The noise distance to a CDF boundary within which two float32 paths may
# draw adjacent levels: rounding differences of the conditionals are
# ~1e-7; the 256-level logistic mixture multiplies them by scales up to
# e^7 (~1e3).
TOLERANCE = 1e-4
LOGISTIC_TOLERANCE = 1e-3


def default_tolerance(model):
    """`TOLERANCE`, or `LOGISTIC_TOLERANCE` for a logistic-mixture head."""
    head = getattr(model, "head", None)
    if head is not None and "Logistic" in type(head).__name__:
        return LOGISTIC_TOLERANCE
    return TOLERANCE


def sample_agreement(
    model,
    expected,
    got,
    noise,
    temperature=1.0,
    conditional_input=None,
    tolerance=None,
):
    """Compare two samples of `model` drawn from the same `noise`.

    Args:
        model: an image density model with a `head` and a full pass
            `model(images)` (or `model({"images", "conditional_input"})`)
            returning the head's parameters `(N, H, W, P)`; for any other
            model (RIDE, the multi-scale model) every difference is a
            disagreement.
        expected, got: integer images `(N, H, W, C)`.
        noise: `(N, H*W, noise_dims)`, the uniforms both were drawn from.
        temperature: float, the sampling temperature used.
        conditional_input: the conditioning both were drawn with, if any.
        tolerance: float; defaults to `default_tolerance(model)`.

    Returns:
        A dict: `images` (N), `identical` (images equal throughout),
        `ties` (a list of `(n, i, j, c)` first differences that are ties)
        and `disagreements` (first differences that are not).
    """
    expected = np.asarray(expected)
    got = np.asarray(got)
    if expected.shape != got.shape:
        raise ValueError(
            "Invalid value for argument `got`. Expected the shape of "
            f"`expected`, {expected.shape}. Received: got.shape={got.shape}"
        )
    tolerance = default_tolerance(model) if tolerance is None else tolerance
    noise = np.asarray(noise, "float32")
    height, width, channels = expected.shape[1:]
    ties, disagreements = [], []
    for n in range(len(expected)):
        differ = np.flatnonzero(expected[n] != got[n])
        if not len(differ):
            continue
        site = (n,) + np.unravel_index(differ[0], (height, width, channels))
        is_tie = abs(int(expected[site]) - int(got[site])) == 1 and temperature
        if is_tie:
            is_tie = _near_boundary(
                model,
                expected,
                noise,
                site,
                temperature,
                conditional_input,
                tolerance,
            )
        (ties if is_tie else disagreements).append(tuple(map(int, site)))
    return {
        "images": len(expected),
        "identical": len(expected) - len(ties) - len(disagreements),
        "ties": ties,
        "disagreements": disagreements,
    }


def assert_same_samples(
    model, expected, got, noise, what="samples", max_ties=None, **kwargs
):
    """Raise `AssertionError` unless `expected` and `got` agree everywhere
    but at ties (see `sample_agreement`), and, with `max_ties`, unless at
    most that many images end at a tie; returns the agreement dict."""
    agreement = sample_agreement(model, expected, got, noise, **kwargs)
    if agreement["disagreements"]:
        expected, got = np.asarray(expected), np.asarray(got)
        site = agreement["disagreements"][0]
        raise AssertionError(
            f"{what}: samples from the same noise differ in "
            f"{len(agreement['disagreements'])} of {agreement['images']} "
            f"images other than at a CDF tie; first at (image, row, column, "
            f"channel) {site}: {int(expected[site])} vs {int(got[site])} "
            f"({int((expected != got).sum())} of {expected.size} sub-pixels "
            "differ in all)."
        )
    if max_ties is not None and len(agreement["ties"]) > max_ties:
        raise AssertionError(
            f"{what}: {len(agreement['ties'])} of {agreement['images']} "
            f"images end at a CDF tie, more than max_ties={max_ties}: "
            f"{agreement}"
        )
    return agreement


def _near_boundary(
    model, images, noise, site, temperature, conditional_input, tolerance
):
    """Whether moving one of the pixel's noise values by `tolerance`
    changes the full pass's draw at `site` (context: `images[n]`, equal in
    both samples before `site`)."""
    n, i, j, c = site
    inputs = images[n : n + 1]
    if getattr(model, "conditional_dims", 0) and conditional_input is not None:
        inputs = {
            "images": inputs,
            "conditional_input": np.asarray(conditional_input)[n : n + 1],
        }
    params = model(inputs)
    if isinstance(params, (tuple, list, dict)) or len(params.shape) != 4:
        # Not a single per-pixel parameter map (RIDE returns
        # log-likelihoods, the multi-scale model two maps): exact only.
        return False
    params = np.asarray(params)[:, i, j]
    pixel_noise = noise[n, i * images.shape[2] + j]
    drawn = set()
    for d in range(len(pixel_noise)):
        for step in (-tolerance, 0.0, tolerance):
            moved = pixel_noise.copy()
            moved[d] = np.clip(moved[d] + step, 0.0, np.nextafter(1, 0))
            value = model.head.sample(params, moved[None], temperature)
            drawn.add(int(np.asarray(value)[0, c]))
    return len(drawn) > 1
