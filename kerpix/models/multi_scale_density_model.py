"""Multi-scale density models: a small image, then the full image given it.

`MultiScaleDensityModel` composes two models through the step interface
every family shares: `small_model` (unconditional, the small image) and
`upscaling_model`, an `UpscalingDensityModel` (the full image given the
small one).
Neither is called around Python's method resolution: the multi-scale
model samples, completes and steps by calling theirs.
"""

import keras
import numpy as np
from keras import ops

from kerpix.models.density_model import DensityModel
from kerpix.models.image_density_model import ImageDensityModel
from kerpix.models.inputs import reject_conditional
from kerpix.models.inputs import split_inputs
from kerpix.models.state_layout import StateLayout
from kerpix.ops.pixels import read_pixel
from kerpix.utils.batching import map_batches
from kerpix.utils.validation import validate_images


@keras.saving.register_keras_serializable(package="kerpix")
class UpscalingDensityModel(ImageDensityModel):
    """The full image given its small image, `p(x | s)`: the second
    scale of a multi-scale model.

    The small image `s = x[:, ::f_h, ::f_w, :]` is the top-left pixel of
    every `f_h × f_w` block (`f = image / small size`). The model scores
    every other pixel in raster order given the pixels before it and all
    of `s`, which the backbone receives (preprocessed and flattened) as
    its conditioning:

        log p(x | s) = Σ_{(i,j) not in s} log p(x_ij | x_<ij, s)

    The pixels of `s` are known, so they are not scored (`image_nll`) and
    sampling keeps them. Like an auto-encoder its codes, `call(images)`
    computes `s` from the images, so `fit(images)` trains it alone; its
    `conditional_input` is small images `(N, h, w, C)` (integers).

    Args:
        backbone: a backbone with `conditional_shape == (h, w, C)`.
        head: a `kerpix.heads.PixelHead`.
        preprocessor: see `ImageDensityModel`.
    """

    conditions_on_own_images = True

    def __init__(self, backbone, head, preprocessor=None, **kwargs):
        small_shape = getattr(backbone, "conditional_shape", None)
        if small_shape is None:
            raise ValueError(
                "Invalid value for argument `backbone`. The upscaling model "
                "reads a small image: build the backbone with "
                "conditional_shape=(h, w, C). Received: a backbone without "
                "conditional_shape"
            )
        super().__init__(backbone, head, preprocessor=preprocessor, **kwargs)
        self.small_image_shape = tuple(int(d) for d in small_shape)
        height, width, _ = self.image_shape
        self.factor = (
            height // self.small_image_shape[0],
            width // self.small_image_shape[1],
        )
        grid = np.zeros((height, width), bool)
        grid[:: self.factor[0], :: self.factor[1]] = True
        # True at the pixels of the small image.
        self.small_image_grid = grid

    def subsample(self, images):
        """The small images `(N, h, w, C)` of images `(N, H, W, C)`."""
        h, w, channels = self.small_image_shape
        fh, fw = self.factor
        blocks = ops.reshape(images, (-1, h, fh, w, fw, channels))
        return ops.take(ops.take(blocks, 0, axis=4), 0, axis=2)

    def encode_conditional(self, conditional_input):
        """The backbone's conditioning: a small image (integers), in
        `[-1, 1]` and flattened."""
        small = self.preprocessor(conditional_input)
        return ops.reshape(small, (-1, self.conditional_dims))

    def call(self, inputs, training=None):
        images, small = split_inputs(inputs)
        if small is None:
            small = self.subsample(images)
        x = self.preprocessor(images)
        return self.compute_params(x, small, training=training)

    def image_nll(self, images, params):
        """`-log p(x | s)` `(N,)` in nats: the pixels outside `s`."""
        rest = ops.convert_to_tensor(~self.small_image_grid[:, :, None])
        log_prob = self.head.log_prob(images, params)
        log_prob = log_prob * ops.cast(rest, log_prob.dtype)
        return -ops.sum(log_prob, axis=(1, 2, 3))

    def log_prob(self, images, conditional_input=None, batch_size=256):
        """`log p(x | s)` in nats per image, `s` the images' own small
        images."""
        images = self.validate_images(images)
        reject_conditional(conditional_input, "conditional_input")
        return map_batches(self.compute_log_prob, [images], batch_size)

    def validate_conditional_input(self, conditional_input, batch, argument):
        """Small images `(batch, h, w, C)`, integers."""
        if conditional_input is None:
            raise ValueError(
                f"Invalid value for argument `{argument}`. The upscaling model "
                f"is sampled given small images of shape "
                f"{(batch,) + self.small_image_shape}. Received: "
                f"{argument}=None"
            )
        validate_images(
            conditional_input,
            self.small_image_shape,
            self.num_levels,
            argument,
        )
        if len(conditional_input) != batch:
            raise ValueError(
                f"Invalid value for argument `{argument}`. Expected one "
                f"small image per sample ({batch}). Received: "
                f"{len(conditional_input)} small images"
            )

    def fill_with(
        self,
        sampler,
        noise,
        conditional_input=None,
        known=None,
        verbose="auto",
        batch_size=None,
    ):
        """One raster pass given the small images (`conditional_input`),
        each kept at its pixels (with the pixels `known` marks)."""
        small = np.asarray(conditional_input).astype("int32")
        values = np.zeros((len(noise),) + self.image_shape, "int32")
        keep = np.broadcast_to(self.small_image_grid, values.shape[:3])
        if known is not None:
            values[...] = known[0]
            keep = keep | known[1].astype(bool)
        fh, fw = self.factor
        values[:, ::fh, ::fw] = small
        return super().fill_with(
            sampler,
            noise,
            conditional_input=small,
            known=(values, keep.astype("int32")),
            verbose=verbose,
            batch_size=batch_size,
        )


@keras.saving.register_keras_serializable(package="kerpix")
class MultiScaleDensityModel(DensityModel):
    """Multi-scale density model (van den Oord et al. 2016, §2.4).

    The small image `s` is the sub-grid of the image at the rows and
    columns that are multiples of the factor `(f_h, f_w)`:
    `s = x[:, ::f_h, ::f_w, :]`, the top-left pixel of every
    `f_h × f_w` block. It is part of `x`, so the likelihood is exact:

        log p(x) = log p_small(s) + Σ_{(i,j) not in s} log p(x_ij | x_<ij, s)

    `small_model` (unconditional) models `s`; `upscaling_model` (an
    `UpscalingDensityModel` over `backbone` and `head`) models every
    other pixel in raster order given the pixels before it and all of `s`
    (upsampled into every layer as a bias). The pixels of `s` are not
    predicted a second time: sampling draws `s` first, then fills the rest
    with `s` kept at its positions. This sums to 1 over all images (tested by
    enumeration on a tiny case).

    - `log_prob(images)`, `fit(images)`, `evaluate(images)`: the joint,
      `bits_per_dim` over all `H·W·C` sub-pixels.
    - `sample(n)`: `s` from `small_model`, then the rest. Sampling takes
      `num_positions = h*w + H*W` steps, one noise row each: noise
      `(N, h*w + H*W, noise_dims)`, the first `h*w` rows for the small
      image in raster order, the next `H*W` for the full image (the rows
      of the pixels of `s` are not used).
    - `sample(conditional_input=small_images)`: the full image given a
      small image (`(N, h, w, C)` integers), i.e. `p(x | s)` (the noise
      rows of the small image are not used).
    - `complete(images, mask)`: known pixels of `s` are kept in the first
      stage, all known pixels in the second.
    - `sample_step` (what exporters drive): the state holds the small
      canvas, the small model's state and the upscaling model's; steps
      `0 .. h*w - 1` are the small model's, the next `H*W` the
      upscaling model's with `s` kept at its pixels. Exported artifacts
      take images only.

    `backbone`, `head` and `preprocessor` are the upscaling model's. They
    save under those names, so `.keras` files written before the two
    scales were two models load unchanged (Keras saves each layer at the
    first attribute path it visits, in sorted order: `backbone`, `head`,
    `layers`, ... come before `upscaling_model`).

    Args:
        small_model: an unconditional `ImageDensityModel` of `(h, w, C)`.
        backbone: a backbone with `conditional_shape == (h, w, C)` (e.g.
            `PixelRNNBackbone(conditional_shape=...)`); it receives the
            preprocessed small image, flattened.
        head: a `kerpix.heads.PixelHead` with the small model's levels.
        preprocessor: see `ImageDensityModel`.

    Example:

    >>> model = kerpix.models.MultiScalePixelRNN(
    ...     (8, 8, 1), (4, 4, 1), num_levels=2, units=4, num_layers=1)
    >>> images = np.zeros((2, 8, 8, 1), "int32")
    >>> model.log_prob(images).shape
    (2,)
    >>> model.sample(2, seed=0, verbose=0).shape
    (2, 8, 8, 1)
    """

    conditions_on_own_images = True

    def __init__(
        self, small_model, backbone, head, preprocessor=None, **kwargs
    ):
        if not isinstance(small_model, ImageDensityModel) or (
            small_model.conditional_dims
        ):
            raise ValueError(
                "Invalid value for argument `small_model`. Expected an "
                "unconditional kerpix ImageDensityModel. Received: "
                f"{type(small_model).__name__} with conditional_dims="
                f"{getattr(small_model, 'conditional_dims', None)}"
            )
        small_shape = small_model.image_shape
        if getattr(backbone, "conditional_shape", None) != small_shape:
            raise ValueError(
                "Invalid value for argument `backbone`. Its "
                "conditional_shape must be the small model's image shape "
                f"{small_shape}. Received: backbone.conditional_shape="
                f"{getattr(backbone, 'conditional_shape', None)}"
            )
        if small_model.num_levels != head.num_levels:
            raise ValueError(
                "Invalid value for argument `small_model`. Both scales "
                f"model the same values: num_levels={head.num_levels}. "
                f"Received: small_model.num_levels={small_model.num_levels}"
            )
        if small_model.noise_dims != head.noise_dims:
            raise ValueError(
                "Invalid value for argument `small_model`. Both scales "
                "sample from one noise array: its head must take "
                f"noise_dims={head.noise_dims} uniforms per pixel like "
                f"`head`. Received: small_model.noise_dims="
                f"{small_model.noise_dims}"
            )
        super().__init__(backbone.image_shape, head.num_levels, **kwargs)
        self.small_model = small_model
        self.upscaling_model = UpscalingDensityModel(
            backbone, head, preprocessor, name=f"{self.name}_upscaling"
        )
        self.state_layout = StateLayout(
            [
                ("small_canvas", None),
                ("small_model", len(small_model.initial_state(1))),
                ("upscaling_model", len(self.upscaling_model.initial_state(1))),
            ]
        )
        self.built = True

    # === The upscaling model's parts ===

    @property
    def conditional_dims(self):
        return self.upscaling_model.conditional_dims

    @property
    def backbone(self):
        return self.upscaling_model.backbone

    @property
    def head(self):
        return self.upscaling_model.head

    @property
    def preprocessor(self):
        return self.upscaling_model.preprocessor

    @property
    def small_image_shape(self):
        return self.small_model.image_shape

    @property
    def factor(self):
        return self.upscaling_model.factor

    @property
    def small_image_grid(self):
        return self.upscaling_model.small_image_grid

    def subsample(self, images):
        """The small images `(N, h, w, C)` of images `(N, H, W, C)`."""
        return self.upscaling_model.subsample(images)

    def compute_params(self, x, conditional_input, training=None):
        """The upscaling model's head parameters from preprocessed images and
        small images (integers)."""
        return self.upscaling_model.compute_params(
            x, conditional_input, training=training
        )

    # === Likelihoods ===

    def call(self, inputs, training=None):
        images = split_inputs(inputs)[0]
        small_params = self.small_model(
            self.subsample(images), training=training
        )
        return small_params, self.upscaling_model(images, training=training)

    def image_nll(self, images, params):
        small_params, params = params
        small_nll = self.small_model.image_nll(
            self.subsample(images), small_params
        )
        return small_nll + self.upscaling_model.image_nll(images, params)

    def compute_log_prob(self, inputs, training=None):
        """Graph-safe `(N,)` log-likelihoods in nats of images."""
        params = self(inputs, training=training)
        return -self.image_nll(split_inputs(inputs)[0], params)

    def log_prob(self, images, conditional_input=None, batch_size=256):
        """`log p(x)` in nats per image (the joint of both scales)."""
        images = self.validate_images(images)
        reject_conditional(conditional_input, "conditional_input")
        return map_batches(self.compute_log_prob, [images], batch_size)

    # === Sampling: the small image, then the rest ===

    @property
    def passes_per_pixel(self):
        return self.upscaling_model.passes_per_pixel

    @property
    def noise_dims(self):
        return self.upscaling_model.noise_dims

    @property
    def step_conditional_dims(self):
        return 0  # the small image is sampled inside, not passed in

    @property
    def num_positions(self):
        height, width, _ = self.small_image_shape
        return height * width + self.upscaling_model.num_positions

    def validate_conditional_input(self, conditional_input, batch, argument):
        """`None` (both stages) or small images (the full image given
        them)."""
        if conditional_input is not None:
            self.upscaling_model.validate_conditional_input(
                conditional_input, batch, argument
            )

    def fill_with(
        self,
        sampler,
        noise,
        conditional_input=None,
        known=None,
        verbose="auto",
        batch_size=None,
    ):
        """The small image from the first `h*w` noise rows (unless given
        as `conditional_input`), then the upscaling model from the rest."""
        height, width, _ = self.small_image_shape
        small_noise, noise = (
            noise[:, : height * width],
            noise[:, height * width :],
        )
        small = conditional_input
        if small is None:
            small_known = None
            if known is not None:
                small_known = tuple(
                    np.ascontiguousarray(self._sub_grid(a)) for a in known
                )
            small = self.small_model.fill_with(
                sampler,
                small_noise,
                known=small_known,
                verbose=verbose,
                batch_size=batch_size,
            )
        return self.upscaling_model.fill_with(
            sampler,
            noise,
            conditional_input=small,
            known=known,
            verbose=verbose,
            batch_size=batch_size,
        )

    def _sub_grid(self, maps):
        """The small image's pixels of NumPy maps `(N, H, W, ...)`."""
        return maps[:, :: self.factor[0], :: self.factor[1]]

    def initial_state(self, batch_size):
        """The small canvas, the small model's state, the upscaling
        model's."""
        return self.state_layout.pack(
            {
                "small_canvas": ops.zeros(
                    (batch_size,) + self.small_image_shape, "int32"
                ),
                "small_model": self.small_model.initial_state(batch_size),
                "upscaling_model": self.upscaling_model.initial_state(
                    batch_size
                ),
            }
        )

    def sample_step(
        self,
        canvas,
        state,
        position,
        noise,
        temperature=1.0,
        conditional_input=None,
        known=None,
    ):
        """One sampling step (see the class docstring).

        Without `conditional_input`, `position` runs over the small image
        (`< h*w`) and then the full image. With a small image given as
        `conditional_input`, `position` is a pixel of the full image;
        `known` then marks pixels to keep.
        """
        named = self.state_layout.unpack(state)

        def full_stage(position, small, known):
            new_canvas, full = self.upscaling_model.sample_step(
                canvas,
                named["upscaling_model"],
                position,
                noise,
                temperature,
                small,
                known,
            )
            return new_canvas, self.state_layout.pack(
                {**named, "upscaling_model": full}
            )

        if conditional_input is not None:
            return full_stage(position, conditional_input, known)
        if known is not None:
            raise ValueError(
                "Invalid value for argument `known`: completion through "
                "the staged step is not supported; use `complete()`."
            )
        height, width, _ = self.small_image_shape
        position = ops.cast(position, "int32")
        small_canvas = named["small_canvas"]

        def small_stage():
            small_canvas_out, small_state = self.small_model.sample_step(
                small_canvas,
                named["small_model"],
                ops.minimum(position, height * width - 1),
                noise,
                temperature,
            )
            return canvas, self.state_layout.pack(
                {
                    **named,
                    "small_canvas": small_canvas_out,
                    "small_model": small_state,
                }
            )

        def rest():
            q = ops.maximum(position - height * width, 0)
            i, j = q // self.image_shape[1], q % self.image_shape[1]
            fh, fw = self.factor
            on_grid = ops.logical_and(i % fh == 0, j % fw == 0)
            values = read_pixel(small_canvas, i // fh, j // fw)
            keep = ops.zeros_like(values[:, 0]) + ops.cast(on_grid, "int32")
            return full_stage(q, small_canvas, (values, keep))

        # Both stages run and the position picks one: constant work per
        # step, and no conditional subgraph (export graph rule
        # `no-branches-in-step`).
        in_small = position < height * width
        small_canvas_out, small_states = small_stage()
        rest_canvas, rest_states = rest()

        def pick(a, b):
            return ops.where(in_small, a, b)

        state = tuple(map(pick, small_states, rest_states))
        return pick(small_canvas_out, rest_canvas), state

    # The upscaling model's steps on the staged state, for callers that drive
    # the second stage themselves (its small-image part passes through).

    @property
    def starts_images(self):
        return self.upscaling_model.starts_images

    @property
    def starts_rows(self):
        return self.upscaling_model.starts_rows

    def pixel_step(
        self,
        state,
        position,
        noise,
        temperature=1.0,
        conditional_input=None,
        known=None,
    ):
        """The upscaling model's step at pixel `position` given the small
        images (`conditional_input`)."""
        if conditional_input is None:
            raise ValueError(
                "Invalid value for argument `conditional_input`. "
                "MultiScaleDensityModel.pixel_step samples the full image "
                "given the small one: pass the small images (or use "
                "sample_step, which runs both stages)."
            )
        named = self.state_layout.unpack(state)
        values, full = self.upscaling_model.pixel_step(
            named["upscaling_model"],
            position,
            noise,
            temperature,
            conditional_input,
            known,
        )
        return values, self.state_layout.pack(
            {**named, "upscaling_model": full}
        )

    def start_image(self, state, conditional_input=None):
        named = self.state_layout.unpack(state)
        full = self.upscaling_model.start_image(
            named["upscaling_model"], conditional_input
        )
        return self.state_layout.pack({**named, "upscaling_model": full})

    def start_row(self, state, i, conditional_input=None):
        named = self.state_layout.unpack(state)
        full = self.upscaling_model.start_row(
            named["upscaling_model"], i, conditional_input
        )
        return self.state_layout.pack({**named, "upscaling_model": full})

    # === Config ===

    def get_config(self):
        config = super().get_config()
        config.update(
            small_model=keras.layers.serialize(self.small_model),
            backbone=keras.layers.serialize(self.backbone),
            head=keras.layers.serialize(self.head),
            preprocessor=keras.layers.serialize(self.preprocessor),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Written by versions whose multi-scale model was an
        # ImageDensityModel; always None for it.
        config.pop("num_classes", None)
        for key in ("small_model", "backbone", "head", "preprocessor"):
            config[key] = keras.layers.deserialize(config[key])
        return cls(**config)
