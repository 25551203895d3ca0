import keras
import numpy as np
from keras import ops

from kerpix.losses import NegativeLogLikelihood
from kerpix.metrics import BitsPerDim
from kerpix.models.preprocessor import ImageQuantizer
from kerpix.models.preprocessor import validate_images
from kerpix.ops.pixels import read_pixel
from kerpix.ops.pixels import update_pixel


@keras.saving.register_keras_serializable(package="kerpix")
class ImageDensityModel(keras.Model):
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

    def __init__(self, backbone, head, preprocessor=None, **kwargs):
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
        self.backbone = backbone
        self.head = head
        self.preprocessor = preprocessor
        self.image_shape = image_shape
        self.num_levels = head.num_levels
        self.negative_log_likelihood = NegativeLogLikelihood(
            head, reduction=None
        )
        self.bits_per_dim_tracker = BitsPerDim(image_shape)
        self.build((None,) + image_shape)

    def build(self, input_shape):
        features_shape = self.backbone.compute_output_shape(
            (None,) + self.image_shape
        )
        if not self.head.built:  # a deserialized head comes built
            self.head.build(features_shape)
        self.built = True

    def call(self, images, training=None):
        x = self.preprocessor(images)
        return self.compute_params(x, training=training)

    def compute_params(self, x, training=None):
        """Head parameters from preprocessed images (floats)."""
        return self.head(self.backbone(x, training=training))

    def compute_log_prob(self, images, training=None):
        """Graph-safe `(N,)` log-likelihoods in nats; no input checks."""
        params = self(images, training=training)
        return -self.negative_log_likelihood(images, params)

    # === Step-wise sampling (one interface for every family) ===

    @property
    def passes_per_pixel(self):
        """Network passes per pixel when sampling: 1, or C when the colours
        of a pixel are ordered by the network's channel masks."""
        if self.head.samples_channels_jointly:
            return 1
        return self.image_shape[-1]

    def initial_state(self, batch_size, conditional_input=None):
        """Zero state of `sample_step` for `batch_size` images (a tuple)."""
        self._check_conditional_input(conditional_input)
        return tuple(self.backbone.initial_state(batch_size))

    def sample_step(self, canvas, state, position, noise, temperature=1.0):
        """Fill pixel `position` (raster index `i*W + j`) of `canvas`.

        Every colour of the pixel is drawn in R→G→B order by inverse CDF of
        `noise` `(N, noise_dims)`; the backbone's caches make the work per
        pixel independent of the image size. `position` may be a traced
        scalar (graph loops, SavedModel, ONNX).

        Returns:
            `(canvas, state)`, updated.
        """
        width = self.image_shape[1]
        head = self.head
        position = ops.cast(position, "int32")
        i, j = position // width, position % width
        values = read_pixel(canvas, i, j)
        pixel_noise = noise[:, None, None, :]
        for c in range(self.passes_per_pixel):
            pixel = self.preprocessor(values)
            features, new_state = self.backbone.step(state, pixel, i, j)
            params = head(features[:, None, None, :])
            drawn = head.sample(params, pixel_noise, temperature)[:, 0, 0, :]
            drawn = ops.cast(drawn, values.dtype)
            if self.passes_per_pixel > 1:
                # Only colour c is final in pass c.
                onehot = ops.one_hot(c, values.shape[-1], dtype=values.dtype)
                drawn = values * (1 - onehot) + drawn * onehot
            values = drawn
        state = self.backbone.commit(new_state, self.preprocessor(values), i, j)
        canvas = update_pixel(canvas, i, j, values)
        return canvas, state

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
            conditional_input: unsupported by unconditional models; must be
                `None`.
            batch_size: int. Images per forward pass. Defaults to `256`.
        """
        self._check_conditional_input(conditional_input)
        validate_images(images, self.image_shape, self.num_levels)
        images = np.asarray(images)
        chunks = [
            keras.ops.convert_to_numpy(
                self.compute_log_prob(images[k : k + batch_size])
            )
            for k in range(0, len(images), batch_size)
        ]
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
            conditional_input: must be `None` for unconditional models.
            method: `"cached"` (`sample_step`: network work per pixel
                independent of the image size) or `"naive"` (re-run the
                whole network for every sub-pixel). Both give the same
                images for the same noise. Defaults to `"cached"`.
            verbose: `"auto"`, `0` or `1`: progress bar over rows.
        """
        from kerpix.sampling import get_sampler

        self._check_conditional_input(conditional_input)
        sampler = get_sampler(method, temperature=temperature, seed=seed)
        return sampler(
            self, num_samples=num_samples, noise=noise, verbose=verbose
        )

    def _check_conditional_input(self, conditional_input):
        if conditional_input is not None:
            raise ValueError(
                "Invalid value for argument `conditional_input`. This model "
                "is unconditional; pass conditional_input=None. Received: "
                f"conditional_input of type {type(conditional_input).__name__}"
            )

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
                "Invalid value for argument `loss`/`metrics`. An "
                "ImageDensityModel always trains on its negative "
                "log-likelihood (nats/image) and reports bits_per_dim; call "
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
        nll = self.negative_log_likelihood(x, y_pred)
        if sample_weight is not None:
            weights = ops.cast(ops.reshape(sample_weight, (-1,)), nll.dtype)
            loss = ops.sum(nll * weights) / ops.maximum(ops.sum(weights), 1e-12)
        else:
            loss = ops.mean(nll)
        for extra in self.losses:
            loss = loss + ops.cast(ops.sum(extra), loss.dtype)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        nll = self.negative_log_likelihood(x, y_pred)
        self.bits_per_dim_tracker.update_state(nll, sample_weight)
        return super().compute_metrics(x, y, y_pred, sample_weight)

    def fit(self, x=None, y=None, **kwargs):
        self._check_training_data(x, y, "x")
        if kwargs.get("validation_data") is not None:
            self._check_training_data(
                kwargs["validation_data"], None, "validation_data"
            )
        if hasattr(x, "element_spec"):
            # A dataset carries its own shuffling; Keras would only warn.
            kwargs.setdefault("shuffle", False)
        return super().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        self._check_training_data(x, y, "x")
        return super().evaluate(x, y, **kwargs)

    def _check_training_data(self, x, y, argument):
        if y is not None:
            raise ValueError(
                "Invalid value for argument `y`. A density model learns from "
                "the images alone; pass fit(images) or a dataset of images. "
                f"Received: y of type {type(y).__name__}"
            )
        if hasattr(x, "element_spec"):  # a tf.data.Dataset
            # Only the first batch is checked: reading more would cost a
            # pass over the data.
            spec = x.element_spec
            spec = spec[0] if isinstance(spec, tuple) else spec
            if len(spec.shape) == 3:
                raise ValueError(
                    f"Invalid value for argument `{argument}`. The dataset "
                    f"yields unbatched images of shape {tuple(spec.shape)}; "
                    "call .batch(batch_size) on it. Expected batches of "
                    f"shape {(None,) + self.image_shape}."
                )
            first = next(iter(x.take(1)), None)
            if first is None:
                raise ValueError(
                    f"Invalid value for argument `{argument}`: the dataset is "
                    "empty. Pass a dataset with at least one batch."
                )
            first = first[0] if isinstance(first, tuple) else first
            validate_images(first, self.image_shape, self.num_levels, argument)
        elif x is not None and not hasattr(x, "__next__"):
            if isinstance(x, (list, tuple)):
                x = x[0]
            validate_images(x, self.image_shape, self.num_levels, argument)

    # === Config ===

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "head": keras.layers.serialize(self.head),
            "preprocessor": keras.layers.serialize(self.preprocessor),
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("backbone", "head", "preprocessor"):
            config[key] = keras.layers.deserialize(config[key])
        return cls(**config)
