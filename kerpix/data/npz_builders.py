"""tensorflow-datasets builders over the local MNIST `.npz` files.

They read the files named in `FILES` from a manual
folder and never touch the network. Prepared records are cached under
`$KERPIX_CACHE_DIR` (default `~/.cache/kerpix`), keyed by the source
file's path, size and modification time, so a changed file is re-read.
"""

import hashlib
import os

import numpy as np
import tensorflow_datasets as tfds

# Dataset name -> the local file its builder reads.
FILES = {"mnist": "mnist.npz", "binarized_mnist": "binarized_mnist.npz"}


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


BUILDERS = {"mnist": KerpixMnist, "binarized_mnist": KerpixBinarizedMnist}


def cache_dir():
    """Where prepared datasets are kept (`$KERPIX_CACHE_DIR`)."""
    return os.environ.get(
        "KERPIX_CACHE_DIR",
        os.path.join(os.path.expanduser("~"), ".cache", "kerpix"),
    )


def make_builder(name, data_dir):
    """A prepared builder for dataset `name` reading from `data_dir`."""
    source = os.path.abspath(os.path.join(data_dir, FILES[name]))
    stat = os.stat(source)
    key = hashlib.md5(
        f"{source}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    ).hexdigest()[:12]
    builder = BUILDERS[name](
        data_dir=os.path.join(cache_dir(), "tensorflow_datasets", key)
    )
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=data_dir, try_download_gcs=False
        )
    )
    return builder
