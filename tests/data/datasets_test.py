import hashlib
import importlib

import numpy as np
import pytest

from kerpix import data
from kerpix.testing.dataset_files import write_cifar10

pytestmark = pytest.mark.tensorflow_only


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    # One prepared-dataset cache for the whole session.
    cache = tmp_path_factory.getbasetemp() / "kerpix-cache"
    monkeypatch.setenv("KERPIX_CACHE_DIR", str(cache))


def test_dead_leaves_splits_are_fixed_and_distinct():
    a = data.to_numpy(data.load("dead_leaves", "test", num_images=4))
    b = data.to_numpy(data.load("dead_leaves", "test", num_images=4))
    v = data.to_numpy(data.load("dead_leaves", "validation", num_images=4))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 16, 16, 1) and a.dtype == np.uint8
    assert (a != v).any()


@pytest.mark.large  # slow: the large suite (CI) runs it
def test_binarized_mnist_is_the_fixed_split(shared_data_dir):
    ds = data.load("binarized_mnist", "test", data_dir=shared_data_dir)
    images = data.to_numpy(ds)
    assert images.shape == (10000, 28, 28, 1)
    assert set(np.unique(images)) == {0, 1}
    # md5 of the unpacked test array from ../shared/data/README.md.
    digest = hashlib.md5(images.reshape(-1, 784).tobytes()).hexdigest()
    assert digest == "fc34623e13bd64fed2f8b61365198339"
    assert (
        len(
            list(
                data.load(
                    "binarized_mnist", "validation", data_dir=shared_data_dir
                )
            )
        )
        == 10000
    )


@pytest.mark.large  # slow: the large suite (CI) runs it
def test_mnist_with_labels_keeps_file_order(shared_data_dir):
    ds = data.load(
        "mnist", "train[:10]", data_dir=shared_data_dir, with_labels=True
    )
    labels = [int(y) for _, y in ds]
    assert labels == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    image, _ = next(iter(ds))
    assert tuple(image.shape) == (28, 28, 1) and image.dtype.name == "uint8"


def test_missing_file_fails_at_once(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `data_dir`\. Dataset 'mnist' "
        r"needs the file 'mnist\.npz' there; not found in .*\. "
        r"Received: data_dir=",
    ):
        data.load("mnist", "train", data_dir=str(tmp_path))


def test_no_data_dir(monkeypatch):
    monkeypatch.delenv("KERPIX_DATA_DIR", raising=False)
    with pytest.raises(
        ValueError,
        match=r"Dataset 'binarized_mnist' is read from the local file "
        r"'binarized_mnist\.npz'; pass `data_dir=` \(or set KERPIX_DATA_DIR\) "
        r"to the folder that holds it\. kerpix never downloads it\.",
    ):
        data.load("binarized_mnist", "train")


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (
            ("cifar100",),
            {},
            r"Invalid value for argument `name`\. Expected one of "
            r"\['dead_leaves', 'natural_patches', 'rgb_patches', "
            r"'brick_patches', 'mnist', "
            r"'binarized_mnist', 'cifar10', 'downsampled_imagenet32', "
            r"'downsampled_imagenet64', 'pixelrnn_imagenet32', "
            r"'pixelrnn_imagenet64'\]\. Received: "
            r"name='cifar100'",
        ),
        (
            ("mnist", "validation"),
            {},
            r"Invalid value for argument `split`\. Dataset 'mnist' has splits "
            r"\['train', 'test'\]\. Received: split='validation'",
        ),
        (
            ("binarized_mnist",),
            {"with_labels": True},
            r"Invalid value for argument `with_labels`\. Only \['mnist', "
            r"'cifar10', 'downsampled_imagenet32', 'downsampled_imagenet64'\] "
            r"have "
            r"labels\. Received: with_labels=True for name='binarized_mnist'",
        ),
        (
            ("dead_leaves", "train[:10]"),
            {},
            r"Invalid value for argument `split`\. Dead leaves are generated: "
            r"set the size with `num_images` instead of a slice\. Received: "
            r"split='train\[:10\]'",
        ),
    ],
)
def test_bad_arguments(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load(*args, **kwargs)


def test_natural_patches_are_split_by_source_image():
    pytest.importorskip("skimage")
    module = importlib.import_module("kerpix.data.natural_patches")

    validation = data.natural_patches("validation", patch_size=16)
    # chelsea is 300×451: 18 × 28 disjoint 16×16 patches.
    assert validation.shape == (18 * 28, 16, 16, 1)
    assert validation.dtype == np.uint8
    again = data.to_numpy(
        data.load("natural_patches", "validation", image_shape=(16, 16, 1))
    )
    np.testing.assert_array_equal(again, validation)
    assert not set(module.SOURCES["test"]) & set(module.SOURCES["train"])
    assert not set(module.SOURCES["validation"]) & set(module.SOURCES["train"])
    # The test split is cut from the test photographs only: every patch
    # is one of the camera/coffee grid patches.
    test = data.natural_patches("test", patch_size=32, num_images=20)
    sources = [module.grey_image(name) for name in module.SOURCES["test"]]
    grid = {
        image[i : i + 32, j : j + 32].tobytes()
        for image in sources
        for i in range(0, image.shape[0] - 31, 32)
        for j in range(0, image.shape[1] - 31, 32)
    }
    assert all(patch[..., 0].tobytes() in grid for patch in test)
    # Training patches overlap by half a patch.
    train = data.natural_patches("train", patch_size=64)
    assert len(train) > 4 * 9 * 8  # >= 4× the disjoint count per image


def test_brick_patches_are_split_by_rows():
    pytest.importorskip("skimage")
    module = importlib.import_module("kerpix.data.natural_patches")
    brick = module.grey_image("brick")
    assert brick.shape == (512, 512)
    test = data.brick_patches("test", patch_size=16)
    # Rows 320-511, disjoint: 12 × 32 patches, each one of that grid.
    assert test.shape == (12 * 32, 16, 16, 1) and test.dtype == np.uint8
    grid = {
        brick[i : i + 16, j : j + 16].tobytes()
        for i in range(320, 512 - 15, 16)
        for j in range(0, 512 - 15, 16)
    }
    assert all(patch[..., 0].tobytes() in grid for patch in test)
    # Training patches come from the upper half only, half-overlapping.
    train = data.brick_patches("train", patch_size=16)
    assert len(train) == 31 * 63
    upper = {
        brick[i : i + 16, j : j + 16].tobytes()
        for i in range(0, 256 - 15, 8)
        for j in range(0, 512 - 15, 8)
    }
    assert all(patch[..., 0].tobytes() in upper for patch in train[:50])
    again = data.to_numpy(data.load("brick_patches", "validation"))
    np.testing.assert_array_equal(again, data.brick_patches("validation"))
    with pytest.raises(ValueError, match=r"`patch_size`.*\[2, 64\]"):
        data.brick_patches("validation", patch_size=65)
    with pytest.raises(ValueError, match=r"brick_patches has the splits"):
        data.brick_patches("valid")


def test_natural_patches_bad_input(monkeypatch):
    pytest.importorskip("skimage")
    with pytest.raises(ValueError, match="`patch_size`.*300"):
        data.natural_patches("train", patch_size=301)
    with pytest.raises(ValueError, match="`split`"):
        data.natural_patches("valid")
    with pytest.raises(ValueError, match=r"\(P, P, 1\)"):
        data.load("natural_patches", "test", image_shape=(16, 8, 1))
    with pytest.raises(ValueError, match="`num_images`"):
        data.natural_patches("test", num_images=0)
    # Without scikit-image: an error naming the extra.
    import builtins

    real_import = builtins.__import__

    def no_skimage(name, *args, **kwargs):
        if name.startswith("skimage"):
            raise ImportError("No module named 'skimage'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_skimage)
    with pytest.raises(ImportError, match=r"kerpix\[images\]"):
        data.natural_patches("test")


def test_rgb_patches_are_colour_and_split_by_source_image():
    pytest.importorskip("skimage")
    module = importlib.import_module("kerpix.data.rgb_patches")
    natural = importlib.import_module("kerpix.data.natural_patches")

    assert data.image_shape_of("rgb_patches") == (32, 32, 3)
    validation = data.to_numpy(data.load("rgb_patches", "validation"))
    # chelsea is 300×451: 9 × 14 disjoint 32×32 patches, colour as stored.
    assert validation.shape == (9 * 14, 32, 32, 3)
    assert validation.dtype == np.uint8
    np.testing.assert_array_equal(validation, data.rgb_patches("validation"))
    assert not np.array_equal(validation[..., 0], validation[..., 1])
    splits = [set(module.SOURCES[s]) for s in ("train", "validation", "test")]
    assert not (splits[0] & splits[1] or splits[0] & splits[2])
    assert not splits[1] & splits[2]
    # Test patches are cut from the test photograph only.
    test = data.rgb_patches("test", patch_size=16, num_images=30)
    (name,) = module.SOURCES["test"]
    image = natural.source_image(name)
    grid = {
        image[i : i + 16, j : j + 16].tobytes()
        for i in range(0, image.shape[0] - 15, 16)
        for j in range(0, image.shape[1] - 15, 16)
    }
    assert len(test) == 30 and all(p.tobytes() in grid for p in test)
    with pytest.raises(ValueError, match=r"\(P, P, 3\), e\.g\. \(32, 32, 3\)"):
        data.load("rgb_patches", "test", image_shape=(16, 16, 1))
    with pytest.raises(ValueError, match=r"`patch_size`.*\[2, 300\]"):
        data.rgb_patches("validation", patch_size=301)


@pytest.mark.parametrize("archive", [True, False])
def test_cifar10_from_the_official_python_files(tmp_path, monkeypatch, archive):
    monkeypatch.setenv("KERPIX_CACHE_DIR", str(tmp_path / "cache"))
    write_cifar10(str(tmp_path), archive)
    assert data.image_shape_of("cifar10") == (32, 32, 3)
    train = data.load(
        "cifar10", "train", data_dir=str(tmp_path), with_labels=True
    )
    pairs = list(train.as_numpy_iterator())
    assert len(pairs) == 10
    images = np.stack([p[0] for p in pairs])
    labels = np.array([p[1] for p in pairs])
    assert images.shape == (10, 32, 32, 3) and images.dtype == np.uint8
    # Channels last, in file order: image n, channel c holds 10 n + c.
    np.testing.assert_array_equal(
        images[:, 5, 7], [[10 * n, 10 * n + 1, 10 * n + 2] for n in range(10)]
    )
    np.testing.assert_array_equal(labels, np.arange(10) % 10)
    test = data.to_numpy(data.load("cifar10", "test", data_dir=str(tmp_path)))
    assert test.shape == (3, 32, 32, 3)
    assert test[0, 0, 0, 0] == 100


def test_cifar10_errors_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERPIX_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(
        ValueError,
        match=r"Dataset 'cifar10' needs the file 'cifar-10-python\.tar\.gz' "
        r"or 'cifar-10-batches-py' there",
    ):
        data.load("cifar10", "train", data_dir=str(tmp_path))
    write_cifar10(str(tmp_path), broken="data_batch_3")
    with pytest.raises(
        ValueError,
        match=r"Malformed CIFAR-10 file .*cifar-10-python\.tar\.gz'.*"
        r"'data_batch_3'",
    ):
        data.load("cifar10", "train", data_dir=str(tmp_path))
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not a tar file")
    with pytest.raises(ValueError, match=r"not a readable \.tar\.gz"):
        data.load("cifar10", "test", data_dir=str(tmp_path))
