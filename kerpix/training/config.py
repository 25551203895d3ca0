"""Training configuration: a locked dataclass per section, JSON on disk.

A config file (or built-in preset under `kerpix/training/configs/`) has
the sections below; any key not listed is an error naming the key, so a
typo never silently falls back to a default.
"""

import dataclasses
import json
import os
import re

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "configs")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    # Model family, a key of kerpix.models.FAMILIES.
    family: str = "pixel_cnn"
    # Keyword arguments of the family's factory (filters, num_layers, ...).
    kwargs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    # Dataset name for kerpix.data.load: dead_leaves, natural_patches,
    # rgb_patches, mnist, binarized_mnist, cifar10, downsampled_imagenet32,
    # downsampled_imagenet64.
    name: str = "dead_leaves"
    # Folder holding mnist.npz / binarized_mnist.npz / the CIFAR-10 archive
    # (or $KERPIX_DATA_DIR).
    data_dir: str = None
    # Dead leaves / natural patches only: (H, W, C) of the images.
    image_shape: tuple = None
    # Dead leaves only: distinct grey levels of the disks (2..256).
    num_grey_levels: int = 256
    # Split names (any tensorflow-datasets slice for file-backed data).
    train_split: str = "train"
    validation_split: str = "validation"
    test_split: str = "test"
    # Dead leaves / natural patches only: images per split (None =
    # defaults).
    num_train: int = None
    num_validation: int = None
    num_test: int = None


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    # Epochs of `steps_per_epoch` batches.
    epochs: int = 10
    # Batch size per replica; the global batch is this × replicas.
    batch_size: int = 32
    # Adam learning rate (of the global batch; see scale_learning_rate).
    learning_rate: float = 1e-3
    # Multiply the learning rate by the number of replicas (linear rule).
    scale_learning_rate: bool = False
    # "constant", "exponential" (× learning_rate_decay every step, as
    # PixelCNN++ with 0.999995) or "cosine" (to 0 over all steps).
    learning_rate_schedule: str = "constant"
    learning_rate_decay: float = 0.999995
    # Step decay on top of the schedule: [[step, factor], ...] multiplies
    # the rate by each factor from its step on (e.g. [[42000, 0.3]]).
    learning_rate_drops: tuple = ()
    # Clip gradients to this global norm (None = no clipping).
    clip_norm: float = None
    # Polyak averaging: EMA of the weights with this decay (PixelCNN++:
    # 0.9995), used for validation, checkpoints, evaluation and export.
    ema_decay: float = None
    # "float32", "mixed_float16" or "mixed_bfloat16" (heads stay float32);
    # kerpix evaluate/sample/export load the run's model.keras under it.
    precision: str = "float32"
    # Seed of weights, shuffling and sampling.
    seed: int = 0
    # Batches per epoch (None = one pass over the training split).
    steps_per_epoch: int = None
    # XLA compilation; off by default (slower than graph mode on CPU).
    jit_compile: bool = False
    # Optional wall-clock budget: stop after the batch that exceeds it
    # (after the epoch with several processes or workers).
    max_minutes: float = None
    # Stop when validation bits/dim has not improved for this many epochs.
    early_stopping_patience: int = None
    # kerpix.training.get_strategy name: "auto", "default", "mirrored",
    # "multi_worker" (TF_CONFIG), "tpu"; JAX: "auto", "default",
    # "data_parallel".
    strategy: str = "default"
    # Split the CPU into this many logical devices first (None = no
    # split): MirroredStrategy on a machine without GPUs.
    logical_cpus: int = None
    # Deterministic TensorFlow ops (bitwise-reproducible CPU runs).
    deterministic: bool = False
    # Keep a backup every epoch; a killed run resumes from it.
    backup: bool = True
    # TensorBoard logs in WORKDIR/logs (scalars and sample grids).
    tensorboard: bool = True
    # Write a sample grid every this many epochs (None = never).
    sample_every_epochs: int = None


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    # Images in the sample grid written by `kerpix sample`.
    num_samples: int = 16
    # Seed of the sampling noise.
    seed: int = 0
    # Divides the logits; 0 takes the mode.
    temperature: float = 1.0


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    sampling: SamplingConfig = dataclasses.field(default_factory=SamplingConfig)
    # What the preset is and where its numbers come from (paper, hardware).
    description: str = ""

    @classmethod
    def from_dict(cls, config):
        """Build from nested dicts; unknown keys raise `ValueError`."""
        if not isinstance(config, dict):
            raise ValueError(
                "Invalid config: expected a JSON object with sections "
                f"{_field_names(cls)}. Received: {type(config).__name__}"
            )
        sections = {}
        for key, value in config.items():
            if key == "description":
                if not isinstance(value, str):
                    raise ValueError(
                        "Invalid value for config key `description`: "
                        f"expected a string. Received: {value!r}"
                    )
                sections[key] = value
                continue
            section_cls = _section_types().get(key)
            if section_cls is None:
                raise ValueError(
                    f"Unknown config key `{key}`. Known sections: "
                    f"{_field_names(cls)}."
                )
            if not isinstance(value, dict):
                raise ValueError(
                    f"Invalid value for config key `{key}`: expected an "
                    f"object. Received: {value!r}"
                )
            for sub in value:
                if sub not in _field_names(section_cls):
                    raise ValueError(
                        f"Unknown config key `{key}.{sub}`. Known keys of "
                        f"`{key}`: {_field_names(section_cls)}."
                    )
            for sub, item in value.items():
                _check_type(key, sub, _field_types(section_cls)[sub], item)
            sections[key] = section_cls(**value)
        return cls(**sections)

    @classmethod
    def from_file(cls, path_or_preset):
        """Load a JSON file, or a built-in preset by name."""
        path = path_or_preset
        if not os.path.isfile(path):
            preset = os.path.join(CONFIG_DIR, f"{path_or_preset}.json")
            if not os.path.isfile(preset):
                raise ValueError(
                    "Invalid value for argument `config`. Expected a JSON "
                    f"file or one of the presets {list_presets()}. Received: "
                    f"config={path_or_preset!r}"
                )
            path = preset
        with open(path) as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"Invalid config file {path!r}: not valid JSON ({error})."
                ) from None
        return cls.from_dict(data)

    def to_dict(self):
        return dataclasses.asdict(self)

    def override(self, assignments):
        """Return a copy with `section.key=value` strings applied.

        Values are parsed as JSON when possible (`3`, `1e-3`, `[16, 16,
        1]`, `null`), else kept as strings. `model.<name>=v` sets a factory
        argument.
        """
        config = self.to_dict()
        for assignment in assignments:
            if "=" not in assignment:
                raise ValueError(
                    "Invalid value for argument `override`. Expected "
                    f"section.key=value. Received: {assignment!r}"
                )
            path, raw = assignment.split("=", 1)
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
            keys = path.split(".")
            if (
                keys[0] == "model"
                and len(keys) == 2
                and keys[1]
                not in (
                    "family",
                    "kwargs",
                )
            ):
                keys = ["model", "kwargs", keys[1]]
            target = config
            for key in keys[:-1]:
                if not isinstance(target.get(key), dict):
                    raise ValueError(
                        f"Unknown config key `{path}` in override "
                        f"{assignment!r}."
                    )
                target = target[key]
            if keys[-2:-1] != ["kwargs"] and keys[-1] not in target:
                raise ValueError(
                    f"Unknown config key `{path}` in override {assignment!r}."
                )
            target[keys[-1]] = value
        return TrainConfig.from_dict(config)


def list_presets():
    return sorted(
        name[:-5] for name in os.listdir(CONFIG_DIR) if name.endswith(".json")
    )


def describe_presets():
    """`{preset: first sentence of its description}` of every preset."""
    out = {}
    for name in list_presets():
        description = TrainConfig.from_file(name).description
        # The first sentence ("et al." does not end one).
        out[name] = re.split(r"(?<!\bal)\.(\s|$)", description)[0]
    return out


def _section_types():
    return {
        f.name: f.default_factory
        for f in dataclasses.fields(TrainConfig)
        if f.name != "description"
    }


# A config value's JSON types by the field's annotation (None is always
# allowed: "unset", the default of the optional keys).
_JSON_TYPES = {
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
    bool: ((bool,), "true or false"),
    str: ((str,), "a string"),
    tuple: ((list, tuple), "a list"),
    dict: ((dict,), "an object"),
}


def _check_type(section, key, annotation, value):
    """Raise `ValueError` naming `section.key` when `value` is not of the
    field's type (e.g. `training.epochs=one`), before anything runs."""
    if value is None or annotation not in _JSON_TYPES:
        return
    types, expected = _JSON_TYPES[annotation]
    if isinstance(value, bool) and annotation is not bool:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        raise ValueError(
            f"Invalid value for config key `{section}.{key}`: expected "
            f"{expected}. Received: {value!r}"
        )


def _field_types(cls):
    return {f.name: f.type for f in dataclasses.fields(cls)}


def _field_names(cls):
    return [f.name for f in dataclasses.fields(cls)]
