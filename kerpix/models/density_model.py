import keras
import numpy as np
from keras import ops

from kerpix.losses import BatchMean
from kerpix.losses import NegativeLogLikelihood
from kerpix.metrics import BitsPerDim
from kerpix.models.inputs import CONDITIONAL_INPUT
from kerpix.models.inputs import IMAGES
from kerpix.models.inputs import prepare_training_data
from kerpix.models.inputs import split_inputs
from kerpix.models.inputs import validate_conditional
from kerpix.models.inputs import validate_mask
from kerpix.models.nll_training import FixedNLLTraining
from kerpix.models.preprocessor import ImageQuantizer
from kerpix.models.preprocessor import validate_images
from kerpix.ops.pixels import keep_known
from kerpix.ops.pixels import read_pixel
from kerpix.ops.pixels import update_pixel


@keras.saving.register_keras_serializable(package="kerpix")
class ImageDensityModel(FixedNLLTraining, keras.Model):
    """Autoregressive density model of integer images: preprocessor ->
    causal backbone -> pixel head.

    The model factorises an image as
    `p(x) = Π_{i,j} Π_c p(x_{ij,c} | x_<(ij,c))` in raster order, colours in
    R→G→B order inside a pixel. `call(images)` returns the head's parameters
    for every sub-pixel in one pass (teacher forcing); `log_prob` sums the
    head's log-probabilities, in nats.

    `compile()` needs no loss: the loss is the negative log-likelihood in
    nats/image and `bits_per_dim` (`kerpix.metrics.bits_per_dim`) is always
    reported, so `fit(images)` and `evaluate(images)` work on NumPy arrays
    or `tf.data.Dataset`s of integer images `(N, H, W, C)`.

    Conditional models (a backbone with `conditional_dims`) take
    `conditional_input` wherever they take images: class labels `(N,)`
    (one-hot encoded when `num_classes` is set) or vectors
    `(N, conditional_dims)`; `fit(images, labels)` and datasets of
    `(image, label)` pairs pack them as `{"images", "conditional_input"}`.

    Sampling:
        `sample()` fills the canvas one sub-pixel at a time in raster order,
        each value drawn from its conditional by inverse CDF of a uniform
        noise value. The noise, shape `(N, H*W, noise_dims)`, can be passed
        in, so any runtime reproduces a sample exactly from its noise.

    Args:
        backbone: a `kerpix.models.Backbone` with an `image_shape`.
        head: a `kerpix.heads.PixelHead` whose `num_channels` matches the
            image.
        preprocessor: layer mapping integer images to backbone inputs.
            Defaults to `ImageQuantizer(head.num_levels)`.
        num_classes: int or `None`. For a conditional backbone: the
            conditioning is integer class labels, one-hot encoded to
            `backbone.conditional_dims == num_classes`. `None` means the
            conditioning vectors are passed as they are.

    Example:

    >>> model = kerpix.models.PixelCNN((8, 8, 1), num_levels=4, filters=8,
    ...                                num_layers=1)
    >>> images = np.random.default_rng(0).integers(0, 4, (16, 8, 8, 1))
    >>> model.compile()
    >>> history = model.fit(images, epochs=1, verbose=0)
    >>> model.log_prob(images[:2]).shape
    (2,)
    >>> model.sample(2, seed=1, verbose=0).shape
    (2, 8, 8, 1)
    """

    # True when the conditioning is computed from the images themselves
    # (an auto-encoder's codes): training data is then images only.
    conditions_on_own_images = False

    def __init__(
        self, backbone, head, preprocessor=None, num_classes=None, **kwargs
    ):
        super().__init__(**kwargs)
        image_shape = tuple(int(d) for d in backbone.image_shape)
        if head.num_channels != image_shape[-1]:
            raise ValueError(
                "Invalid value for argument `head`. Its num_channels must "
                f"match the image's {image_shape[-1]} channels. Received: "
                f"head.num_channels={head.num_channels}"
            )
        preprocessor = preprocessor or ImageQuantizer(head.num_levels)
        if getattr(preprocessor, "num_levels", head.num_levels) != (
            head.num_levels
        ):
            raise ValueError(
                "Invalid value for argument `preprocessor`. Its num_levels "
                f"must equal head.num_levels={head.num_levels}. Received: "
                f"preprocessor.num_levels={preprocessor.num_levels}"
            )
        conditional_dims = backbone.conditional_dims
        if num_classes is not None and num_classes != conditional_dims:
            raise ValueError(
                "Invalid value for argument `num_classes`. Class labels are "
                "one-hot encoded for the backbone, so it must equal "
                f"backbone.conditional_dims={conditional_dims}. Received: "
                f"num_classes={num_classes}"
            )
        self.backbone = backbone
        self.head = head
        self.preprocessor = preprocessor
        self.num_classes = num_classes
        self.conditional_dims = conditional_dims
        self.image_shape = image_shape
        self.num_levels = head.num_levels
        self.negative_log_likelihood = NegativeLogLikelihood(
            head, reduction=None
        )
        self._batch_mean = BatchMean()
        self.bits_per_dim_tracker = BitsPerDim(image_shape)
        input_shape = (None,) + image_shape
        if conditional_dims and not self.conditions_on_own_images:
            # Recorded as the build shape, which Keras uses to trace the
            # model (e.g. for SavedModel export): both inputs.
            input_shape = {
                IMAGES: input_shape,
                CONDITIONAL_INPUT: (None,)
                if num_classes
                else (None, conditional_dims),
            }
        self.build(input_shape)

    def build(self, input_shape):
        images_shape = (None,) + self.image_shape
        if self.conditional_dims:
            images_shape = [images_shape, (None, self.conditional_dims)]
        features_shape = self.backbone.compute_output_shape(images_shape)
        if not self.head.built:  # a deserialized head comes built
            self.head.build(features_shape)
        self.built = True

    def call(self, inputs, training=None):
        images, conditional_input = split_inputs(inputs)
        x = self.preprocessor(images)
        return self.compute_params(x, conditional_input, training=training)

    def compute_params(self, x, conditional_input=None, training=None):
        """Head parameters from preprocessed images (floats)."""
        if self.conditional_dims:
            condition = self.encode_conditional(conditional_input)
            features = self.backbone([x, condition], training=training)
        else:
            features = self.backbone(x, training=training)
        return self.head(features)

    def encode_conditional(self, conditional_input):
        """Backbone conditioning vectors: one-hot labels, or the vectors."""
        if self.num_classes:
            labels = ops.cast(ops.reshape(conditional_input, (-1,)), "int32")
            return ops.one_hot(labels, self.num_classes)
        return ops.cast(conditional_input, self.compute_dtype)

    def compute_log_prob(self, inputs, training=None):
        """Graph-safe `(N,)` log-likelihoods in nats; no input checks.

        `inputs` are images, or `{"images", "conditional_input"}`.
        """
        params = self(inputs, training=training)
        return -self.image_nll(split_inputs(inputs)[0], params)

    def image_nll(self, images, params):
        """Negative log-likelihood `(N,)` in nats of `images` under the
        output `params` of `call` (the one place the loss, the metric and
        `log_prob` compute it)."""
        return self.negative_log_likelihood(images, params)

    # === Step-wise sampling (one interface for every family) ===

    @property
    def passes_per_pixel(self):
        """Network passes per pixel when sampling: 1, or C when the colours
        of a pixel are ordered by the network's channel masks."""
        if self.head.samples_channels_jointly:
            return 1
        return self.image_shape[-1]

    def initial_state(self, batch_size):
        """Zero state of `sample_step` for `batch_size` images (a tuple).

        Conditioning is not part of the state: `sample_step` takes it at
        every position, so exported states always start as zeros.
        """
        return tuple(self.backbone.initial_state(batch_size))

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
        """Fill pixel `position` (raster index `i*W + j`) of `canvas`.

        Every colour of the pixel is drawn in R→G→B order by inverse CDF of
        `noise` `(N, noise_dims)`; the backbone's caches make the work per
        pixel independent of the image size. `position` may be a traced
        scalar (graph loops, SavedModel, ONNX). `known`, for completion, is
        `(values (N, C), keep (N,))`: where `keep` is 1 the pixel takes
        `values` instead of a draw (and the caches see them).

        Returns:
            `(canvas, state)`, updated.
        """
        width = self.image_shape[1]
        head = self.head
        condition = None
        if self.conditional_dims:
            condition = self.encode_conditional(conditional_input)
        position = ops.cast(position, "int32")
        i, j = position // width, position % width
        values = read_pixel(canvas, i, j)
        pixel_noise = noise[:, None, None, :]
        for c in range(self.passes_per_pixel):
            pixel = self.preprocessor(values)
            features, new_state = self.backbone.step(
                state, pixel, i, j, condition
            )
            params = head(features[:, None, None, :])
            drawn = head.sample(params, pixel_noise, temperature)[:, 0, 0, :]
            drawn = ops.cast(drawn, values.dtype)
            if known is not None:
                drawn = keep_known(drawn, known)
            if self.passes_per_pixel > 1:
                # Only colour c is final in pass c.
                onehot = ops.one_hot(c, values.shape[-1], dtype=values.dtype)
                drawn = values * (1 - onehot) + drawn * onehot
            values = drawn
        state = self.backbone.commit(new_state, self.preprocessor(values), i, j)
        canvas = update_pixel(canvas, i, j, values)
        return canvas, state

    # === Completion ===

    def complete(
        self,
        images,
        mask,
        seed=None,
        temperature=1.0,
        conditional_input=None,
        method="cached",
        verbose="auto",
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
            seed, temperature, conditional_input, method, verbose: as in
                `sample`.

        Returns:
            NumPy int32 `(N, H, W, C)`.
        """
        validate_images(images, self.image_shape, self.num_levels)
        images = np.asarray(images)
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
        )

    @property
    def noise_dims(self):
        """Uniform noise values consumed per pixel when sampling."""
        return self.head.noise_dims

    # === Public API ===

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
        validate_images(images, self.image_shape, self.num_levels)
        images = np.asarray(images)
        validate_conditional(
            self, conditional_input, len(images), "conditional_input"
        )
        return self._batched_log_prob(images, conditional_input, batch_size)

    def _batched_log_prob(self, images, conditional_input, batch_size):
        """`compute_log_prob` over batches of checked NumPy inputs."""
        chunks = []
        for k in range(0, len(images), batch_size):
            inputs = images[k : k + batch_size]
            if conditional_input is not None:
                inputs = {
                    IMAGES: inputs,
                    CONDITIONAL_INPUT: np.asarray(conditional_input)[
                        k : k + batch_size
                    ],
                }
            chunks.append(
                keras.ops.convert_to_numpy(self.compute_log_prob(inputs))
            )
        if not chunks:
            return np.zeros((0,), "float32")
        return np.concatenate(chunks).astype("float32")

    def sample(
        self,
        num_samples=None,
        seed=None,
        noise=None,
        temperature=1.0,
        conditional_input=None,
        method="cached",
        verbose="auto",
    ):
        """Draw integer images `(num_samples, H, W, C)` (NumPy int32).

        Args:
            num_samples: int. Number of images; optional when `noise` is
                given.
            seed: int or `None`. Seed of the uniform noise.
            noise: optional float array `(N, H*W, noise_dims)` of uniforms
                in `[0, 1)`; overrides `seed`.
            temperature: float >= 0. Divides the logits; `0` takes the
                mode of every conditional. Defaults to `1.0`.
            conditional_input: class labels `(N,)` or vectors
                `(N, conditional_dims)` of conditional models, one per
                sample (`num_samples` defaults to their number); `None`
                for unconditional models.
            method: `"cached"` (`sample_step`: network work per pixel
                independent of the image size) or `"naive"` (re-run the
                whole network for every sub-pixel). Both give the same
                images for the same noise. Defaults to `"cached"`.
            verbose: `"auto"`, `0` or `1`: progress bar over rows.
        """
        return self._run_sampler(
            num_samples,
            noise,
            seed,
            temperature,
            conditional_input,
            method,
            verbose,
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
    ):
        """Check the conditioning and run the sampler of `method` (shared
        by `sample` and `complete`)."""
        from kerpix.sampling import get_sampler

        if conditional_input is not None:
            conditional_input = np.asarray(conditional_input)
            if num_samples is None and noise is None:
                num_samples = len(conditional_input)
        batch = num_samples if noise is None else len(noise)
        validate_conditional(
            self, conditional_input, batch, "conditional_input"
        )
        sampler = get_sampler(method, temperature=temperature, seed=seed)
        return sampler(
            self,
            num_samples=num_samples,
            noise=noise,
            verbose=verbose,
            conditional_input=conditional_input,
            known=known,
        )

    # === Training ===

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

    # === Config ===

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "head": keras.layers.serialize(self.head),
            "preprocessor": keras.layers.serialize(self.preprocessor),
            "num_classes": self.num_classes,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("backbone", "head", "preprocessor"):
            config[key] = keras.layers.deserialize(config[key])
        return cls(**config)
