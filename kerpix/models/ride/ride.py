import math

import keras
import numpy as np
from keras import ops

from kerpix.heads.mcgsm_head import MCGSMHead
from kerpix.models.density_model import DensityModel
from kerpix.models.ride import ensemble
from kerpix.models.ride import inpainting
from kerpix.models.ride.ride_backbone import RIDEBackbone
from kerpix.ops.pixels import batch_rows
from kerpix.ops.pixels import raster_indices
from kerpix.utils.batching import map_batches
from kerpix.utils.validation import validate_dequantization_noise
from kerpix.utils.validation import validate_image_shape
from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class RIDE(DensityModel):
    """Recurrent image density estimator (Theis & Bethge 2015): causal
    neighbourhood -> spatial LSTM stack (`RIDEBackbone`) -> factorized
    MCGSM (`MCGSMHead`).

    A density of continuous pixel values, in raster order:
    `p(y) = Π_ij p(y_ij | h_ij)` with `h_ij` the last `SpatialLSTM`'s state
    over the causal neighbourhoods (3×5 window, 12 values: RIDE's
    default). Grey images (`C = 1`).

    - **Integer images** (`num_levels` set, values in `[0, num_levels)`)
      are dequantized, `y = (x + u) / num_levels` with `u ~ U[0, 1)`.
      Then `-log p(y) + H·W·log(num_levels)` is, in expectation over
      `u`, an **upper bound** on the discrete NLL `-log P(x)` (Jensen), not
      the exact discrete likelihood: `log_prob`, the loss and the
      `bits_per_dim_bound` metric report that bound (one draw of `u`).
    - **Float images** (`num_levels=None`, e.g. whitened natural images):
      `log_prob` is the density `log p(y)` itself, `bits_per_dim` its
      negative in bits per pixel, as in the paper.

    Values are normalised, `z = (y - input_mean) / input_scale`, then
    preconditioned in the backbone (identity until `adapt(images)`, which
    `kerpix train` and `train_ride` call); both maps' log-Jacobians are
    part of every likelihood.

    Args:
        image_shape: `(H, W, 1)`.
        num_levels: int or `None` (float images). Defaults to `256`.
        num_layers: int. Spatial LSTM layers (paper: 1 or 2); `0` is the
            plain MCGSM baseline (the head on the causal neighbourhood,
            `kerpix.models.MCGSM`). Defaults to `1`.
        num_hiddens: int. Units per LSTM. Defaults to `64`.
        num_components, num_scales, num_features: the MCGSM's; default to
            `32`, `4`, `32` (the RIDE reference code).
        input_mean, input_scale: floats of the normalisation. Default to
            `0.5` and `0.25` (values in `[0, 1)`).

    Example:

    >>> model = kerpix.models.RIDE((6, 6, 1), num_levels=4, num_hiddens=4,
    ...                            num_components=2, num_scales=2,
    ...                            num_features=2)
    >>> images = np.zeros((3, 6, 6, 1), "int32")
    >>> model.log_prob(images).shape
    (3,)

    References:
        - [Theis & Bethge, 2015](https://arxiv.org/abs/1506.03478)
    """

    sampling_methods = ("cached",)

    preset_family = "ride"

    def __init__(
        self,
        image_shape,
        num_levels=256,
        num_layers=1,
        num_hiddens=64,
        num_components=32,
        num_scales=4,
        num_features=32,
        input_mean=0.5,
        input_scale=0.25,
        **kwargs,
    ):
        image_shape = validate_image_shape(image_shape)
        if image_shape[-1] != 1:
            raise ValueError(
                "Invalid value for argument `image_shape`. RIDE models grey "
                "images: expected 1 channel, e.g. (28, 28, 1). Received: "
                f"image_shape={image_shape}"
            )
        if num_levels is not None:
            validate_positive_int("num_levels", num_levels)
        if not input_scale > 0:
            raise ValueError(
                "Invalid value for argument `input_scale`. Expected a "
                f"positive float. Received: input_scale={input_scale!r}"
            )
        metric = "bits_per_dim" if num_levels is None else "bits_per_dim_bound"
        super().__init__(image_shape, num_levels, metric, **kwargs)
        self.backbone = RIDEBackbone(
            image_shape, num_layers, num_hiddens, name="backbone"
        )
        self.head = MCGSMHead(
            num_components, num_scales, num_features, name="mcgsm"
        )
        self.input_mean = float(input_mean)
        self.input_scale = float(input_scale)
        self.noise_seed = keras.random.SeedGenerator(0)
        self.build((None,) + image_shape)

    def build(self, input_shape):
        shape = (None,) + self.image_shape
        self.backbone.build(shape)
        self.head.build(self.backbone.compute_output_shape(shape))
        self.built = True

    # === Densities ===

    def normalize(self, y):
        """`z = (y - input_mean) / input_scale`."""
        return (y - self.input_mean) / self.input_scale

    def to_values(self, images, training=False, seed=None):
        """Continuous values `y` of `images`: dequantized integers, or the
        float images themselves."""
        if self.num_levels is None:
            return ops.cast(images, "float32")
        seed = self.noise_seed if seed is None else seed
        noise = keras.random.uniform(ops.shape(images), seed=seed)
        return self.dequantize(images, noise)

    def dequantize(self, images, noise):
        """`y = (x + u) / num_levels` for uniform `noise` `u` (traceable)."""
        return (ops.cast(images, "float32") + ops.cast(noise, "float32")) / (
            self.num_levels
        )

    @property
    def dequantizes(self):
        """Integer models score dequantized values: exported `log_prob`
        endpoints take the dequantization noise."""
        return self.num_levels is not None

    def pixel_log_density(self, y):
        """`log p(y_ij | y_<ij)` `(N, H, W)` of values `y`, in nats,
        including the normalisation's and preconditioner's
        log-Jacobians."""
        h, t = self.backbone.features_and_targets(self.normalize(y))
        return (
            self.head.log_prob(t, h)
            + self.backbone.preconditioner.log_jacobian
            - math.log(self.input_scale)
        )

    def image_log_prob(self, y):
        """Per-image log-likelihood `(N,)` of values `y`: the density, minus
        `H·W·log(num_levels)` for integer models (densities of `y` in
        `[0, 1)^D` against masses of the discrete bins: the bound)."""
        log_p = ops.sum(self.pixel_log_density(y), axis=(1, 2))
        if self.num_levels is not None:
            size = np.prod(self.image_shape)
            log_p = log_p - size * math.log(self.num_levels)
        return log_p

    def call(self, images, training=None):
        """Per-image `log p(y)` in nats (see the class docstring)."""
        return self.image_log_prob(self.to_values(images, training=training))

    def image_nll(self, images, outputs):
        return -outputs

    def compute_log_prob(self, images, dequantization=None):
        """Per-image log-likelihood in a graph: of float images, or the
        bound of integer `images` for the given dequantization noise (the
        exported `log_prob`)."""
        if self.num_levels is None:
            return self.image_log_prob(ops.cast(images, "float32"))
        return self.image_log_prob(self.dequantize(images, dequantization))

    def log_prob(self, images, batch_size=256, seed=0, noise=None):
        """`(N,)` NumPy float32: the log-likelihood bound of integer images
        (one draw of the dequantization noise from `seed`, or the given
        uniform `noise` of the images' shape), or the log density of float
        images, in nats."""
        images = self.validate_images(images)
        if noise is None:
            seed = keras.random.SeedGenerator(seed)
            return map_batches(
                lambda x: self.image_log_prob(self.to_values(x, seed=seed)),
                [images],
                batch_size,
            )
        noise = validate_dequantization_noise(noise, images, self.num_levels)
        return map_batches(self.compute_log_prob, [images, noise], batch_size)

    def ensemble_log_prob(self, images, batch_size=256, seed=0):
        """EoRIDE: see `kerpix.models.ride.ensemble.ensemble_log_prob`."""
        return ensemble.ensemble_log_prob(self, images, batch_size, seed)

    def adapt(self, images, max_images=4000, seed=0):
        """Fit the backbone's `WhiteningPreconditioner` to the
        neighbourhoods and values of (up to `max_images` of) `images` (one
        dequantization draw from `seed`). Call before training."""
        images = self.validate_images(images)[:max_images]
        y = self.to_values(images, seed=keras.random.SeedGenerator(seed))
        self.backbone.adapt(self.normalize(y))

    # === Sampling (the step interface of every family) ===

    @property
    def noise_dims(self):
        """Uniforms per pixel: the MCGSM's component pick and value."""
        return self.head.noise_dims

    def initial_state(self, batch_size):
        return self.backbone.initial_state(batch_size)

    starts_rows = True

    def start_row(self, state, i, conditional_input=None):
        return self.backbone.start_row(state, i)

    # Samplers collect the continuous values `y` (float32); the exported
    # `sample_step` writes their levels into the integer canvas.
    sample_dtype = "float32"

    def pixel_step(
        self,
        state,
        position,
        noise,
        temperature=1.0,
        conditional_input=None,
        known=None,
    ):
        """Draw pixel `position` (raster index, or `(i, j)`) from
        `p(y_ij | h_ij)`.

        Returns the value `y` `(N, 1)` (float32; it also enters the state:
        later pixels are conditioned on it) and the state. `known`
        `(values (N, 1), keep (N,))`, in levels: kept pixels enter as
        their bin centre `(value + 0.5) / num_levels`.
        """
        i, j = raster_indices(position, self.image_shape[1])
        with batch_rows(ops.shape(noise)[0]):  # once for the caches' writes
            x = self.backbone.neighbors(state, i, j)
            h, state = self.backbone.step_from_neighbors(state, x, i, j)
            t = self.head.sample(h, noise, temperature)
            z = self.backbone.preconditioner.unwhiten_outputs(x, t)
            y = z * self.input_scale + self.input_mean
            if known is not None:
                values, keep = known
                keep = ops.cast(keep, y.dtype)
                centre = ops.cast(values[:, 0], y.dtype) + 0.5
                y = y * (1 - keep) + centre / self.num_levels * keep
                z = self.normalize(y)
            state = self.backbone.commit(state, z[:, None], i, j)
        return ops.cast(y[:, None], "float32"), state

    def to_images(self, values):
        """The levels `floor(y * num_levels)` of values `y`, clipped to
        the levels (int32); a float model's values as they are."""
        if self.num_levels is None:
            return values
        levels = ops.floor(ops.cast(values, "float32") * self.num_levels)
        return ops.cast(ops.clip(levels, 0, self.num_levels - 1), "int32")

    def samples_from_values(self, values):
        """What `sample` returns: the levels (integer models) or the
        values (float models) of the sampled `y` (NumPy)."""
        return np.asarray(ops.convert_to_numpy(self.to_images(values)))

    def inpaint(self, images, mask, **kwargs):
        """Fill the pixels where `mask` is False from the whole context by
        MCMC (block Metropolis-Hastings, exact likelihood ratios); see
        `kerpix.models.ride.inpainting.inpaint` for the arguments."""
        return inpainting.inpaint(self, images, mask, **kwargs)

    def resized(self, image_shape):
        """A RIDE of another image size with these weights (none of them
        depends on the size): train on patches, sample large textures."""
        config = self.get_config()
        config.update(image_shape=tuple(image_shape), name=None)
        model = type(self).from_config(config)
        model.set_weights(self.get_weights())
        return model

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            num_levels=self.num_levels,
            num_layers=self.backbone.num_layers,
            num_hiddens=self.backbone.num_hiddens,
            num_components=self.head.num_components,
            num_scales=self.head.num_scales,
            num_features=self.head.num_features,
            input_mean=self.input_mean,
            input_scale=self.input_scale,
        )
        return config
