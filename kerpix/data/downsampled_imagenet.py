"""Downsampled ImageNet from the official files, in its two versions.

- `downsampled_imagenet32` / `downsampled_imagenet64`: Chrabaszcz,
  Loshchilov & Hutter (2017), the npz batches of image-net.org's
  "downsampled" page (`Imagenet32_train_npz.zip`, `Imagenet32_val_npz.zip`;
  `Imagenet64_train_part1_npz.zip`, `Imagenet64_train_part2_npz.zip`,
  `Imagenet64_val_npz.zip`), zipped or extracted: `train_data_batch_K.npz`
  files holding `data` `(N, 3·S·S)` uint8 (channel planes, as CIFAR-10) and
  `labels` 1…1000; `val_data.npz` likewise. Splits `train` (1,281,167) and
  `validation` (50,000), labels 0…999 (the files' minus one).
- `pixelrnn_imagenet32` / `pixelrnn_imagenet64`: the version of the
  PixelRNN and Gated PixelCNN papers (van den Oord et al. 2016), the tars
  `train_32x32.tar` / `valid_32x32.tar` (`…64x64…`) of PNG files, or the
  folders they extract to. Splits `train` and `validation`, no labels.

The two are resized differently and are **not comparable**: the papers'
numbers (3.86 / 3.63 bits/dim for the PixelRNN, 3.83 / 3.57 for the Gated
PixelCNN) are on the `pixelrnn_` version; later papers mostly use the npz
one. A run's config names the dataset, so its results say which it used.
"""

import io
import os
import re
import tarfile
import zipfile

import numpy as np
import tensorflow_datasets as tfds

DOWNSAMPLED_URL = "https://image-net.org/download-images.php (Downsampled)"
PIXELRNN_URL = "http://image-net.org/small/download.php"
# Chrabaszcz et al.: dataset -> split -> the zips (or the folders they
# extract to) that hold the split's npz batches.
NPZ_CONTAINERS = {
    "downsampled_imagenet32": {
        "train": ("Imagenet32_train_npz",),
        "validation": ("Imagenet32_val_npz",),
    },
    "downsampled_imagenet64": {
        "train": ("Imagenet64_train_part1_npz", "Imagenet64_train_part2_npz"),
        "validation": ("Imagenet64_val_npz",),
    },
}
# van den Oord et al.: dataset -> split -> the tar (or its folder) of PNGs.
PNG_CONTAINERS = {
    f"pixelrnn_imagenet{size}": {
        "train": f"train_{size}x{size}",
        "validation": f"valid_{size}x{size}",
    }
    for size in (32, 64)
}
NPZ_MEMBER = re.compile(r"^(train_data_batch_(\d+)|val_data)\.npz$")


def size_of(name):
    """The image side of dataset `name` (32 or 64)."""
    return int(name[-2:])


def split_sources(name, split, data_dir):
    """The present container of each part of `split`, or a `ValueError`
    naming the missing one."""
    found = []
    if name in NPZ_CONTAINERS:
        stems, url = NPZ_CONTAINERS[name][split], DOWNSAMPLED_URL
    else:
        stems, url = (PNG_CONTAINERS[name][split],), PIXELRNN_URL
    loose = (
        "val_data.npz" if split == "validation" else "train_data_batch_1.npz"
    )
    if name in NPZ_CONTAINERS and os.path.isfile(os.path.join(data_dir, loose)):
        # The batches themselves, extracted straight into data_dir.
        containers = [
            os.path.join(data_dir, o)
            for stem in stems
            for o in (stem, stem + ".zip")
        ]
        if not any(os.path.exists(c) for c in containers):
            return [data_dir]
    for stem in stems:
        suffix = ".zip" if name in NPZ_CONTAINERS else ".tar"
        options = [stem, stem + suffix]
        present = [
            o for o in options if os.path.exists(os.path.join(data_dir, o))
        ]
        if not present:
            raise ValueError(
                f"Invalid value for argument `data_dir`. Dataset {name!r} "
                f"needs {options[1]!r} (or the folder {options[0]!r} it "
                f"extracts to{_loose_hint(name, split)}) in {data_dir!r} "
                f"for its {split!r} split; not found. Get it from {url}."
            )
        found.append(os.path.join(data_dir, present[0]))
    return found


def _loose_hint(name, split):
    if name not in NPZ_CONTAINERS:
        return ""
    files = (
        "val_data.npz"
        if split == "validation"
        else ("train_data_batch_1.npz …")
    )
    return f", or its {files} themselves"


def _members(path, keep, order=None):
    """Yield `(name, bytes)` for every file of a folder, zip or tar whose
    base name passes `keep`, sorted by `order(name)` (the name itself by
    default), one file in memory at a time."""

    def sort(found):
        return sorted(found, key=lambda f: (order or str)(f[0]))

    try:
        if os.path.isdir(path):
            found = sort(
                (f, os.path.join(root, f))
                for root, _, files in os.walk(path)
                for f in files
                if keep(f)
            )
            for name, full in found:
                with open(full, "rb") as f:
                    yield name, f.read()
        elif path.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                found = sort(
                    (os.path.basename(n), n)
                    for n in archive.namelist()
                    if keep(os.path.basename(n))
                )
                for name, member in found:
                    yield name, archive.read(member)
        else:
            with tarfile.open(path) as archive:
                found = sort(
                    (os.path.basename(m.name), m)
                    for m in archive
                    if m.isfile() and keep(os.path.basename(m.name))
                )
                for name, member in found:
                    yield name, archive.extractfile(member).read()
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as error:
        raise ValueError(
            f"Malformed file {path!r}: not a readable archive ({error})."
        ) from None


def read_npz_batches(name, split, data_dir):
    """Yield `(images (N, S, S, 3) uint8, labels (N,) int64 in 0…999)` for
    each npz batch of a Chrabaszcz et al. split, in batch order."""
    size = size_of(name)
    validation = split == "validation"

    def keep(f):
        match = NPZ_MEMBER.match(f)
        return bool(match) and (f == "val_data.npz") == validation

    def order(f):
        return int(NPZ_MEMBER.match(f).group(2) or 0)

    for path in split_sources(name, split, data_dir):
        empty = True
        for member, payload in _members(path, keep, order):
            empty = False
            yield _npz_batch(name, path, member, payload, size)
        if empty:
            wanted = "val_data" if validation else "train_data_batch_K"
            raise ValueError(
                f"Malformed {name} file {path!r}: no {wanted}.npz in it. "
                f"Get it from {DOWNSAMPLED_URL}."
            )


def _npz_batch(name, path, member, payload, size):
    where = f"{name} file {path!r} ({member})"
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as batch:
            data = np.asarray(batch["data"])
            labels = np.asarray(batch["labels"]).reshape(-1)
    except Exception as error:
        raise ValueError(
            f"Malformed {where}: not an npz with 'data' and 'labels' "
            f"({error}). Get it from {DOWNSAMPLED_URL}."
        ) from None
    pixels = 3 * size * size
    if (
        data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != pixels
        or len(labels) != len(data)
    ):
        raise ValueError(
            f"Malformed {where}: data {data.dtype} {data.shape} and "
            f"{len(labels)} labels; expected uint8 (N, {pixels}) (a "
            f"{size}×{size} RGB image per row) and N labels. Is it the "
            f"{'64' if size == 32 else '32'}×… version?"
        )
    if len(labels) and not (labels.min() >= 1 and labels.max() <= 1000):
        raise ValueError(
            f"Malformed {where}: labels from {labels.min()} to "
            f"{labels.max()}; expected 1…1000."
        )
    images = data.reshape(-1, 3, size, size).transpose(0, 2, 3, 1)
    return images, labels.astype(np.int64) - 1


def read_png_images(name, split, data_dir):
    """Yield `(file name, image (S, S, 3) uint8)` for every PNG of a
    PixelRNN-version split, sorted by file name."""
    import tensorflow as tf

    size = size_of(name)
    (path,) = split_sources(name, split, data_dir)
    empty = True
    for member, payload in _members(path, lambda f: f.lower().endswith(".png")):
        empty = False
        try:
            image = tf.io.decode_png(payload, channels=3).numpy()
        except Exception as error:
            raise ValueError(
                f"Malformed {name} file {path!r}: {member!r} is not a "
                f"readable PNG ({error})."
            ) from None
        if image.shape != (size, size, 3):
            raise ValueError(
                f"Malformed {name} file {path!r}: {member!r} is "
                f"{image.shape[0]}×{image.shape[1]}; expected {size}×{size}."
            )
        yield member, image
    if empty:
        raise ValueError(
            f"Malformed {name} file {path!r}: no .png files in it. Get it "
            f"from {PIXELRNN_URL}."
        )


def file_names(name):
    """What dataset `name` reads, for messages: each split's archive."""
    if name in NPZ_CONTAINERS:
        stems = [s for split in NPZ_CONTAINERS[name].values() for s in split]
        return tuple(stem + ".zip" for stem in stems)
    return tuple(stem + ".tar" for stem in PNG_CONTAINERS[name].values())


def source_paths(name, data_dir):
    """Every split's present archives/folders, or a `ValueError` naming
    the first missing one."""
    return [
        path
        for split in ("train", "validation")
        for path in split_sources(name, split, data_dir)
    ]


def validate_files(name, data_dir):
    """Read every split's first batch/image: a malformed file fails here,
    naming itself, before tensorflow-datasets wraps the error."""
    for split in ("train", "validation"):
        reader = read_npz_batches if name in NPZ_CONTAINERS else read_png_images
        next(iter(reader(name, split, data_dir)))


class _ImagenetBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Shared by the four builders: `NAME` and `LABELS` set by each."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Put the official files in the folder."
    NAME = None
    LABELS = False

    def _info(self):
        size = size_of(self.NAME)
        features = {
            "image": tfds.features.Tensor(shape=(size, size, 3), dtype=np.uint8)
        }
        if self.LABELS:
            features["label"] = tfds.features.ClassLabel(num_classes=1000)
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(features),
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        return {
            split: self._generate_examples(dl_manager.manual_dir, split)
            for split in ("train", "validation")
        }

    def _generate_examples(self, data_dir, split):
        if self.LABELS:
            index = 0
            for images, labels in read_npz_batches(self.NAME, split, data_dir):
                for image, label in zip(images, labels):
                    yield index, {"image": image, "label": int(label)}
                    index += 1
        else:
            for member, image in read_png_images(self.NAME, split, data_dir):
                yield member, {"image": image}


def _builder(name, labels):
    class_name = "Kerpix" + "".join(p.capitalize() for p in name.split("_"))
    fields = {"NAME": name, "LABELS": labels, "__module__": __name__}
    return type(class_name, (_ImagenetBuilder,), fields)


BUILDERS = {
    name: _builder(name, name in NPZ_CONTAINERS)
    for name in (*NPZ_CONTAINERS, *PNG_CONTAINERS)
}
