import keras
import numpy as np
from keras import ops

from kerpix.models.density_model import DensityModel
from kerpix.models.image_density_model import ImageDensityModel
from kerpix.models.inputs import reject_conditional
from kerpix.models.inputs import split_inputs
from kerpix.models.state_layout import StateLayout
from kerpix.ops.pixels import read_pixel
from kerpix.sampling import get_sampler
from kerpix.utils.batching import map_batches
from kerpix.utils.validation import validate_images


@keras.saving.register_keras_serializable(package="kerpix")
class MultiScaleDensityModel(ImageDensityModel):
    """Multi-scale density model (van den Oord et al. 2016, §2.4).

    The small image `s` is the sub-grid of the image at the rows and
    columns that are multiples of the factor `(f_h, f_w)`:
    `s = x[:, ::f_h, ::f_w, :]`, the top-left pixel of every
    `f_h × f_w` block. It is part of `x`, so the likelihood is exact:

        log p(x) = log p_small(s) + Σ_{(i,j) not in s} log p(x_ij | x_<ij, s)

    `small_model` (unconditional) models `s`; the conditional backbone and
    head model every other pixel in raster order given the pixels before
    it and all of `s` (upsampled into every layer as a bias). The pixels
    of `s` are not predicted a second time: sampling draws `s` first, then
    fills the rest with `s` kept at its positions. This sums to 1 over all
    images (tested by enumeration on a tiny case).

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
      canvas, the small model's state and the full backbone's; steps
      `0 .. h*w - 1` draw `s`, the next `H*W` the full image with `s`
      kept at its pixels. Exported artifacts take images only.

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
        self.small_model = small_model
        super().__init__(backbone, head, preprocessor=preprocessor, **kwargs)
        height, width, _ = self.image_shape
        self.factor = (height // small_shape[0], width // small_shape[1])
        grid = np.zeros((height, width), bool)
        grid[:: self.factor[0], :: self.factor[1]] = True
        # True at the pixels of the small image.
        self.small_image_grid = grid
        # Tensors of the small model's sampling state (inside this one's).
        self.small_state_size = len(small_model.initial_state(1))

    @property
    def small_image_shape(self):
        return self.small_model.image_shape

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
        images = split_inputs(inputs)[0]
        small = self.subsample(images)
        small_params = self.small_model(small, training=training)
        params = self.compute_params(
            self.preprocessor(images), small, training=training
        )
        return small_params, params

    def image_nll(self, images, params):
        small_params, params = params
        small_nll = self.small_model.image_nll(
            self.subsample(images), small_params
        )
        rest = ops.convert_to_tensor(~self.small_image_grid[:, :, None])
        log_prob = self.head.log_prob(images, params)
        log_prob = log_prob * ops.cast(rest, log_prob.dtype)
        return small_nll - ops.sum(log_prob, axis=(1, 2, 3))

    def log_prob(self, images, conditional_input=None, batch_size=256):
        """`log p(x)` in nats per image (the joint of both scales)."""
        images = self.validate_images(images)
        reject_conditional(conditional_input, "conditional_input")
        return map_batches(self.compute_log_prob, [images], batch_size)

    # === Sampling: the small image, then the rest ===

    @property
    def step_conditional_dims(self):
        return 0  # the small image is sampled inside, not passed in

    @property
    def num_positions(self):
        height, width, _ = self.small_image_shape
        return height * width + super().num_positions

    def initial_state(self, batch_size):
        """The small canvas, the small model's state, the backbone's."""
        small = ops.zeros((batch_size,) + self.small_image_shape, "int32")
        return (
            (small,)
            + tuple(self.small_model.initial_state(batch_size))
            + tuple(self.backbone.initial_state(batch_size))
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
        `conditional_input` (`sample(conditional_input=...)`, and the
        second stage of `sample`/`complete` in Keras), `position` is a
        pixel of the full image; `known` then marks pixels to keep.
        """
        (small_canvas, *small_state), full_state = self._split_state(state)
        small_state = tuple(small_state)

        def full_stage(position, small, known):
            # The full image's step (with its image and row starts) on the
            # staged state; the small image's part passes through.
            return DensityModel.sample_step(
                self, canvas, state, position, noise, temperature, small, known
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

        def small_stage():
            last = height * width - 1
            new_small, new_state = self.small_model.sample_step(
                small_canvas,
                small_state,
                ops.minimum(position, last),
                noise,
                temperature,
            )
            return canvas, (new_small,) + tuple(new_state) + full_state

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

    def pixel_step(
        self,
        state,
        position,
        noise,
        temperature=1.0,
        conditional_input=None,
        known=None,
    ):
        """The full image's step at pixel `position` given the small
        images (`conditional_input`), as `sample` and `complete` run it
        after sampling the small image; the staged state's small-image
        part passes through."""
        if conditional_input is None:
            raise ValueError(
                "Invalid value for argument `conditional_input`. "
                "MultiScaleDensityModel.pixel_step samples the full image "
                "given the small one: pass the small images (or use "
                "sample_step, which runs both stages)."
            )
        small, full = self._split_state(state)
        values, full = ImageDensityModel.pixel_step(
            self, full, position, noise, temperature, conditional_input, known
        )
        return values, small + tuple(full)

    def start_image(self, state, conditional_input=None):
        small, full = self._split_state(state)
        full = ImageDensityModel.start_image(self, full, conditional_input)
        return small + tuple(full)

    def start_row(self, state, i, conditional_input=None):
        small, full = self._split_state(state)
        full = ImageDensityModel.start_row(self, full, i, conditional_input)
        return small + tuple(full)

    @property
    def state_layout(self):
        """The staged state: the small canvas, the small model's state,
        the full image's (its backbone's)."""
        return StateLayout(
            [
                ("small_canvas", None),
                ("small_model", self.small_state_size),
                ("full", len(self.backbone.state_layout)),
            ]
        )

    def _split_state(self, state):
        """The staged state's small image part (canvas and the small
        model's state) and its full image part (the backbone's)."""
        named = self.state_layout.unpack(state)
        return (named["small_canvas"],) + named["small_model"], named["full"]

    def _run_sampler(
        self,
        num_samples,
        noise,
        seed,
        temperature,
        conditional_input,
        method,
        verbose,
        known=None,
        batch_size=None,
    ):
        sampler = get_sampler(method, temperature=temperature, seed=seed)
        small = conditional_input
        if small is not None:  # p(x | s) for given small images
            small = validate_images(
                small,
                self.small_image_shape,
                self.num_levels,
                "conditional_input",
            )
            if num_samples is None and noise is None:
                num_samples = len(small)
        noise = sampler.make_noise(self, num_samples, noise)
        height, width, _ = self.small_image_shape
        small_noise, noise = (
            noise[:, : height * width],
            noise[:, height * width :],
        )
        if small is None:
            small_known = None
            if known is not None:
                small_known = tuple(
                    np.ascontiguousarray(self._sub_grid(a)) for a in known
                )
            small = sampler(
                self.small_model,
                noise=small_noise,
                verbose=verbose,
                known=small_known,
                batch_size=batch_size,
            )
        elif len(small) != len(noise):
            raise ValueError(
                "Invalid value for argument `conditional_input`. Expected "
                f"one small image per sample ({len(noise)}). Received: "
                f"{len(small)} small images"
            )
        small = small.astype("int32")
        values = np.zeros((len(noise),) + self.image_shape, "int32")
        keep = np.broadcast_to(self.small_image_grid, values.shape[:3])
        if known is not None:
            values[...] = known[0]
            keep = keep | known[1].astype(bool)
        fh, fw = self.factor
        values[:, ::fh, ::fw] = small
        return sampler.fill(
            self,
            noise,
            verbose=verbose,
            conditional_input=small,
            known=(values, keep.astype("int32")),
            batch_size=batch_size,
        )

    def _sub_grid(self, maps):
        """The small image's pixels of NumPy maps `(N, H, W, ...)`."""
        return maps[:, :: self.factor[0], :: self.factor[1]]

    def get_config(self):
        config = super().get_config()
        config["small_model"] = keras.layers.serialize(self.small_model)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["small_model"] = keras.layers.deserialize(config["small_model"])
        return super().from_config(config)
