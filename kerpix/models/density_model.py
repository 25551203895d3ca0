"""`DensityModel`: the public API every kerpix density model shares."""

import keras
import numpy as np
from keras import ops

from kerpix.losses import BatchMean
from kerpix.metrics import BitsPerDim
from kerpix.models.inputs import CONDITIONAL_INPUT
from kerpix.models.inputs import IMAGES
from kerpix.models.inputs import prepare_training_data
from kerpix.models.inputs import split_inputs
from kerpix.models.inputs import validate_conditional
from kerpix.models.inputs import validate_mask
from kerpix.models.presets import load_preset
from kerpix.models.presets import register_family
from kerpix.models.presets import save_to_preset
from kerpix.ops.loops import cond_update
from kerpix.ops.pixels import raster_indices
from kerpix.ops.pixels import update_pixel
from kerpix.sampling import get_sampler
from kerpix.utils.batching import map_batches
from kerpix.utils.validation import validate_images


class DensityModel(keras.Model):
    """Base class of every kerpix density model (PixelCNN, Gated PixelCNN,
    PixelRNN, multi-scale, auto-encoder, RIDE/MCGSM).

    A density model scores and samples images `(H, W, C)` autoregressively.
    A family implements:

    - `call(inputs)`: what its loss reads (head parameters, or
      log-likelihoods), and `image_nll(images, outputs)`: the `(N,)`
      negative log-likelihoods in nats from those outputs;
    - `compute_log_prob(inputs)`: graph-safe `(N,)` log-likelihoods;
    - the step interface of sampling: `initial_state(batch_size)` and
      `pixel_step(state, position, noise, temperature, conditional_input,
      known) -> (values, state)`, over `num_positions` steps each taking
      `noise_dims` uniforms; `sample_step` (what exporters trace) writes
      the values into a canvas. A model sampled in stages (the
      multi-scale model) composes its stages' models in `fill_with`.

    This class turns those into the public API: `log_prob`, `sample`,
    `complete`, `fit`/`evaluate` on the NLL with a bits/dim metric,
    `adapt`, and the facts exporters and trainers ask for
    (`dequantizes`, `step_conditional_dims`, `validate_exportable`).
    `compile()` takes no loss: training always minimises the NLL in
    nats/image, and a `.keras` file restores the optimizer alone.

    Args:
        image_shape: `(H, W, C)`.
        num_levels: int, values per sub-pixel; `None` for models of float
            images (a float RIDE).
        metric_name: name of the bits/dim metric. Defaults to
            `"bits_per_dim"`.
    """

    # Class labels are one-hot encoded for `num_classes` classes (None:
    # conditioning vectors are passed as they are, or none at all).
    num_classes = None
    # Size of the conditioning vector (0 or None: unconditional).
    conditional_dims = 0
    # True when the conditioning is computed from the images themselves
    # (an auto-encoder's codes, a multi-scale model's small image):
    # training data is then images only.
    conditions_on_own_images = False
    # An auto-encoder's encoder (its exporters add an `encode` endpoint).
    encoder = None
    # Sampler names `sample(method=...)` accepts.
    sampling_methods = ("cached", "naive")
    # The family (a key of `kerpix.models.FAMILIES`) whose presets this
    # class's `from_preset` loads; None: any family.
    preset_family = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "preset_family" in cls.__dict__ and cls.preset_family:
            register_family(cls)  # from_preset builds presets as `cls`

    def __init__(
        self, image_shape, num_levels, metric_name="bits_per_dim", **kwargs
    ):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.num_levels = num_levels
        self.bits_per_dim_tracker = BitsPerDim(
            self.image_shape, name=metric_name
        )
        self._batch_mean = BatchMean()

    # === Presets ===

    @classmethod
    def from_preset(cls, preset, load_weights=True):
        """A trained model from a preset (`kerpix.models.list_presets()`)
        or a preset folder (`config.json`, `model.weights.h5`,
        `metadata.json`; see `kerpix.models.presets`).

        `DensityModel.from_preset` loads any family; a family's own
        (`RIDE.from_preset`, `kerpix.models.PixelCNN.from_preset`, ...)
        refuses a preset of another family with a `ValueError`, as it does
        a missing or corrupt file.

        Args:
            preset: str, a preset name or folder.
            load_weights: bool. Defaults to `True`.
        """
        model = load_preset(
            preset, family=cls.preset_family, load_weights=load_weights
        )
        if not isinstance(model, cls):
            raise ValueError(
                f"Invalid value for argument `preset`: {preset!r} holds a "
                f"{type(model).__name__}, not a {cls.__name__}."
            )
        return model

    def save_to_preset(self, path, **metadata):
        """Write this model as a preset folder at `path`: `config.json`,
        `model.weights.h5`, and `metadata.json` holding `metadata`
        (`description`, `family`, `family_kwargs`, `dataset`, test NLL,
        command, ...) plus its shape, levels, parameter count and
        versions. Returns `path`."""
        return save_to_preset(self, path, **metadata)

    # === What exporters and trainers ask ===

    @property
    def dequantizes(self):
        """Whether `log_prob` is a bound over dequantization noise (its
        exported `log_prob` endpoint then takes that noise)."""
        return False

    @property
    def step_conditional_dims(self):
        """Size of the `conditional_input` that `sample_step` and the
        exported endpoints take (0: none)."""
        return self.conditional_dims or 0

    @property
    def num_positions(self):
        """Sampling steps per image (one per pixel in raster order)."""
        return self.image_shape[0] * self.image_shape[1]

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
        """`pixel_step`, its values written into `canvas` `(N, H, W, C)` at
        `position` (raster index `i*W + j`, may be a traced scalar): the
        step the exported `sample_step` endpoints and the exported `sample`
        loops run (Keras's samplers collect `pixel_step`'s
        values row by row instead). Returns `(canvas, state)`."""
        values, state = self.step_with_starts(
            state, position, noise, temperature, conditional_input, known
        )
        i, j = raster_indices(position, self.image_shape[1])
        canvas = update_pixel(canvas, i, j, self.to_images(values))
        return canvas, state

    def step_with_starts(
        self,
        state,
        position,
        noise,
        temperature=1.0,
        conditional_input=None,
        known=None,
    ):
        """`pixel_step` preceded, under graph conditionals, by the image
        and row starts that samplers run outside their per-pixel loop
        (`start_image` at position 0, `start_row` at each row's first
        pixel): for callers that drive single positions (exports)."""
        position = ops.cast(position, "int32")
        i, j = raster_indices(position, self.image_shape[1])
        if self.starts_images:
            state = cond_update(
                ops.equal(position, 0),
                lambda state: self.start_image(state, conditional_input),
                state,
                narrow=self.narrow_start_conditionals,
            )
        if self.starts_rows:
            state = cond_update(
                ops.equal(j, 0),
                lambda state: self.start_row(state, i, conditional_input),
                state,
                narrow=self.narrow_start_conditionals,
            )
        return self.pixel_step(
            state, position, noise, temperature, conditional_input, known
        )

    # Whether `start_image` / `start_row` do any work (see `Backbone`).
    starts_images = False
    starts_rows = False
    # Whether `step_with_starts` passes only the entries they replace
    # through its conditionals (see `kerpix.ops.loops.cond_update`).
    narrow_start_conditionals = True

    def start_image(self, state, conditional_input=None):
        """The sampling state before the first pixel: maps computed once
        per image from the conditioning (unchanged by default)."""
        return tuple(state)

    def start_row(self, state, i, conditional_input=None):
        """The sampling state before pixel `(i, 0)`: work done once per
        row (unchanged by default)."""
        return tuple(state)

    # The dtype of `pixel_step`'s values (what samplers collect).
    sample_dtype = "int32"

    def to_images(self, values):
        """Integer image values of what `pixel_step` returns (the same,
        but for RIDE's continuous values)."""
        return values

    def pixel_step(
        self,
        state,
        position,
        noise,
        temperature=1.0,
        conditional_input=None,
        known=None,
    ):
        """Draw pixel `position` from the sampling `state`: returns its
        values `(N, C)` (integers) and the updated state. Families
        implement it; its work must not grow with the image."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement pixel_step(state, "
            "position, noise, temperature, conditional_input, known)"
        )

    def validate_exportable(self):
        """Raise `ValueError` if the exported signatures cannot express
        this model: they take and return integer images."""
        if self.num_levels is None:
            raise ValueError(
                "Invalid value for argument `model`. The exported endpoints "
                "take and return integer images; a float "
                f"{type(self).__name__} (num_levels=None) is not exportable "
                "yet. Use it in Keras, or build the model with num_levels "
                "set."
            )

    def adapt(self, images, seed=0):
        """Fit data-dependent layers to training `images` before training
        (RIDE's preconditioner); families without any do nothing."""
        del images, seed

    # === Checks ===

    def validate_images(self, images, argument="images"):
        """`images` as NumPy if they are a valid batch for this model;
        raises `ValueError` naming `argument` otherwise."""
        return validate_images(
            images, self.image_shape, self.num_levels, argument
        )

    # === Likelihoods ===

    def log_prob(self, images, conditional_input=None, batch_size=256):
        """Log-likelihood in nats of each image, NumPy `(N,)` float32.

        Args:
            images: integer array `(N, H, W, C)` with values in
                `[0, num_levels)`.
            conditional_input: class labels `(N,)` (models with
                `num_classes`), vectors `(N, conditional_dims)`, or `None`
                for unconditional models.
            batch_size: int. Images per forward pass. Defaults to `256`.
        """
        images = self.validate_images(images)
        self.validate_conditional_input(
            conditional_input, len(images), "conditional_input"
        )
        if conditional_input is not None:
            conditional_input = np.asarray(conditional_input)

        def log_prob(images, conditional_input):
            inputs = images
            if conditional_input is not None:
                inputs = {IMAGES: images, CONDITIONAL_INPUT: conditional_input}
            return self.compute_log_prob(inputs)

        return map_batches(log_prob, [images, conditional_input], batch_size)

    # === Sampling and completion ===

    def sample(
        self,
        num_samples=None,
        seed=None,
        noise=None,
        temperature=1.0,
        conditional_input=None,
        method="cached",
        verbose="auto",
        batch_size=None,
    ):
        """Draw integer images `(num_samples, H, W, C)` (NumPy int32).

        Args:
            num_samples: int. Number of images; optional when `noise` is
                given.
            seed: int or `None`. Seed of the uniform noise.
            noise: optional float array `(N, num_positions, noise_dims)`
                of uniforms in `[0, 1)` (`num_positions = H*W` but for the
                multi-scale model); overrides `seed`.
            temperature: float >= 0. Divides the logits; `0` takes the
                mode of every conditional. Defaults to `1.0`.
            conditional_input: class labels `(N,)` or vectors
                `(N, conditional_dims)` of conditional models, one per
                sample (`num_samples` defaults to their number); `None`
                for unconditional models.
            method: `"cached"` (`pixel_step`: one step of the network
                per pixel) or `"naive"` (re-run the whole network for every
                sub-pixel). Both give the same images for the same noise
                (see the README's sampling section for the logistic
                mixture's exception). Defaults to `"cached"`.
            verbose: `"auto"`, `0` or `1`: progress bar over rows.
            batch_size: int or `None`. Images sampled at once; the
                default (`Sampler.default_batch_size`) is at most 256 and
                keeps a chunk's sampler state under 1 GiB. Chunks change no
                image: each depends only on its own noise.
        """
        return self._run_sampler(
            num_samples,
            noise,
            seed,
            temperature,
            conditional_input,
            method,
            verbose,
            batch_size=batch_size,
        )

    def complete(
        self,
        images,
        mask,
        seed=None,
        temperature=1.0,
        conditional_input=None,
        method="cached",
        verbose="auto",
        batch_size=None,
    ):
        """Fill the unknown pixels of `images`, conditioned on the known.

        Pixels are visited in raster order: a known pixel (`mask` true)
        keeps its value, every other one is drawn from the model's
        conditional given everything before it, so a completion is a
        sample of `p(x_unknown | x_known before it)`; with the known part
        above (e.g. the upper half), it is the paper's image completion.

        Args:
            images: integer array `(N, H, W, C)`; values under `mask=False`
                are ignored.
            mask: boolean `(H, W)` (every image) or `(N, H, W)`: the known
                pixels.
            seed, temperature, conditional_input, method, verbose,
                batch_size: as in `sample`.

        Returns:
            NumPy int32 `(N, H, W, C)`.
        """
        if self.num_levels is None:
            raise ValueError(
                "Invalid value for argument `images`: completion is for "
                "integer models (num_levels set). Received a float model."
            )
        images = self.validate_images(images)
        mask = validate_mask(mask, self.image_shape, len(images))
        return self._run_sampler(
            len(images),
            None,
            seed,
            temperature,
            conditional_input,
            method,
            verbose,
            known=(images.astype("int32"), mask.astype("int32")),
            batch_size=batch_size,
        )

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
        """Check the conditioning and run the sampler of `method` (shared
        by `sample` and `complete`)."""
        if method not in self.sampling_methods:
            raise ValueError(
                "Invalid value for argument `method`. Expected one of "
                f"{list(self.sampling_methods)}. Received: method={method!r}"
            )
        if conditional_input is not None:
            conditional_input = np.asarray(conditional_input)
            if num_samples is None and noise is None:
                num_samples = len(conditional_input)
        batch = num_samples if noise is None else len(noise)
        self.validate_conditional_input(
            conditional_input, batch, "conditional_input"
        )
        sampler = get_sampler(method, temperature=temperature, seed=seed)
        noise = sampler.make_noise(self, num_samples, noise)
        values = self.fill_with(
            sampler,
            noise,
            conditional_input=conditional_input,
            known=known,
            verbose=verbose,
            batch_size=batch_size,
        )
        return self.samples_from_values(values)

    def validate_conditional_input(self, conditional_input, batch, argument):
        """Raise `ValueError` naming `argument` unless `conditional_input`
        is this model's conditioning for `batch` images (class labels,
        vectors, or `None` for an unconditional model)."""
        validate_conditional(self, conditional_input, batch, argument)

    def fill_with(
        self,
        sampler,
        noise,
        conditional_input=None,
        known=None,
        verbose="auto",
        batch_size=None,
    ):
        """The values `sampler` draws for this model from `noise` (checked
        by `sampler.make_noise`): one raster pass over the image. A model
        sampled in stages (the multi-scale model: its small image, then the
        rest) runs each stage's model here."""
        return sampler.fill(
            self,
            noise,
            verbose=verbose,
            conditional_input=conditional_input,
            known=known,
            batch_size=batch_size,
        )

    def samples_from_values(self, values):
        """What `sample` returns from the values samplers collect: the
        integer images (RIDE: the levels of its values, or the values of
        a float RIDE)."""
        return values

    # === Training ===

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Configure training; the loss is always the NLL in nats/image.

        Args:
            optimizer: a Keras optimizer or its name. Defaults to `"adam"`.
            **kwargs: other `keras.Model.compile` arguments
                (`jit_compile`, `steps_per_execution`, ...).
        """
        if loss is not None or metrics is not None:
            raise ValueError(
                "Invalid value for argument `loss`/`metrics`. "
                f"{type(self).__name__} always trains on its negative "
                "log-likelihood (nats/image) and reports bits/dim; call "
                f"compile() without them. Received: loss={loss!r}, "
                f"metrics={metrics!r}"
            )
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        # Restores the optimizer (and its state) of a `.keras` file; the
        # loss and metrics are fixed, so they are not part of the config.
        config = keras.saving.deserialize_keras_object(config)
        for key in ("loss", "metrics", "loss_weights", "weighted_metrics"):
            config.pop(key, None)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        nll = self.image_nll(split_inputs(x)[0], y_pred)
        # Keras's own reduction: the (weighted) mean over the batch, divided
        # by the replicas under tf.distribute, whose gradients are summed.
        loss = self._batch_mean(nll, nll, sample_weight)
        for extra in self.losses:  # regularizers, add_loss: scaled alike
            extra = ops.reshape(ops.sum(ops.cast(extra, loss.dtype)), (1,))
            loss = loss + self._batch_mean(extra, extra)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        nll = self.image_nll(split_inputs(x)[0], y_pred)
        self.bits_per_dim_tracker.update_state(nll, sample_weight)
        return super().compute_metrics(x, y, y_pred, sample_weight)

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit` on images, or `(images, labels)` when the model
        is conditional (`fit(images, labels)` or a dataset of pairs)."""
        x, y = prepare_training_data(self, x, y, "x")
        validation = kwargs.get("validation_data")
        if validation is not None:
            if isinstance(validation, tuple) and not hasattr(
                validation[0], "element_spec"
            ):
                validation = prepare_training_data(
                    self,
                    validation[0],
                    validation[1] if len(validation) > 1 else None,
                    "validation_data",
                )[0]
            else:
                validation = prepare_training_data(
                    self, validation, None, "validation_data"
                )[0]
            kwargs["validation_data"] = validation
        if hasattr(x, "element_spec"):
            # A dataset carries its own shuffling; Keras would only warn.
            kwargs.setdefault("shuffle", False)
        return super().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        x, y = prepare_training_data(self, x, y, "x")
        return super().evaluate(x, y, **kwargs)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}
