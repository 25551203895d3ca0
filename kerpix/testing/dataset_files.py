"""Tiny dataset files in the official distribution formats (CIFAR-10's
python archive, downsampled ImageNet's npz batches and PNG tars), for
tests of the loaders and of the presets that read them. Pixel values
encode (image, channel) so a test can check the layout."""

import io
import os
import pickle
import tarfile
import zipfile

import numpy as np


def write_cifar10(folder, archive=True, broken=None):
    """Tiny CIFAR-10 files in the official python format: 2 images per
    training batch, 3 in the test batch; pixel values encode (image,
    channel) so the layout can be checked. `broken`: a batch to corrupt."""
    batches = {f"data_batch_{k}": 2 for k in range(1, 6)}
    batches["test_batch"] = 3
    contents, start = {}, 0
    for batch, count in batches.items():
        data = np.zeros((count, 3, 32, 32), np.uint8)
        for n in range(count):
            for channel in range(3):
                data[n, channel] = 10 * (start + n) + channel
        entry = {
            b"data": data.reshape(count, 3072),
            b"labels": [(start + n) % 10 for n in range(count)],
        }
        if batch == broken:
            entry = {b"data": np.zeros((count, 100), np.uint8)}
        contents[batch] = pickle.dumps(entry)
        start += count
    if not archive:
        os.makedirs(os.path.join(folder, "cifar-10-batches-py"))
        for batch, payload in contents.items():
            with open(
                os.path.join(folder, "cifar-10-batches-py", batch), "wb"
            ) as f:
                f.write(payload)
        return
    path = os.path.join(folder, "cifar-10-python.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for batch, payload in contents.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{batch}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def npz_bytes(images, labels):
    """An official npz batch: rows of channel planes, labels 1…1000."""
    n, size = len(images), images.shape[1]
    rows = images.transpose(0, 3, 1, 2).reshape(n, 3 * size * size)
    buffer = io.BytesIO()
    np.savez(buffer, data=rows, labels=list(labels), mean=rows.mean(0))
    return buffer.getvalue()


def coded_images(start, count, size):
    """Images whose pixels encode (image, row, channel) for layout checks."""
    images = np.zeros((count, size, size, 3), np.uint8)
    for n in range(count):
        for c in range(3):
            images[n, :, :, c] = (10 * (start + n) + c) % 256
        images[n, 1, :, 0] = 200 + (start + n) % 50  # row 1 differs
    return images


def write_npz_version(folder, size, zipped, batches=(3, 2), val=2):
    """Chrabaszcz et al.'s layout: train batches (two zips at 64×64) and
    val_data.npz; labels 1 + index (mod 1000). `zipped="loose"`: the npz
    files themselves, straight in `folder`."""
    if size == 32:
        parts = {"Imagenet32_train_npz": [1, 2]}
        val_stem = "Imagenet32_val_npz"
    else:
        parts = {
            "Imagenet64_train_part1_npz": [1],
            "Imagenet64_train_part2_npz": [2],
        }
        val_stem = "Imagenet64_val_npz"
    start, contents = 0, {}
    for stem, numbers in parts.items():
        files = {}
        for k in numbers:
            count = batches[k - 1]
            files[f"train_data_batch_{k}.npz"] = npz_bytes(
                coded_images(start, count, size),
                [1 + (start + i) % 1000 for i in range(count)],
            )
            start += count
        contents[stem] = files
    contents[val_stem] = {
        "val_data.npz": npz_bytes(coded_images(100, val, size), [1000] * val)
    }
    for stem, files in contents.items():
        if zipped == "loose":
            for name, payload in files.items():
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(payload)
        elif zipped:
            with zipfile.ZipFile(os.path.join(folder, stem + ".zip"), "w") as z:
                for name, payload in files.items():
                    z.writestr(f"{stem}/{name}", payload)
        else:
            os.makedirs(os.path.join(folder, stem))
            for name, payload in files.items():
                with open(os.path.join(folder, stem, name), "wb") as f:
                    f.write(payload)


def write_png_version(folder, size, tarred, count=3):
    """The PixelRNN paper's layout: tars of PNG files."""
    for split, start in (("train", 0), ("valid", 50)):
        stem = f"{split}_{size}x{size}"
        images = coded_images(start, count, size)
        files = {f"{i:07d}.png": _png(image) for i, image in enumerate(images)}
        if tarred:
            with tarfile.open(os.path.join(folder, stem + ".tar"), "w") as t:
                for name, payload in files.items():
                    info = tarfile.TarInfo(f"{stem}/{name}")
                    info.size = len(payload)
                    t.addfile(info, io.BytesIO(payload))
        else:
            os.makedirs(os.path.join(folder, stem))
            for name, payload in files.items():
                with open(os.path.join(folder, stem, name), "wb") as f:
                    f.write(payload)


def _png(image):
    import tensorflow as tf

    return tf.io.encode_png(image).numpy()
