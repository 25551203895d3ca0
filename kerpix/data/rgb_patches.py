"""Colour patches of the photographs that ship inside scikit-image's
wheel (`skimage.data`): an offline RGB stand-in for CIFAR-10-style
training on a CPU, without a download.

The split is **by source image** (colour photographs only; the synthetic
`colorwheel` and `logo` are left out, and so is `retina`, whose black
surround would be a third of the training patches):

- train: astronaut, hubble_deep_field, immunohistochemistry, motorcycle
  (left view), rocket;
- validation: chelsea (the cat);
- test: coffee.

Patches keep the 8-bit RGB values as stored, cut on a regular grid with
stride `P / 2` (overlapping) in the training split and `P` (disjoint) in
the others; at the default 32×32 that is 7,480 / 126 / 216 patches.
"""

from kerpix.data.natural_patches import cut_patches
from kerpix.data.natural_patches import source_image

# split -> source images (names of `skimage.data` functions).
SOURCES = {
    "train": (
        "astronaut",
        "hubble_deep_field",
        "immunohistochemistry",
        "motorcycle_left",
        "rocket",
    ),
    "validation": ("chelsea",),
    "test": ("coffee",),
}


def rgb_patches(split="train", patch_size=32, num_images=None):
    """RGB `patch_size × patch_size` patches of the `split`'s source
    photographs (see the module docstring), uint8 `(N, P, P, 3)`.

    Args:
        split: `"train"`, `"validation"` or `"test"`.
        patch_size: int in `[2, 300]` (the validation photograph is 300
            pixels high). Defaults to `32`.
        num_images: int or `None`: the first `num_images` patches of a
            fixed random order (seed 0). Defaults to all of them.

    Example:

    >>> patches = kerpix.data.rgb_patches("validation")
    >>> patches.shape, patches.dtype
    ((126, 32, 32, 3), dtype('uint8'))
    """
    return cut_patches(
        "rgb_patches", SOURCES, source_image, split, patch_size, num_images
    )
