"""tensorflow-datasets builders over local dataset files: the MNIST
`.npz` files, CIFAR-10's official python archive and downsampled ImageNet
(`kerpix.data.downsampled_imagenet`).

They read the files named in `FILES` from a manual
folder and never touch the network. Prepared records are cached under
`$KERPIX_CACHE_DIR` (default `~/.cache/kerpix`), keyed by the source
file's path, size and modification time, so a changed file is re-read.
"""

import hashlib
import os
import pickle
import tarfile

import numpy as np
import tensorflow_datasets as tfds

from kerpix.data.downsampled_imagenet import BUILDERS as IMAGENET_BUILDERS
from kerpix.data.downsampled_imagenet import file_names as imagenet_files
from kerpix.data.downsampled_imagenet import source_paths as imagenet_paths
from kerpix.data.downsampled_imagenet import validate_files

# Dataset name -> the local file its builder reads (or, for CIFAR-10, the
# official archive or the folder it extracts to, whichever is there).
FILES = {
    "mnist": "mnist.npz",
    "binarized_mnist": "binarized_mnist.npz",
    "cifar10": ("cifar-10-python.tar.gz", "cifar-10-batches-py"),
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_BATCHES = {
    "train": [f"data_batch_{k}" for k in range(1, 6)],
    "test": ["test_batch"],
}


def file_names(name):
    """The accepted file (or folder) names of dataset `name`."""
    if name in IMAGENET_BUILDERS:
        return imagenet_files(name)
    names = FILES[name]
    return (names,) if isinstance(names, str) else names


def source_path(name, data_dir):
    """The first accepted file of `name` present in `data_dir`, or None."""
    for filename in file_names(name):
        path = os.path.join(data_dir, filename)
        if os.path.exists(path):
            return path
    return None


def source_paths(name, data_dir):
    """Every file `name` reads from `data_dir`; a `ValueError` naming the
    data folder and the missing file (and where to get it)."""
    if name in IMAGENET_BUILDERS:
        return imagenet_paths(name, data_dir)
    path = source_path(name, data_dir)
    if path is None:
        filename = " or ".join(repr(f) for f in file_names(name))
        raise ValueError(
            f"Invalid value for argument `data_dir`. Dataset {name!r} needs "
            f"the file {filename} there; not found in {data_dir!r}. "
            f"Received: data_dir={data_dir!r}"
        )
    return [path]


def read_cifar10(path, split):
    """Images `(N, 32, 32, 3)` uint8 and labels `(N,)` of a CIFAR-10 split
    from the official python archive or its extracted folder; a
    `ValueError` naming the file for anything else."""

    def load(batch, read):
        try:
            entry = pickle.loads(read(batch), encoding="bytes")
            data = np.asarray(entry[b"data"], np.uint8)
            labels = np.asarray(entry[b"labels"], np.int64)
        except Exception as error:
            raise ValueError(
                f"Malformed CIFAR-10 file {path!r}: batch {batch!r} is not "
                "the official python format (a pickled dict with b'data' "
                f"(N, 3072) uint8 and b'labels'): {error}. Get "
                f"{CIFAR10_URL}."
            ) from None
        if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
            raise ValueError(
                f"Malformed CIFAR-10 file {path!r}: batch {batch!r} has "
                f"data of shape {data.shape} and {len(labels)} labels; "
                "expected (N, 3072) and N."
            )
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels

    parts = []
    if os.path.isdir(path):
        for batch in CIFAR10_BATCHES[split]:
            member = os.path.join(path, batch)
            if not os.path.isfile(member):
                raise ValueError(
                    f"Malformed CIFAR-10 folder {path!r}: no {batch!r}. "
                    f"Extract {CIFAR10_URL} there."
                )
            with open(member, "rb") as f:
                parts.append(load(batch, lambda _, f=f: f.read()))
    else:
        try:
            with tarfile.open(path, "r:gz") as archive:
                names = {os.path.basename(m.name): m for m in archive}
                for batch in CIFAR10_BATCHES[split]:
                    if batch not in names:
                        raise ValueError(
                            f"Malformed CIFAR-10 file {path!r}: no "
                            f"{batch!r} in the archive. Get {CIFAR10_URL}."
                        )
                    parts.append(
                        load(
                            batch,
                            lambda b: archive.extractfile(names[b]).read(),
                        )
                    )
        except (tarfile.TarError, OSError, EOFError) as error:
            raise ValueError(
                f"Malformed CIFAR-10 file {path!r}: not a readable "
                f".tar.gz ({error}). Get {CIFAR10_URL}."
            ) from None
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return images, labels


class KerpixMnist(tfds.core.GeneratorBasedBuilder):
    """MNIST (LeCun, Cortes, Burges) from `mnist.npz`: train 60k, test 10k."""

    VERSION = tfds.core.Version("1.0.1")
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Put mnist.npz in the manual folder."

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(
                        shape=(28, 28, 1), dtype=np.uint8
                    ),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            ),
            # Keep the files' order (tfds shuffles records by default).
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        path = os.path.join(dl_manager.manual_dir, FILES["mnist"])
        return {
            "train": self._generate_examples(path, "train"),
            "test": self._generate_examples(path, "test"),
        }

    def _generate_examples(self, path, split):
        with np.load(path, allow_pickle=False) as data:
            images, labels = data[f"x_{split}"], data[f"y_{split}"]
        for i in range(len(images)):
            yield i, {"image": images[i, :, :, None], "label": int(labels[i])}


class KerpixBinarizedMnist(tfds.core.GeneratorBasedBuilder):
    """Fixed binarized MNIST (Salakhutdinov & Murray 2008; Larochelle &
    Murray 2011): train 50k, validation 10k, test 10k, values {0, 1}."""

    VERSION = tfds.core.Version("1.0.1")
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Put binarized_mnist.npz in the folder."

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(
                        shape=(28, 28, 1), dtype=np.uint8
                    ),
                }
            ),
            # Keep the files' order (tfds shuffles records by default).
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        path = os.path.join(dl_manager.manual_dir, FILES["binarized_mnist"])
        return {
            "train": self._generate_examples(path, "train"),
            "validation": self._generate_examples(path, "valid"),
            "test": self._generate_examples(path, "test"),
        }

    def _generate_examples(self, path, key):
        with np.load(path, allow_pickle=False) as data:
            packed = data[key]
        # Stored with np.packbits; never re-binarize (the split is fixed).
        bits = np.unpackbits(packed, axis=1).reshape(-1, 28, 28, 1)
        for i in range(len(bits)):
            yield i, {"image": bits[i]}


class KerpixCifar10(tfds.core.GeneratorBasedBuilder):
    """CIFAR-10 (Krizhevsky 2009) from the official python archive
    `cifar-10-python.tar.gz` (or its extracted `cifar-10-batches-py/`):
    train 50k, test 10k, 32×32×3, 10 classes."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"Put {CIFAR10_URL} in the folder."

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(
                        shape=(32, 32, 3), dtype=np.uint8
                    ),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            ),
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        path = source_path("cifar10", dl_manager.manual_dir)
        return {
            split: self._generate_examples(path, split)
            for split in CIFAR10_BATCHES
        }

    def _generate_examples(self, path, split):
        images, labels = read_cifar10(path, split)
        for i in range(len(images)):
            yield i, {"image": images[i], "label": int(labels[i])}


BUILDERS = {
    "mnist": KerpixMnist,
    "binarized_mnist": KerpixBinarizedMnist,
    "cifar10": KerpixCifar10,
    **IMAGENET_BUILDERS,
}


def cache_dir():
    """Where prepared datasets are kept (`$KERPIX_CACHE_DIR`)."""
    return os.environ.get(
        "KERPIX_CACHE_DIR",
        os.path.join(os.path.expanduser("~"), ".cache", "kerpix"),
    )


def make_builder(name, data_dir):
    """A prepared builder for dataset `name` reading from `data_dir`."""
    sources = [os.path.abspath(p) for p in source_paths(name, data_dir)]
    stats = [(p, os.stat(p)) for p in sources]
    key = hashlib.md5(
        ";".join(f"{p}:{s.st_size}:{s.st_mtime_ns}" for p, s in stats).encode()
    ).hexdigest()[:12]
    builder = BUILDERS[name](
        data_dir=os.path.join(cache_dir(), "tensorflow_datasets", key)
    )
    if builder.is_prepared():  # these very files (key) were read already
        return builder
    # A malformed file fails here, naming itself, before tfds wraps it.
    if name == "cifar10":
        for split in CIFAR10_BATCHES:
            read_cifar10(sources[0], split)
    if name in IMAGENET_BUILDERS:
        validate_files(name, data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=data_dir, try_download_gcs=False
        )
    )
    return builder
