"""Trained models as presets, the keras-hub way.

A preset is a folder:

- `config.json`: the model, `keras.saving.serialize_keras_object(model)`;
- `model.weights.h5`: its weights (`model.save_weights`);
- `metadata.json`: what kerpix records of it: the `family` and its
  constructor arguments (`family_kwargs`, what `kerpix.models.build_model`
  takes), the dataset and split it was scored on, its test NLL in
  nats/image and bits/dim, the command that trained it, the training time
  and hardware, and the library versions.

Shipped presets live in the repository's `saved_models/presets/NAME/` (or
`$KERPIX_PRESETS_DIR/NAME/`); any folder in the same layout loads by path.

    model = kerpix.models.DensityModel.from_preset("dead_leaves_pixel_cnn")
    model.save_to_preset("my_preset", description="...")
"""

import json
import os

import keras
import numpy as np

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
# Committed presets stay small (issue-sized limits; tests enforce them).
MAX_PRESET_BYTES = 5 * 2**20
MAX_TOTAL_BYTES = 25 * 2**20


def presets_dir():
    """Where shipped presets are looked up by name: `$KERPIX_PRESETS_DIR`,
    else the repository's `saved_models/presets`."""
    default = os.path.join(
        os.path.dirname(__file__), "..", "..", "saved_models", "presets"
    )
    return os.path.abspath(os.environ.get("KERPIX_PRESETS_DIR", default))


def list_presets():
    """`{name: description}` of the shipped presets, sorted by name."""
    root = presets_dir()
    if not os.path.isdir(root):
        return {}
    found = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name, METADATA_FILE)
        if os.path.isfile(path):
            found[name] = read_metadata(os.path.join(root, name)).get(
                "description", ""
            )
    return found


def resolve_preset(name_or_path):
    """The folder of a preset name or path; `ValueError` naming the
    available presets when it is neither."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ValueError(
            "Invalid value for argument `preset`. Expected a preset name or "
            "a folder path (str). Received: "
            f"preset of type {type(name_or_path).__name__}"
        )
    name_or_path = os.fspath(name_or_path)
    if os.path.isdir(name_or_path):
        return name_or_path
    by_name = os.path.join(presets_dir(), name_or_path)
    if os.sep not in name_or_path and os.path.isdir(by_name):
        return by_name
    raise ValueError(
        "Invalid value for argument `preset`. Expected one of "
        f"{sorted(list_presets())} or a preset folder (config.json, "
        f"model.weights.h5, metadata.json). Received: "
        f"preset={name_or_path!r}"
    )


def read_metadata(path):
    """A preset folder's `metadata.json` as a dict (`ValueError` naming
    the file when it is missing or not a JSON object)."""
    return _read_json(os.path.join(path, METADATA_FILE))


def load_preset(name_or_path, family=None, load_weights=True):
    """The model of a preset (see the module docstring).

    Args:
        name_or_path: a shipped preset's name (`list_presets()`) or a
            preset folder.
        family: optional family name (a key of `kerpix.models.FAMILIES`):
            refuse a preset of another family.
        load_weights: bool. Load `model.weights.h5` (else the untrained
            architecture).

    Returns:
        The `DensityModel`.
    """
    path = resolve_preset(name_or_path)
    metadata = read_metadata(path)
    if family is not None and metadata.get("family") != family:
        raise ValueError(
            f"Invalid value for argument `preset`: {path!r} is a "
            f"{metadata.get('family')!r} preset, not a {family!r} one. "
            "Load it with kerpix.models.DensityModel.from_preset (any "
            "family) or the family's own from_preset."
        )
    config_file = os.path.join(path, CONFIG_FILE)
    config = _read_json(config_file)
    try:
        config = _as_family_class(config, metadata.get("family"))
        model = keras.saving.deserialize_keras_object(config)
    except Exception as error:  # Keras raises TypeError/KeyError/...
        raise ValueError(
            f"Invalid preset file {config_file!r}: it does not describe a "
            f"kerpix model ({type(error).__name__}: {_short(error)})."
        ) from None
    if load_weights:
        load_preset_weights(model, path)
    return model


# family name -> its class; every `DensityModel` subclass that names a
# `preset_family` registers here when it is defined (see
# `DensityModel.__init_subclass__`), so this module imports no family.
FAMILY_CLASSES = {}


def register_family(cls):
    """Record `cls` as the class of presets of `cls.preset_family`."""
    FAMILY_CLASSES[cls.preset_family] = cls
    return cls


def _as_family_class(config, family):
    """`config` naming the family's class: presets written while families
    were factory functions name the generic class (`ImageDensityModel`,
    `RIDE`), whose config the family class takes unchanged, so they load
    as `PixelCNN`, `MCGSM`, ... (the same layers, the same weights)."""
    family_class = FAMILY_CLASSES.get(family)
    if not isinstance(config, dict) or family_class is None:
        return config
    return dict(
        config,
        module=family_class.__module__,
        class_name=family_class.__name__,
        registered_name=keras.saving.get_registered_name(family_class),
    )


def load_preset_weights(model, path):
    """Load a preset folder's `model.weights.h5` into `model` (`ValueError`
    naming the file when it is missing, unreadable or of another
    architecture)."""
    weights = os.path.join(path, WEIGHTS_FILE)
    if not os.path.isfile(weights):
        raise ValueError(
            f"Invalid preset {path!r}: its weights file {weights!r} is "
            "missing. Write presets with model.save_to_preset(path)."
        )
    try:
        model.load_weights(weights)
    except Exception as error:  # h5py OSError, Keras ValueError, ...
        raise ValueError(
            f"Invalid preset file {weights!r}: its weights cannot be loaded "
            f"into the preset's model ({type(error).__name__}: "
            f"{_short(error)}). The file is corrupt or from another "
            "architecture; re-download or re-export the preset."
        ) from None


def save_to_preset(model, path, **metadata):
    """Write `model` as a preset folder at `path` (created; its three
    files replaced).

    Args:
        model: a `DensityModel`.
        path: the folder.
        **metadata: what to record beside it (`description`, `family`,
            `family_kwargs`, `dataset`, `test_nats_per_image`, ...); the
            image shape, levels, parameter count and library versions are
            added.
    """
    from kerpix.version import __version__

    os.makedirs(path, exist_ok=True)
    metadata = dict(metadata)
    metadata.update(
        image_shape=list(model.image_shape),
        num_levels=model.num_levels,
        parameters=int(model.count_params()),
        kerpix_version=__version__,
        keras_version=keras.__version__,
    )
    config = keras.saving.serialize_keras_object(model)
    _write_json(os.path.join(path, CONFIG_FILE), config)
    model.save_weights(os.path.join(path, WEIGHTS_FILE), overwrite=True)
    _write_json(os.path.join(path, METADATA_FILE), metadata)
    return path


def score_images(model, images, conditional_input=None):
    """Mean negative log-likelihood in nats/image of `images` (what a
    preset's metadata records for its test split and slice)."""
    if conditional_input is None:  # RIDE's log_prob takes none
        log_prob = model.log_prob(images)
    else:
        log_prob = model.log_prob(images, conditional_input=conditional_input)
    return float(-np.mean(np.asarray(log_prob, "float64")))


def _read_json(path):
    if not os.path.isfile(path):
        raise ValueError(
            f"Invalid preset: {path!r} is missing. A preset folder holds "
            "config.json, model.weights.h5 and metadata.json."
        )
    try:
        with open(path) as f:
            content = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"Invalid preset file {path!r}: not readable JSON "
            f"({type(error).__name__}: {_short(error)})."
        ) from None
    if not isinstance(content, dict):
        raise ValueError(
            f"Invalid preset file {path!r}: expected a JSON object. "
            f"Received a JSON {type(content).__name__}."
        )
    return content


def _write_json(path, content):
    with open(path, "w") as f:
        json.dump(content, f, indent=2)
        f.write("\n")


def _short(error, limit=200):
    text = str(error).splitlines()[0] if str(error) else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
