"""Downsampled ImageNet loaders on tiny files in the official formats."""

import os

import numpy as np
import pytest

pytest.importorskip("tensorflow_datasets")
tf = pytest.importorskip("tensorflow")

from kerpix import data  # noqa: E402
from kerpix.testing.dataset_files import coded_images  # noqa: E402
from kerpix.testing.dataset_files import npz_bytes  # noqa: E402
from kerpix.testing.dataset_files import write_npz_version  # noqa: E402
from kerpix.testing.dataset_files import write_png_version  # noqa: E402

pytestmark = pytest.mark.tensorflow_only


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERPIX_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "files"
    folder.mkdir()
    return str(folder)


@pytest.mark.parametrize("size", [32, 64])
# True: the official zips; False: their folders; "loose": the npz files
# themselves in data_dir.
@pytest.mark.parametrize("zipped", [True, False, "loose"])
def test_npz_version_shapes_order_and_labels(cache, size, zipped):
    write_npz_version(cache, size, zipped)
    name = f"downsampled_imagenet{size}"
    assert data.image_shape_of(name) == (size, size, 3)
    pairs = list(
        data.load(
            name, "train", data_dir=cache, with_labels=True
        ).as_numpy_iterator()
    )
    images = np.stack([p[0] for p in pairs])
    labels = np.array([p[1] for p in pairs])
    # Both batches (both zips at 64×64), in batch order, channels last.
    np.testing.assert_array_equal(images, coded_images(0, 5, size))
    assert images.dtype == np.uint8
    np.testing.assert_array_equal(labels, np.arange(5))  # files' label - 1
    validation = data.load(name, "validation", data_dir=cache, with_labels=True)
    (image, label), _ = list(validation.as_numpy_iterator())
    np.testing.assert_array_equal(image, coded_images(100, 1, size)[0])
    assert label == 999
    sliced = data.to_numpy(data.load(name, "train[:2]", data_dir=cache))
    assert sliced.shape == (2, size, size, 3)


@pytest.mark.parametrize("tarred", [True, False])
def test_pixelrnn_version_reads_the_png_tars(cache, tarred):
    write_png_version(cache, 32, tarred)
    train = data.to_numpy(data.load("pixelrnn_imagenet32", "train", cache))
    np.testing.assert_array_equal(train, coded_images(0, 3, 32))
    validation = data.to_numpy(
        data.load("pixelrnn_imagenet32", "validation", cache)
    )
    np.testing.assert_array_equal(validation, coded_images(50, 3, 32))
    with pytest.raises(ValueError, match="`with_labels`"):
        data.load("pixelrnn_imagenet32", "train", cache, with_labels=True)


def test_errors_name_the_file(cache):
    with pytest.raises(
        ValueError,
        match=r"'downsampled_imagenet32' needs 'Imagenet32_train_npz\.zip' "
        r"\(or the folder 'Imagenet32_train_npz'.*image-net\.org",
    ):
        data.load("downsampled_imagenet32", "train", data_dir=cache)
    # 32×32 files where the 64×64 version is expected.
    write_npz_version(cache, 32, zipped=True)
    for stem in ("Imagenet64_train_part1_npz", "Imagenet64_train_part2_npz"):
        os.rename(
            os.path.join(cache, "Imagenet32_train_npz.zip"),
            os.path.join(cache, stem + ".zip"),
        )
        write_npz_version(cache, 32, zipped=True)
    os.rename(
        os.path.join(cache, "Imagenet32_val_npz.zip"),
        os.path.join(cache, "Imagenet64_val_npz.zip"),
    )
    with pytest.raises(
        ValueError,
        match=r"Malformed downsampled_imagenet64 file .*"
        r"Imagenet64_train_part1_npz\.zip' \(train_data_batch_1\.npz\): "
        r"data uint8 \(3, 3072\).*expected uint8 \(N, 12288\)",
    ):
        data.load("downsampled_imagenet64", "train", data_dir=cache)
    write_npz_version(cache, 32, zipped=True)
    with open(os.path.join(cache, "Imagenet32_train_npz.zip"), "wb") as f:
        f.write(b"not a zip")
    with pytest.raises(ValueError, match="not a readable archive"):
        data.load("downsampled_imagenet32", "train", data_dir=cache)
    write_png_version(cache, 32, tarred=True)
    os.remove(os.path.join(cache, "valid_32x32.tar"))
    with pytest.raises(ValueError, match=r"needs 'valid_32x32\.tar'"):
        data.load("pixelrnn_imagenet32", "train", data_dir=cache)
    with pytest.raises(ValueError, match="`split`.*'train', 'validation'"):
        data.load("pixelrnn_imagenet32", "test", data_dir=cache)


def test_bad_labels_and_pngs(cache):
    os.makedirs(os.path.join(cache, "Imagenet32_train_npz"))
    with open(
        os.path.join(cache, "Imagenet32_train_npz", "train_data_batch_1.npz"),
        "wb",
    ) as f:
        f.write(npz_bytes(coded_images(0, 2, 32), [0, 1]))
    os.makedirs(os.path.join(cache, "Imagenet32_val_npz"))
    with pytest.raises(
        ValueError, match=r"labels from 0 to 1; expected 1…1000"
    ):
        data.load("downsampled_imagenet32", "train", data_dir=cache)
    write_png_version(cache, 64, tarred=False)
    with pytest.raises(ValueError, match=r"is 64×64; expected 32×32"):
        os.rename(
            os.path.join(cache, "train_64x64"),
            os.path.join(cache, "train_32x32"),
        )
        os.rename(
            os.path.join(cache, "valid_64x64"),
            os.path.join(cache, "valid_32x32"),
        )
        data.load("pixelrnn_imagenet32", "train", data_dir=cache)
