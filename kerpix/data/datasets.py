"""`kerpix.data.load`: tf.data pipelines of uint8 images (+ labels).

MNIST and binarized MNIST are read by tensorflow-datasets builders over
local `.npz` files (never downloaded); dead leaves are generated.
"""

import os

import numpy as np

from kerpix.data.dead_leaves import dead_leaves

DATASETS = ("dead_leaves", "mnist", "binarized_mnist")
SPLITS = {
    "dead_leaves": ("train", "validation", "test"),
    "mnist": ("train", "test"),
    "binarized_mnist": ("train", "validation", "test"),
}
FILES = {"mnist": "mnist.npz", "binarized_mnist": "binarized_mnist.npz"}
# Dead leaves: a fixed seed and a default size per split.
DEAD_LEAVES_SPLITS = {
    "train": (0, 20000),
    "validation": (1, 2000),
    "test": (2, 2000),
}


def image_shape_of(name, image_shape=None):
    """The `(H, W, C)` images of dataset `name`."""
    _check_name(name)
    if name == "dead_leaves":
        return tuple(image_shape or (16, 16, 1))
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
        name: `"dead_leaves"`, `"mnist"` or `"binarized_mnist"`.
        split: `"train"`, `"validation"` or `"test"` (MNIST has no
            validation split: slice it, e.g. `"train[:55000]"`). File-backed
            datasets take any tensorflow-datasets slice, e.g.
            `"train[:10%]"`.
        data_dir: folder holding `mnist.npz` / `binarized_mnist.npz`.
            Defaults to `$KERPIX_DATA_DIR`.
        with_labels: bool. Yield `(image, label)` pairs (MNIST only).
        image_shape: dead leaves only: `(H, W, C)`. Defaults to
            `(16, 16, 1)`.
        num_images: dead leaves only: number of images in the split.
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
    if with_labels and name != "mnist":
        raise ValueError(
            "Invalid value for argument `with_labels`. Only 'mnist' has "
            f"labels. Received: with_labels=True for name={name!r}"
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
    if (
        image_shape is not None
        or num_images is not None
        or (num_grey_levels != 256)
    ):
        raise ValueError(
            "Invalid value for argument `image_shape`/`num_images`/"
            "`num_grey_levels`. Only "
            "dead leaves take them; slice file-backed splits instead, e.g. "
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
    filename = FILES[name]
    if not data_dir:
        raise ValueError(
            f"Dataset {name!r} is read from the local file {filename!r}; "
            "pass `data_dir=` (or set KERPIX_DATA_DIR) to the folder that "
            "holds it. kerpix never downloads it."
        )
    path = os.path.join(data_dir, filename)
    if not os.path.isfile(path):
        raise ValueError(
            f"Invalid value for argument `data_dir`. Dataset {name!r} needs "
            f"the file {filename!r} there; not found at {path!r}. Received: "
            f"data_dir={data_dir!r}"
        )
    return data_dir


def _load_from_files(name, split, data_dir, with_labels):
    from kerpix.data import npz_builders

    data_dir = resolve_data_dir(name, data_dir)
    builder = npz_builders.make_builder(name, data_dir)
    ds = builder.as_dataset(split=split, shuffle_files=False)
    if with_labels:
        return ds.map(lambda e: (e["image"], e["label"]))
    return ds.map(lambda e: e["image"])


def to_numpy(dataset, limit=None):
    """Collect a (small) unbatched dataset of images into a NumPy array."""
    if limit is not None:
        dataset = dataset.take(limit)
    return np.stack(list(dataset.as_numpy_iterator()))
