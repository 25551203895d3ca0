import hashlib
import importlib

import numpy as np
import pytest

from kerpix import data

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
        r"needs the file 'mnist\.npz' there; not found at .*mnist\.npz'\. "
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
            ("cifar10",),
            {},
            r"Invalid value for argument `name`\. Expected one of "
            r"\['dead_leaves', 'natural_patches', 'mnist', "
            r"'binarized_mnist'\]\. Received: "
            r"name='cifar10'",
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
            r"Invalid value for argument `with_labels`\. Only 'mnist' has "
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
