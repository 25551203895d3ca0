"""What the CLI does with a trained preset: score it on a dataset, sample
it (`kerpix evaluate/sample --preset`)."""

import os

import numpy as np

from kerpix import data as kdata
from kerpix.metrics import bits_per_dim
from kerpix.models import DensityModel
from kerpix.models.presets import read_metadata
from kerpix.models.presets import resolve_preset
from kerpix.models.presets import score_images
from kerpix.utils.image_grid import save_image_grid
from kerpix.utils.validation import validate_positive_int


def evaluate_preset(
    preset, dataset=None, split="test", data_dir=None, verbose=0
):
    """Test NLL of a preset on `split` of `dataset` (default: the one it
    was trained on, with its image shape and grey levels).

    Returns:
        `{SPLIT_nats_per_image, SPLIT_bits_per_dim, uniform_bits_per_dim}`.
    """
    path = resolve_preset(preset)
    metadata = read_metadata(path)
    model = DensityModel.from_preset(path)
    dataset = dataset or metadata.get("dataset")
    if dataset is None:
        raise ValueError(
            f"Invalid value for argument `dataset`: the preset {path!r} "
            "records no dataset; pass --dataset NAME."
        )
    kwargs = {}
    if dataset == metadata.get("dataset"):
        kwargs = dict(metadata.get("data_kwargs") or {})
        if split == (metadata.get("test") or {}).get("split"):
            kwargs["num_images"] = metadata["test"].get("num_images")
    images, labels = kdata.load_numpy(
        dataset,
        split,
        data_dir=data_dir,
        with_labels=bool(model.num_classes),
        **kwargs,
    )
    images = model.validate_images(images)
    nats = score_images(model, images, labels)
    return {
        f"{split}_nats_per_image": nats,
        f"{split}_bits_per_dim": float(bits_per_dim(nats, model.image_shape)),
        "uniform_bits_per_dim": float(np.log2(model.num_levels)),
    }


def sample_preset(
    preset,
    output=None,
    num_samples=None,
    seed=None,
    temperature=None,
    method="cached",
    verbose="auto",
):
    """Sample a preset; write the grid as PNG (`output`, default
    `PRESET_samples.png`) and the integers beside it (`.npy`). Class-
    conditional presets cycle through the classes, one per column."""
    if num_samples is not None:
        validate_positive_int("num_samples", num_samples)
    path = resolve_preset(preset)
    model = DensityModel.from_preset(path)
    num_samples = num_samples or (
        10 * model.num_classes if model.num_classes else 16
    )
    labels = None
    if model.num_classes:
        labels = np.arange(num_samples) % model.num_classes
    images = model.sample(
        num_samples,
        seed=0 if seed is None else seed,
        temperature=1.0 if temperature is None else temperature,
        conditional_input=labels,
        method=method,
        verbose=verbose,
    )
    name = os.path.basename(os.path.normpath(path))
    output = output or f"{name}_samples.png"
    np.save(os.path.splitext(output)[0] + ".npy", images)
    return save_image_grid(
        output, images, model.num_levels, columns=model.num_classes
    )
