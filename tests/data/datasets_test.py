import hashlib

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
            r"\['dead_leaves', 'mnist', 'binarized_mnist'\]\. Received: "
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
