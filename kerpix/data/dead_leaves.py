"""Procedural dead-leaves images: the embedded default dataset."""

import numpy as np

from kerpix.utils.validation import validate_image_shape


def dead_leaves(
    num_images,
    image_shape=(16, 16, 1),
    seed=0,
    min_radius=None,
    max_radius=None,
    num_disks=None,
    num_grey_levels=256,
):
    """Generate dead-leaves images: occluding disks of random grey levels.

    The dead-leaves model (Matheron; used for the MCGSM and RIDE
    experiments) drops disks one after another, each hiding what lies
    below. Radii follow the scale-invariant power law `p(r) ∝ r^-3` on
    `[min_radius, max_radius]`, centres are uniform, and each disk gets a
    uniform random grey level (a random colour when `C = 3`). The result
    has sharp edges and flat regions at all scales, like natural images,
    and needs no download.

    Args:
        num_images: int. Number of images.
        image_shape: tuple `(H, W, C)`. Defaults to `(16, 16, 1)`.
        seed: int. Seed of the generator; the same seed gives the same
            images. Defaults to `0`.
        min_radius: float. Smallest radius in pixels. Defaults to
            `max(1, min(H, W) / 8)`.
        max_radius: float. Largest radius. Defaults to `min(H, W) / 2`.
        num_disks: int. Disks per image. Defaults to enough to cover each
            image about three times over.
        num_grey_levels: int in [2, 256]. Disk values are drawn from this
            many evenly spaced levels of [0, 255] (all 256 by default);
            fewer levels give flatter, easier images for quick demos
            (`kerpix.data.to_levels(images, L)` maps them to a
            `num_levels=L` model's 0 … L-1).

    Returns:
        uint8 array `(num_images, H, W, C)`.

    Example:

    >>> images = kerpix.data.dead_leaves(4, (16, 16, 1), seed=0)
    >>> images.shape, images.dtype
    ((4, 16, 16, 1), dtype('uint8'))
    """
    height, width, channels = validate_image_shape(image_shape)
    if not isinstance(num_images, (int, np.integer)) or num_images < 0:
        raise ValueError(
            "Invalid value for argument `num_images`. Expected an int >= 0. "
            f"Received: num_images={num_images!r}"
        )
    size = min(height, width)
    min_radius = min_radius or max(1.0, size / 8)
    max_radius = max_radius or size / 2
    if not 0 < min_radius <= max_radius:
        raise ValueError(
            "Invalid values for arguments `min_radius`, `max_radius`. "
            "Expected 0 < min_radius <= max_radius. Received: "
            f"min_radius={min_radius}, max_radius={max_radius}"
        )
    if num_disks is None:
        # E[r^2] under p(r) ∝ r^-3 on [a, b] is 2 ln(b/a) / (a^-2 - b^-2).
        a, b = min_radius, max_radius
        mean_area = np.pi * (
            2 * np.log(b / a) / (a**-2 - b**-2) if b > a else a * a
        )
        num_disks = int(np.ceil(3 * height * width / mean_area))
    if not isinstance(num_grey_levels, (int, np.integer)) or not (
        2 <= num_grey_levels <= 256
    ):
        raise ValueError(
            "Invalid value for argument `num_grey_levels`. Expected an int "
            f"in [2, 256]. Received: num_grey_levels={num_grey_levels!r}"
        )
    palette = np.round(np.linspace(0, 255, num_grey_levels)).astype("uint8")
    rng = np.random.default_rng(seed)
    images = np.empty((num_images, height, width, channels), "uint8")
    images[:] = palette[
        rng.integers(0, num_grey_levels, (num_images, 1, 1, channels))
    ]
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(num_disks):
        u = rng.random(num_images)
        # Inverse CDF of the r^-3 power law.
        radius = (min_radius**-2 - u * (min_radius**-2 - max_radius**-2)) ** (
            -0.5
        )
        cy = rng.uniform(-max_radius / 2, height + max_radius / 2, num_images)
        cx = rng.uniform(-max_radius / 2, width + max_radius / 2, num_images)
        color = palette[
            rng.integers(0, num_grey_levels, (num_images, channels))
        ]
        inside = (yy[None] - cy[:, None, None]) ** 2 + (
            xx[None] - cx[:, None, None]
        ) ** 2 <= radius[:, None, None] ** 2
        images[inside] = np.repeat(color, inside.sum(axis=(1, 2)), axis=0)
    return images
