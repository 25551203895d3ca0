"""Grey patches of the photographs and textures that ship inside
scikit-image's wheel (`skimage.data`): natural images without a download,
the RIDE paper's domain.

The split is **by source image**, so test patches come from photographs
the model never saw in training:

- train: astronaut, brick, clock, coins, grass, gravel,
  immunohistochemistry, moon, motorcycle (left view), rocket;
- validation: chelsea (the cat);
- test: camera (the cameraman), coffee.

Colour images become grey with ITU-R 709 luma (`skimage.color.rgb2gray`)
rounded to 8 bits. Patches are cut on a regular grid: with stride `P / 2`
(overlapping) in the training split, `P` (disjoint) in the others.
"""

import numpy as np

# split -> source images (names of `skimage.data` functions).
SOURCES = {
    "train": (
        "astronaut",
        "brick",
        "clock",
        "coins",
        "grass",
        "gravel",
        "immunohistochemistry",
        "moon",
        "motorcycle_left",
        "rocket",
    ),
    "validation": ("chelsea",),
    "test": ("camera", "coffee"),
}
# The smallest source image is 300 pixels high (chelsea, clock).
MAX_PATCH_SIZE = 300


def grey_image(name):
    """Source image `name` of `skimage.data` as uint8 grey `(H, W)`."""
    data, color = _skimage()
    if name == "motorcycle_left":
        image = data.stereo_motorcycle()[0]
    else:
        image = getattr(data, name)()
    if image.ndim == 3:
        image = np.round(color.rgb2gray(image[..., :3]) * 255)
    return np.asarray(image, "uint8")


def natural_patches(split="train", patch_size=16, num_images=None):
    """Grey `patch_size × patch_size` patches of the `split`'s source
    images (see the module docstring), uint8 `(N, P, P, 1)`.

    Args:
        split: `"train"`, `"validation"` or `"test"`.
        patch_size: int in `[2, 300]`. Defaults to `16`.
        num_images: int or `None`: the first `num_images` patches of a
            fixed random order (seed 0). Defaults to all of them.

    Example:

    >>> patches = kerpix.data.natural_patches("validation", patch_size=16)
    >>> patches.shape, patches.dtype
    ((504, 16, 16, 1), dtype('uint8'))
    """
    if split not in SOURCES:
        raise ValueError(
            "Invalid value for argument `split`. natural_patches has the "
            f"splits {list(SOURCES)}. Received: split={split!r}"
        )
    if (
        isinstance(patch_size, bool)
        or not isinstance(patch_size, (int, np.integer))
        or not 2 <= patch_size <= MAX_PATCH_SIZE
    ):
        raise ValueError(
            "Invalid value for argument `patch_size`. Expected an integer "
            f"in [2, {MAX_PATCH_SIZE}] (the smallest source image is "
            f"{MAX_PATCH_SIZE} pixels high). Received: "
            f"patch_size={patch_size!r}"
        )
    stride = max(1, patch_size // 2) if split == "train" else patch_size
    patches = []
    for name in SOURCES[split]:
        image = grey_image(name)
        height, width = image.shape
        for i in range(0, height - patch_size + 1, stride):
            for j in range(0, width - patch_size + 1, stride):
                patches.append(image[i : i + patch_size, j : j + patch_size])
    patches = np.stack(patches)[..., None]
    order = np.random.default_rng(0).permutation(len(patches))
    if num_images is not None:
        if isinstance(num_images, bool) or not (
            isinstance(num_images, (int, np.integer)) and num_images > 0
        ):
            raise ValueError(
                "Invalid value for argument `num_images`. Expected a "
                f"positive integer. Received: num_images={num_images!r}"
            )
        order = order[:num_images]
    return patches[order]


def _skimage():
    try:
        import skimage.color
        import skimage.data
    except ImportError as error:
        raise ImportError(
            "The 'natural_patches' dataset reads the images that ship with "
            "scikit-image: install it with `pip install 'kerpix[images]'` "
            "(or `pip install scikit-image`)."
        ) from error
    return skimage.data, skimage.color
