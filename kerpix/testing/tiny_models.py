"""One registry of tiny models that every test battery builds from.

Each entry is a family class's constructor arguments at a size that runs
in a second, plus what the shared checks need to know about the family:
the receptive field its conditionals must read exactly (`causal_field`)
and whether its integer likelihood is exact (and so sums to one over
every image) or a bound (RIDE and the MCGSM dequantize).
`tests/models/tiny_models_test.py` runs causality, normalisation,
cached == naive sampling and serialization over every entry, the export
battery (`tests/export/export_test.py`) SavedModel and ONNX parity, and
`tests/sampling/samplers_test.py` its sampler checks, so a new family or
variant is tested everywhere by registering it here once:

```python
register_tiny_model(
    "pixel_cnn_wide_first_layer", "pixel_cnn", (6, 5, 1), 2,
    filters=4, num_layers=2, first_kernel_size=9,
    causal_field=pixel_cnn_field,
)
model = build_tiny_model("pixel_cnn_wide_first_layer")
rgb = build_tiny_model("pixel_cnn_wide_first_layer", image_shape=(7, 5, 3))
```
"""

import dataclasses

import keras
import numpy as np

from kerpix.models.families import FAMILIES
from kerpix.models.inputs import example_conditions
from kerpix.testing.causality import gated_receptive_field
from kerpix.testing.causality import masked_conv_receptive_field
from kerpix.testing.causality import pixel_cnn_layers
from kerpix.testing.causality import pixel_rnn_layers
from kerpix.testing.causality import ride_receptive_field
from kerpix.testing.causality import window_receptive_field


@dataclasses.dataclass(frozen=True)
class TinyModel:
    """A registered tiny model.

    Attributes:
        name: the registry key (a pytest id).
        family: key of `kerpix.models.FAMILIES`.
        image_shape: `(H, W, C)`.
        num_levels: levels per sub-pixel.
        kwargs: the family's other constructor arguments; a callable value
            is called with the image shape (e.g. a multi-scale model's
            `small_image_shape`).
        causal_field: `(kwargs, image_shape, site) -> (H, W, C)` booleans,
            the inputs `causal_fn`'s output at `site` must read exactly, or
            `None` where the family's own test file checks its causality
            (the multi-scale model reads its small image anywhere).
        causal_fn: `(model, conditions) -> fn` mapping float images to
            outputs grouped by colour; defaults to `model.compute_params`.
        exact: the integer likelihood is exact (sums to one over all
            images); `False` for a dequantized bound.
        adapt: fit the preconditioner (RIDE/MCGSM) to correlated random
            images, so it is far from the identity.
    """

    name: str
    family: str
    image_shape: tuple
    num_levels: int
    kwargs: dict
    causal_field: object = None
    causal_fn: object = None
    exact: bool = True
    adapt: bool = False

    def build(self, image_shape=None, num_levels=None, seed=0):
        """The model, its weights drawn from `seed` (the same model in
        every test, whatever ran before it)."""
        keras.utils.set_random_seed(seed)
        shape = tuple(image_shape or self.image_shape)
        kwargs = {
            key: value(shape) if callable(value) else value
            for key, value in self.kwargs.items()
        }
        model = FAMILIES[self.family](
            shape, num_levels=num_levels or self.num_levels, **kwargs
        )
        if self.adapt:
            rng = np.random.default_rng(1)
            steps = rng.integers(0, 2, (16,) + model.image_shape)
            model.adapt(np.cumsum(steps, axis=2) % model.num_levels)
        return model

    def causal_function(self, model, count=16):
        """The function `assert_causal` differentiates: float images to
        outputs whose channels split into colour groups."""
        conditions = example_conditions(model, count)
        if self.causal_fn is not None:
            return self.causal_fn(model, conditions)
        if conditions is None:
            return model.compute_params
        return lambda x: model.compute_params(x, conditions[: x.shape[0]])

    def receptive_field(self, site, image_shape=None):
        shape = tuple(image_shape or self.image_shape)
        return self.causal_field(self.kwargs, shape, site)


TINY_MODELS = {}


def register_tiny_model(name, family, image_shape, num_levels, **kwargs):
    """Register a tiny model under `name` (see `TinyModel` for the
    keywords it takes beside the family's constructor arguments)."""
    if family not in FAMILIES:
        raise ValueError(
            f"Invalid value for argument `family`. Expected one of "
            f"{sorted(FAMILIES)}. Received: family={family!r}"
        )
    if name in TINY_MODELS:
        raise ValueError(
            f"Invalid value for argument `name`: {name!r} is registered "
            "already. Pick another name."
        )
    options = {
        field.name: kwargs.pop(field.name)
        for field in dataclasses.fields(TinyModel)
        if field.name in kwargs
    }
    TINY_MODELS[name] = TinyModel(
        name, family, tuple(image_shape), num_levels, kwargs, **options
    )
    return TINY_MODELS[name]


def build_tiny_model(name, image_shape=None, num_levels=None, seed=0):
    """The registered tiny model `name`, optionally at another image shape
    or number of levels."""
    if name not in TINY_MODELS:
        raise ValueError(
            f"Invalid value for argument `name`. Expected one of "
            f"{sorted(TINY_MODELS)}. Received: name={name!r}"
        )
    return TINY_MODELS[name].build(image_shape, num_levels, seed)


def representative(family):
    """The entry named after `family` itself: its one tiny model."""
    return TINY_MODELS[family]


def example_images(model, batch_size=2, seed=0):
    """Random integer images at the model's shape and levels."""
    return np.random.default_rng(seed).integers(
        0, model.num_levels, (batch_size,) + tuple(model.image_shape)
    )


def fixed_log_prob(model, images):
    """`model.log_prob(images)` as a deterministic function of the weights:
    with example conditions for conditional models and a fixed
    dequantization (noise 0.5) for RIDE and the MCGSM, so two models with
    the same weights must give the same scores."""
    if model.dequantizes:
        return model.log_prob(images, noise=np.full(images.shape, 0.5, "f4"))
    conditions = example_conditions(model, len(images))
    return model.log_prob(images, conditional_input=conditions)


# Receptive fields, from the entry's arguments (NumPy references in
# kerpix.testing.causality).


def pixel_cnn_field(kwargs, shape, site):
    layers = pixel_cnn_layers(
        kwargs["num_layers"],
        kwargs.get("kernel_size", 3),
        kwargs.get("first_kernel_size", 7),
    )
    return masked_conv_receptive_field(layers, shape, site)


def gated_field(kwargs, shape, site):
    kernel = kwargs["kernel_size"]
    first = kwargs.get("first_kernel_size", 7)
    sizes = [first] + [kernel] * (kwargs["num_layers"] - 1)
    return gated_receptive_field(sizes, shape, site)


def pixel_rnn_field(lstm):
    def field(kwargs, shape, site):
        layers = pixel_rnn_layers(
            kwargs["num_layers"],
            lstm,
            first_kernel_size=kwargs.get("first_kernel_size", 7),
        )
        return masked_conv_receptive_field(
            layers + [("conv", 1, "B")], shape, site
        )

    return field


def ride_field(kwargs, shape, site):
    if kwargs.get("num_layers", 1):
        return ride_receptive_field(shape, site)
    return window_receptive_field(shape, site)


def every_param_in_every_group(model, conditions):
    """A logistic mixture's parameters are per pixel, not per colour: each
    must read the pixels before its own, none of its colours."""
    colors = model.image_shape[-1]

    def fn(x):
        params = model.compute_params(x)
        return keras.ops.concatenate([params] * colors, axis=-1)

    return fn


def ride_hidden_states(model, conditions):
    return model.backbone


# The registry. Names that equal a family are that family's representative.

register_tiny_model(
    "pixel_cnn",
    "pixel_cnn",
    (5, 6, 3),
    8,
    filters=6,
    num_layers=2,
    first_kernel_size=5,
    causal_field=pixel_cnn_field,
)
register_tiny_model(
    "pixel_cnn_binary",
    "pixel_cnn",
    (6, 5, 1),
    2,
    filters=4,
    num_layers=2,
    causal_field=pixel_cnn_field,
)
register_tiny_model(
    "gated_pixel_cnn",
    "gated_pixel_cnn",
    (5, 6, 3),
    8,
    filters=12,
    num_layers=3,
    kernel_size=3,
    first_kernel_size=5,
    causal_field=gated_field,
)
register_tiny_model(
    "gated_pixel_cnn_class_conditional",
    "gated_pixel_cnn",
    (5, 6, 1),
    4,
    filters=4,
    num_layers=2,
    kernel_size=3,
    num_classes=3,
    causal_field=gated_field,
)
register_tiny_model(
    "gated_pixel_cnn_vector_conditional",
    "gated_pixel_cnn",
    (4, 5, 3),
    4,
    filters=12,
    num_layers=2,
    kernel_size=3,
    conditional_shape=(2,),
    causal_field=gated_field,
)
register_tiny_model(
    "gated_pixel_cnn_spatial_conditional",
    "gated_pixel_cnn",
    (5, 6, 1),
    4,
    filters=4,
    num_layers=2,
    kernel_size=3,
    num_classes=3,
    spatial_conditioning=True,
    conditioning_filters=4,
    causal_field=gated_field,
)
register_tiny_model(
    "gated_pixel_cnn_logistic_mixture",
    "gated_pixel_cnn",
    (4, 5, 3),
    256,
    filters=6,
    num_layers=2,
    kernel_size=3,
    head="logistic_mixture",
    causal_field=lambda kwargs, shape, site: gated_field(
        kwargs, shape, site[:2] + (0,)
    ),
    causal_fn=every_param_in_every_group,
)
register_tiny_model(
    "pixel_cnn_auto_encoder",
    "pixel_cnn_auto_encoder",
    (4, 4, 1),
    2,
    code_size=3,
    filters=4,
    num_layers=2,
    kernel_size=3,
    encoder_filters=4,
    conditioning_filters=4,
    # The decoder given fixed codes (the default causal function's
    # conditions: the codes themselves read the whole image).
    causal_field=gated_field,
)
register_tiny_model(
    "row_lstm_pixel_rnn",
    "row_lstm_pixel_rnn",
    (4, 5, 3),
    4,
    units=6,
    num_layers=2,
    causal_field=pixel_rnn_field("row_lstm"),
)
register_tiny_model(
    "diagonal_bilstm_pixel_rnn",
    "diagonal_bilstm_pixel_rnn",
    (4, 5, 3),
    4,
    units=6,
    num_layers=2,
    causal_field=pixel_rnn_field("diagonal_bilstm"),
)
register_tiny_model(
    "multi_scale_pixel_rnn",
    "multi_scale_pixel_rnn",
    (4, 4, 1),
    3,
    small_image_shape=lambda shape: (shape[0] // 2, shape[1] // 2, shape[2]),
    lstm="row_lstm",
    units=2,
    num_layers=1,
    conditioning_filters=2,
    first_kernel_size=3,
)
register_tiny_model(
    "ride",
    "ride",
    (5, 6, 1),
    8,
    num_layers=2,
    num_hiddens=3,
    num_components=2,
    num_scales=2,
    num_features=2,
    causal_field=ride_field,
    causal_fn=ride_hidden_states,
    exact=False,
    adapt=True,
)
register_tiny_model(
    "mcgsm",
    "mcgsm",
    (4, 5, 1),
    4,
    num_components=2,
    num_scales=2,
    num_features=2,
    causal_field=lambda kwargs, shape, site: window_receptive_field(
        shape, site
    ),
    causal_fn=ride_hidden_states,
    exact=False,
    adapt=True,
)
