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


def source_image(name):
    """Source image `name` of `skimage.data` as uint8, as stored: `(H, W)`
    or `(H, W, 3)` (`motorcycle_left`: the left view of the stereo pair)."""
    data, _ = _skimage()
    if name == "motorcycle_left":
        return data.stereo_motorcycle()[0]
    return getattr(data, name)()


def grey_image(name):
    """Source image `name` of `skimage.data` as uint8 grey `(H, W)`."""
    _, color = _skimage()
    image = source_image(name)
    if image.ndim == 3:
        image = np.round(color.rgb2gray(image[..., :3]) * 255)
    return np.asarray(image, "uint8")


def natural_patches(split="train", patch_size=16, num_images=None):
    """Grey `patch_size × patch_size` patches of the `split`'s source
    images (see the module docstring), uint8 `(N, P, P, 1)`.

    Args:
        split: `"train"`, `"validation"` or `"test"`.
        patch_size: int in `[2, 300]` (the smallest source image is 300
            pixels high). Defaults to `16`.
        num_images: int or `None`: the first `num_images` patches of a
            fixed random order (seed 0). Defaults to all of them.

    Example:

    >>> patches = kerpix.data.natural_patches("validation", patch_size=16)
    >>> patches.shape, patches.dtype
    ((504, 16, 16, 1), dtype('uint8'))
    """
    patches = cut_patches(
        "natural_patches", SOURCES, grey_image, split, patch_size, num_images
    )
    return patches[..., None]


# Rows of scikit-image's 512×512 brick texture in each split of
# `brick_patches`: the upper half trains, two bands below it validate and
# test (patches never straddle two splits).
BRICK_ROWS = {"train": (0, 256), "validation": (256, 320), "test": (320, 512)}


def brick_patches(split="train", patch_size=16, num_images=None):
    """Grey `patch_size × patch_size` patches of scikit-image's brick
    texture (`skimage.data.brick`, 512×512, 8 bits), uint8 `(N, P, P, 1)`:
    a texture dataset for synthesis and inpainting. The split is by rows
    (`BRICK_ROWS`): train the upper half (stride `P / 2`), validation rows
    256-319 and test rows 320-511 (disjoint patches).

    Example:

    >>> kerpix.data.brick_patches("test", patch_size=16).shape
    (384, 16, 16, 1)
    """
    sources = {name: (name,) for name in BRICK_ROWS}

    def read(name):
        start, stop = BRICK_ROWS[name]
        return grey_image("brick")[start:stop]

    return cut_patches(
        "brick_patches", sources, read, split, patch_size, num_images
    )[..., None]


def cut_patches(dataset, sources, read, split, patch_size, num_images):
    """`patch_size`-square patches of `read(name)` for every source image
    `name` of `sources[split]`, on a grid of stride `P / 2` (train) or `P`
    (other splits), in a fixed random order (seed 0), the first
    `num_images` of it (all by default). `dataset` names the caller in
    errors."""
    if split not in sources:
        raise ValueError(
            f"Invalid value for argument `split`. {dataset} has the "
            f"splits {list(sources)}. Received: split={split!r}"
        )
    images = [read(name) for name in sources[split]]
    smallest = min(min(image.shape[:2]) for image in images)
    if (
        isinstance(patch_size, bool)
        or not isinstance(patch_size, (int, np.integer))
        or not 2 <= patch_size <= smallest
    ):
        raise ValueError(
            "Invalid value for argument `patch_size`. Expected an integer "
            f"in [2, {smallest}] (the smallest {split} image of {dataset} "
            f"is {smallest} pixels high). Received: patch_size={patch_size!r}"
        )
    if num_images is not None and (
        isinstance(num_images, bool)
        or not (isinstance(num_images, (int, np.integer)) and num_images > 0)
    ):
        raise ValueError(
            "Invalid value for argument `num_images`. Expected a "
            f"positive integer. Received: num_images={num_images!r}"
        )
    stride = max(1, patch_size // 2) if split == "train" else patch_size
    patches = []
    for image in images:
        height, width = image.shape[:2]
        for i in range(0, height - patch_size + 1, stride):
            for j in range(0, width - patch_size + 1, stride):
                patches.append(image[i : i + patch_size, j : j + patch_size])
    patches = np.stack(patches)
    order = np.random.default_rng(0).permutation(len(patches))
    if num_images is not None:
        order = order[:num_images]
    return patches[order]


def _skimage():
    try:
        import skimage.color
        import skimage.data
    except ImportError as error:
        raise ImportError(
            "The 'natural_patches' and 'rgb_patches' datasets read the "
            "images that ship with "
            "scikit-image: install it with `pip install 'kerpix[images]'` "
            "(or `pip install scikit-image`)."
        ) from error
    return skimage.data, skimage.color
