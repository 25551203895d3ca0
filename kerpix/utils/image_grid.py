import math

import numpy as np


def image_grid(images, num_levels=256, columns=None, padding=1):
    """Tile integer images `(N, H, W, C)` into one uint8 `(H', W', C)` grid.

    Values are scaled from `[0, num_levels)` to `[0, 255]`; grey images
    stay single-channel. Padding between tiles is mid-grey.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            "Invalid value for argument `images`. Expected (N, H, W, C). "
            f"Received: images.shape={images.shape}"
        )
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    scaled = np.round(images * (255.0 / (num_levels - 1))).astype("uint8")
    grid = np.full(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, c),
        128,
        "uint8",
    )
    for k in range(n):
        r, q = divmod(k, columns)
        y, x = padding + r * (h + padding), padding + q * (w + padding)
        grid[y : y + h, x : x + w] = scaled[k]
    return grid


def save_image_grid(path, images, num_levels=256, columns=None, scale=4):
    """Write `image_grid(images)` as a PNG, enlarged `scale` times."""
    from PIL import Image

    grid = image_grid(images, num_levels, columns)
    grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    mode = "L" if grid.shape[-1] == 1 else "RGB"
    Image.fromarray(grid[..., 0] if mode == "L" else grid, mode).save(path)
    return path
