import keras
from keras import ops

from kerpix.losses import NegativeLogLikelihood
from kerpix.models.density_model import DensityModel
from kerpix.models.inputs import CONDITIONAL_INPUT
from kerpix.models.inputs import IMAGES
from kerpix.models.inputs import split_inputs
from kerpix.models.preprocessor import ImageQuantizer
from kerpix.ops.pixels import batch_rows
from kerpix.ops.pixels import keep_known
from kerpix.ops.pixels import raster_indices


@keras.saving.register_keras_serializable(package="kerpix")
class ImageDensityModel(DensityModel):
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

    def __init__(
        self, backbone, head, preprocessor=None, num_classes=None, **kwargs
    ):
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
        super().__init__(image_shape, head.num_levels, **kwargs)
        self.backbone = backbone
        self.head = head
        self.preprocessor = preprocessor
        self.num_classes = num_classes
        self.conditional_dims = conditional_dims
        self.negative_log_likelihood = NegativeLogLikelihood(
            head, reduction=None
        )
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
        """Zero sampling state for `batch_size` images (a tuple).

        Conditioning is not part of the state: `pixel_step` takes it at
        every position, so exported states always start as zeros.
        """
        return tuple(self.backbone.initial_state(batch_size))

    @property
    def starts_images(self):
        return self.backbone.starts_images

    @property
    def starts_rows(self):
        return self.backbone.starts_rows

    @property
    def narrow_start_conditionals(self):
        return self.backbone.narrow_start_conditionals

    def start_image(self, state, conditional_input=None):
        return self.backbone.start_image(
            state, self._step_condition(conditional_input)
        )

    def start_row(self, state, i, conditional_input=None):
        return self.backbone.start_row(
            state, i, self._step_condition(conditional_input)
        )

    def _step_condition(self, conditional_input):
        """What the backbone's step functions take as conditioning."""
        if not self.conditional_dims:
            return None
        return self.encode_conditional(conditional_input)

    def pixel_step(
        self,
        state,
        position,
        noise,
        temperature=1.0,
        conditional_input=None,
        known=None,
    ):
        """Draw pixel `position` (raster index `i*W + j`, or the pair
        `(i, j)`): its values `(N, C)` and the updated state.

        Every colour of the pixel is drawn in R→G→B order by inverse CDF of
        `noise` `(N, noise_dims)`; the backbone's caches (row buffers
        and recurrent states) make the work per pixel independent of the
        image size. `position` may be a traced scalar (graph loops,
        exported steps). `known`, for completion, is `(values (N, C),
        keep (N,))`: where `keep` is 1 the pixel takes `values` instead of
        a draw (and the caches see them).
        """
        width, channels = self.image_shape[1:]
        condition = self._step_condition(conditional_input)
        i, j = raster_indices(position, width)
        # Sub-pixels not drawn yet hold zeros: no feature of a colour group
        # reads them.
        batch = ops.shape(noise)[0]
        values = ops.zeros((batch, channels), "int32")
        pixel_noise = noise[:, None, None, :]
        with batch_rows(batch):  # computed once for the caches' writes
            for c in range(self.passes_per_pixel):
                pixel = self.preprocessor(values)
                features, new_state = self.backbone.step(
                    state, pixel, i, j, condition
                )
                params = self.head.call_pointwise(features)[:, None, None, :]
                drawn = self.head.sample(params, pixel_noise, temperature)
                drawn = ops.cast(drawn[:, 0, 0, :], values.dtype)
                if known is not None:
                    drawn = keep_known(drawn, known)
                if self.passes_per_pixel > 1:
                    # Only colour c is final in pass c.
                    onehot = ops.one_hot(c, channels, dtype=values.dtype)
                    drawn = values * (1 - onehot) + drawn * onehot
                values = drawn
            state = self.backbone.commit(
                new_state, self.preprocessor(values), i, j
            )
        return values, state

    @property
    def noise_dims(self):
        """Uniform noise values consumed per pixel when sampling."""
        return self.head.noise_dims

    # === Config ===

    def get_config(self):
        config = super().get_config()
        config.update(
            backbone=keras.layers.serialize(self.backbone),
            head=keras.layers.serialize(self.head),
            preprocessor=keras.layers.serialize(self.preprocessor),
            num_classes=self.num_classes,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("backbone", "head", "preprocessor"):
            config[key] = keras.layers.deserialize(config[key])
        return cls(**config)
