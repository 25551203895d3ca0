"""`kerpix.data.load`: tf.data pipelines of uint8 images (+ labels).

MNIST and binarized MNIST are read by tensorflow-datasets builders over
local `.npz` files (never downloaded); dead leaves are generated; natural
patches are cut from the photographs inside scikit-image's wheel.
"""

import os

import numpy as np

from kerpix.data.dead_leaves import dead_leaves
from kerpix.data.natural_patches import brick_patches
from kerpix.data.natural_patches import natural_patches
from kerpix.data.rgb_patches import rgb_patches

DATASETS = (
    "dead_leaves",
    "natural_patches",
    "rgb_patches",
    "brick_patches",
    "mnist",
    "binarized_mnist",
    "cifar10",
    "downsampled_imagenet32",
    "downsampled_imagenet64",
    "pixelrnn_imagenet32",
    "pixelrnn_imagenet64",
)
# Datasets with class labels (`with_labels=True`).
LABELLED = (
    "mnist",
    "cifar10",
    "downsampled_imagenet32",
    "downsampled_imagenet64",
)
# Generated (or cut) in memory: sized by `image_shape` / `num_images`.
IN_MEMORY = ("dead_leaves", "natural_patches", "rgb_patches", "brick_patches")
# Patches cut in memory from scikit-image's photographs: name -> (cutter,
# channels, default patch size).
PATCHES = {
    "natural_patches": (natural_patches, 1, 16),
    "rgb_patches": (rgb_patches, 3, 32),
    "brick_patches": (brick_patches, 1, 16),
}
SPLITS = {
    "dead_leaves": ("train", "validation", "test"),
    "natural_patches": ("train", "validation", "test"),
    "rgb_patches": ("train", "validation", "test"),
    "brick_patches": ("train", "validation", "test"),
    "mnist": ("train", "test"),
    "binarized_mnist": ("train", "validation", "test"),
    "cifar10": ("train", "test"),
    "downsampled_imagenet32": ("train", "validation"),
    "downsampled_imagenet64": ("train", "validation"),
    "pixelrnn_imagenet32": ("train", "validation"),
    "pixelrnn_imagenet64": ("train", "validation"),
}
# Dead leaves: a fixed seed and a default size per split.
DEAD_LEAVES_SPLITS = {
    "train": (0, 20000),
    "validation": (1, 2000),
    "test": (2, 2000),
}


def image_shape_of(name, image_shape=None):
    """The `(H, W, C)` images of dataset `name`."""
    _check_name(name)
    if name in PATCHES and image_shape is None:
        _, channels, size = PATCHES[name]
        return (size, size, channels)
    if name in IN_MEMORY:
        return tuple(image_shape or (16, 16, 1))
    if name.endswith("imagenet32") or name == "cifar10":
        return (32, 32, 3)
    if name.endswith("imagenet64"):
        return (64, 64, 3)
    return (28, 28, 1)


def num_levels_of(name):
    """Values per sub-pixel in dataset `name`."""
    _check_name(name)
    return 2 if name == "binarized_mnist" else 256


def load(
    name,
    split="train",
    data_dir=None,
    with_labels=False,
    image_shape=None,
    num_images=None,
    num_grey_levels=256,
):
    """Load a dataset as an unbatched `tf.data.Dataset` of uint8 images.

    Args:
        name: `"dead_leaves"`, `"natural_patches"` (grey patches of the
            photographs in scikit-image, split by source image; see
            `kerpix.data.natural_patches`), `"rgb_patches"` (their colour
            counterpart, 32×32×3 by default; `kerpix.data.rgb_patches`),
            `"brick_patches"` (16×16 patches of scikit-image's brick
            texture, split by rows; `kerpix.data.brick_patches`),
            `"mnist"`,
            `"binarized_mnist"`, `"cifar10"` (32×32×3, train 50k / test
            10k, from the official `cifar-10-python.tar.gz` or its
            extracted `cifar-10-batches-py/`), `"downsampled_imagenet32"` /
            `"downsampled_imagenet64"` (Chrabaszcz et al.'s npz batches,
            with labels) or `"pixelrnn_imagenet32"` /
            `"pixelrnn_imagenet64"` (the PixelRNN paper's PNG tars); see
            `kerpix.data.downsampled_imagenet` for the files and why the
            two versions are not comparable.
        split: `"train"`, `"validation"` or `"test"` (MNIST has no
            validation split: slice it, e.g. `"train[:55000]"`). File-backed
            datasets take any tensorflow-datasets slice, e.g.
            `"train[:10%]"`.
        data_dir: folder holding `mnist.npz` / `binarized_mnist.npz` /
            the CIFAR-10 archive / the ImageNet archives.
            Defaults to `$KERPIX_DATA_DIR`.
        with_labels: bool. Yield `(image, label)` pairs (MNIST, CIFAR-10,
            `downsampled_imagenet*`).
        image_shape: in-memory datasets only: `(H, W, C)` (natural
            patches: `(P, P, 1)`, RGB patches: `(P, P, 3)`). Defaults to
            `(16, 16, 1)`, `(32, 32, 3)` for RGB patches.
        num_images: in-memory datasets only: number of images in the
            split (patches: the first of a fixed shuffle; all of them by
            default).
        num_grey_levels: dead leaves only: distinct grey levels of the
            disks (see `kerpix.data.dead_leaves`). Defaults to `256`.

    Returns:
        A `tf.data.Dataset` of uint8 `(H, W, C)` images, or of
        `(image, label)` with `with_labels=True`.

    Example:

    >>> ds = kerpix.data.load("dead_leaves", "test", num_images=8)
    >>> tuple(next(iter(ds.batch(8))).shape)
    (8, 16, 16, 1)
    """
    import tensorflow as tf

    _check_name(name)
    base_split = split.split("[")[0] if isinstance(split, str) else split
    if base_split not in SPLITS[name]:
        raise ValueError(
            f"Invalid value for argument `split`. Dataset {name!r} has "
            f"splits {list(SPLITS[name])}. Received: split={split!r}"
        )
    if with_labels and name not in LABELLED:
        raise ValueError(
            f"Invalid value for argument `with_labels`. Only {list(LABELLED)} "
            f"have labels. Received: with_labels=True for name={name!r}"
        )
    if name == "dead_leaves":
        if split != base_split:
            raise ValueError(
                "Invalid value for argument `split`. Dead leaves are "
                "generated: set the size with `num_images` instead of a "
                f"slice. Received: split={split!r}"
            )
        seed, default_size = DEAD_LEAVES_SPLITS[split]
        images = dead_leaves(
            default_size if num_images is None else num_images,
            image_shape_of(name, image_shape),
            seed=seed,
            num_grey_levels=num_grey_levels,
        )
        return tf.data.Dataset.from_tensor_slices(images)
    if name in PATCHES:
        cut, channels, _ = PATCHES[name]
        if split != base_split or num_grey_levels != 256:
            raise ValueError(
                "Invalid value for argument `split`/`num_grey_levels`. "
                f"{name} are 8-bit and cut in memory: set the size with "
                "`num_images`, not a slice or grey levels. Received: "
                f"split={split!r}, num_grey_levels={num_grey_levels!r}"
            )
        shape = image_shape_of(name, image_shape)
        if len(shape) != 3 or shape[0] != shape[1] or shape[2] != channels:
            raise ValueError(
                f"Invalid value for argument `image_shape`. {name} are "
                f"square with {channels} channel(s): (P, P, {channels}), "
                f"e.g. {image_shape_of(name)}. Received: "
                f"image_shape={image_shape!r}"
            )
        images = cut(split, shape[0], num_images=num_images)
        return tf.data.Dataset.from_tensor_slices(images)
    if (
        image_shape is not None
        or num_images is not None
        or (num_grey_levels != 256)
    ):
        raise ValueError(
            "Invalid value for argument `image_shape`/`num_images`/"
            "`num_grey_levels`. Only "
            "in-memory datasets (dead leaves, natural and RGB patches) "
            "take them; "
            "slice file-backed splits instead, e.g. "
            f"split='train[:1000]'. Received them for name={name!r}"
        )
    return _load_from_files(name, split, data_dir, with_labels)


def _check_name(name):
    if name not in DATASETS:
        raise ValueError(
            "Invalid value for argument `name`. Expected one of "
            f"{list(DATASETS)}. Received: name={name!r}"
        )


def resolve_data_dir(name, data_dir=None):
    """The folder holding `name`'s file, or a `ValueError` saying which."""
    data_dir = data_dir or os.environ.get("KERPIX_DATA_DIR")
    # The builders own their file table (they import tensorflow-datasets,
    # an optional dependency: imported here, when a file is needed).
    from kerpix.data.npz_builders import file_names
    from kerpix.data.npz_builders import source_paths

    if not data_dir:
        filename = " or ".join(repr(f) for f in file_names(name))
        raise ValueError(
            f"Dataset {name!r} is read from the local file {filename}; "
            "pass `data_dir=` (or set KERPIX_DATA_DIR) to the folder that "
            "holds it. kerpix never downloads it."
        )
    source_paths(name, data_dir)  # a ValueError naming the missing file
    return data_dir


def _load_from_files(name, split, data_dir, with_labels):
    from kerpix.data.npz_builders import make_builder

    data_dir = resolve_data_dir(name, data_dir)
    builder = make_builder(name, data_dir)
    ds = builder.as_dataset(split=split, shuffle_files=False)
    if with_labels:
        return ds.map(lambda e: (e["image"], e["label"]))
    return ds.map(lambda e: e["image"])


def load_numpy(name, split="train", with_labels=False, **kwargs):
    """`load(name, split, with_labels=..., **kwargs)` collected into NumPy:
    `(images, labels)`, `labels` `None` unless `with_labels` (for scoring a
    split that fits in memory)."""
    ds = load(name, split, with_labels=with_labels, **kwargs)
    if not with_labels:
        return to_numpy(ds), None
    pairs = list(ds.batch(4096).as_numpy_iterator())
    images = np.concatenate([p[0] for p in pairs])
    labels = np.concatenate([p[1] for p in pairs])
    return images, labels


def to_numpy(dataset, limit=None):
    """Collect a (small) unbatched dataset of images into a NumPy array."""
    if limit is not None:
        dataset = dataset.take(limit)
    return np.stack(list(dataset.as_numpy_iterator()))
