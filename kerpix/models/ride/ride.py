import math

import keras
import numpy as np
from keras import ops

from kerpix.heads.mcgsm_head import MCGSMHead
from kerpix.layers.causal_neighborhood import CausalNeighborhood
from kerpix.layers.spatial_lstm import SpatialLSTM
from kerpix.layers.whitening_preconditioner import WhiteningPreconditioner
from kerpix.losses import BatchMean
from kerpix.metrics import BitsPerDim
from kerpix.models.inputs import validate_mask
from kerpix.models.nll_training import FixedNLLTraining
from kerpix.ops.pixels import read_pixel
from kerpix.ops.pixels import update_pixel
from kerpix.utils.validation import validate_image_shape
from kerpix.utils.validation import validate_positive_int
from kerpix.utils.validation import validate_uniform


@keras.saving.register_keras_serializable(package="kerpix")
class RIDE(FixedNLLTraining, keras.Model):
    """Recurrent image density estimator (Theis & Bethge 2015): causal
    neighbourhood -> spatial LSTM stack -> factorized MCGSM.

    A density of continuous pixel values, in raster order:
    `p(y) = Π_ij p(y_ij | h_ij)` with `h_ij` the last `SpatialLSTM`'s state
    over the causal neighbourhoods (3×5 window, 12 values: RIDE's
    default), `p(y_ij | h_ij)` an `MCGSMHead`. Grey images (`C = 1`).

    - **Integer images** (`num_levels` set, values in `[0, num_levels)`)
      are dequantized, `y = (x + u) / num_levels` with `u ~ U[0, 1)`.
      Then `-log p(y) + H·W·log(num_levels)` is, in expectation over
      `u`, an **upper bound** on the discrete NLL `-log P(x)` (Jensen), not
      the exact discrete likelihood: `log_prob`, the loss and the
      `bits_per_dim_bound` metric report that bound (one draw of `u`).
    - **Float images** (`num_levels=None`, e.g. whitened natural images):
      `log_prob` is the density `log p(y)` itself, `bits_per_dim` its
      negative in bits per pixel, as in the paper.

    The values are normalised as `z = (y - input_mean) / input_scale`,
    then each (neighbourhood, pixel) pair goes through a
    `WhiteningPreconditioner` (inputs whitened; the pixel minus its linear
    prediction from the neighbourhood, scaled): the identity until
    `adapt(images)` fits it to training data, as RIDE's reference code
    does before training (`kerpix train` and `train_ride` call it). Both
    maps are affine given the past; their log-Jacobians are part of every
    likelihood.

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
        super().__init__(**kwargs)
        image_shape = validate_image_shape(image_shape)
        if image_shape[-1] != 1:
            raise ValueError(
                "Invalid value for argument `image_shape`. RIDE models grey "
                "images: expected 1 channel, e.g. (28, 28, 1). Received: "
                f"image_shape={image_shape}"
            )
        if num_levels is not None:
            validate_positive_int("num_levels", num_levels)
        if not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(
                "Invalid value for argument `num_layers`. Expected an "
                "integer >= 0 (0: the plain MCGSM). Received: "
                f"num_layers={num_layers!r}"
            )
        validate_positive_int("num_hiddens", num_hiddens)
        if not input_scale > 0:
            raise ValueError(
                "Invalid value for argument `input_scale`. Expected a "
                f"positive float. Received: input_scale={input_scale!r}"
            )
        self.image_shape = image_shape
        self.num_levels = num_levels
        self.num_layers = num_layers
        self.num_hiddens = num_hiddens
        self.num_components = num_components
        self.num_scales = num_scales
        self.num_features = num_features
        self.input_mean = float(input_mean)
        self.input_scale = float(input_scale)

        self.neighborhood = CausalNeighborhood(name="neighborhood")
        self.preconditioner = WhiteningPreconditioner(name="preconditioner")
        self.lstms = [
            SpatialLSTM(num_hiddens, name=f"slstm_{k}")
            for k in range(num_layers)
        ]
        self.head = MCGSMHead(
            num_components, num_scales, num_features, name="mcgsm"
        )
        self.noise_seed = keras.random.SeedGenerator(0)
        metric = "bits_per_dim" if num_levels is None else "bits_per_dim_bound"
        self.bits_per_dim_tracker = BitsPerDim(image_shape, name=metric)
        self._batch_mean = BatchMean()
        self.build((None,) + image_shape)

    def build(self, input_shape):
        shape = (None,) + self.image_shape
        features = self.neighborhood.compute_output_shape(shape)
        self.preconditioner.build(features)
        for lstm in self.lstms:
            lstm.build(features)
            features = lstm.compute_output_shape(features)
        self.head.build(features)
        self.built = True

    # === Densities ===

    def hidden_states(self, z):
        """`h` `(N, H, W, num_hiddens)` of normalised values `z`; at pixel
        `(i, j)` it depends only on pixels before it."""
        return self.states_and_targets(z)[0]

    def states_and_targets(self, z):
        """The head's features `h` and targets `t` `(N, H, W)` (the
        preconditioned pixel values) of normalised values `z`."""
        x = self.neighborhood(z)
        h = self.preconditioner.whiten_inputs(x)
        for lstm in self.lstms:
            h = lstm(h)
        return h, self.preconditioner.whiten_outputs(x, z[..., 0])

    def to_values(self, images, training=False, seed=None):
        """Continuous values `y` of `images`: dequantized integers, or the
        float images themselves."""
        images = ops.cast(images, "float32")
        if self.num_levels is None:
            return images
        noise = keras.random.uniform(
            ops.shape(images), seed=self.noise_seed if seed is None else seed
        )
        return self.dequantize(images, noise)

    def pixel_log_density(self, y):
        """`log p(y_ij | y_<ij)` `(N, H, W)` of values `y`, in nats,
        including the normalisation's and preconditioner's
        log-Jacobians."""
        h, t = self.states_and_targets(self.normalize(y))
        return (
            self.head.log_prob(t, h)
            + self.preconditioner.log_jacobian
            - math.log(self.input_scale)
        )

    def normalize(self, y):
        """`z = (y - input_mean) / input_scale`."""
        return (y - self.input_mean) / self.input_scale

    def adapt(self, images, max_images=4000, seed=0):
        """Fit the `WhiteningPreconditioner` to the neighbourhoods and
        values of (up to `max_images` of) `images` (one dequantization
        draw from `seed`). Call before training."""
        images = self._validate(images, "images")[:max_images]
        y = self.to_values(images, seed=keras.random.SeedGenerator(seed))
        z = self.normalize(y)
        x = ops.convert_to_numpy(self.neighborhood(z))
        self.preconditioner.adapt(
            x.reshape(-1, x.shape[-1]), ops.convert_to_numpy(z).reshape(-1)
        )

    def call(self, images, training=None):
        """Per-image `log p(y)` in nats (see the class docstring)."""
        return self.image_log_prob(self.to_values(images, training=training))

    def image_log_prob(self, y):
        """Per-image log-likelihood `(N,)` of values `y`: the density, minus
        `H·W·log(num_levels)` for integer models (densities of `y` in
        `[0, 1)^D` against masses of the discrete bins: the bound)."""
        log_p = ops.sum(self.pixel_log_density(y), axis=(1, 2))
        if self.num_levels is not None:
            log_p = log_p - np.prod(self.image_shape) * math.log(
                self.num_levels
            )
        return log_p

    def log_prob(self, images, batch_size=256, seed=0, noise=None):
        """`(N,)` NumPy float32: the log-likelihood bound of integer images
        (one draw of the dequantization noise from `seed`, or the given
        uniform `noise` of the images' shape), or the log density of float
        images, in nats."""
        images = self._validate(images, "images")
        if noise is not None:
            noise = self._validate_noise(noise, images.shape)
        seed = keras.random.SeedGenerator(seed)
        chunks = []
        for k in range(0, len(images), batch_size):
            batch = images[k : k + batch_size]
            if noise is None:
                log_p = self.image_log_prob(self.to_values(batch, seed=seed))
            else:
                log_p = self.compute_log_prob(batch, noise[k : k + batch_size])
            chunks.append(ops.convert_to_numpy(log_p))
        if not chunks:
            return np.zeros((0,), "float32")
        return np.concatenate(chunks).astype("float32")

    @property
    def dequantizes(self):
        """Whether `log_prob` is a bound over dequantization noise (integer
        models); exported `log_prob` endpoints then take that noise."""
        return self.num_levels is not None

    def dequantize(self, images, noise):
        """`y = (x + u) / num_levels` for uniform `noise` `u` (traceable)."""
        return (ops.cast(images, "float32") + ops.cast(noise, "float32")) / (
            self.num_levels
        )

    def compute_log_prob(self, images, dequantization):
        """Per-image log-likelihood bound of integer `images` for the given
        dequantization noise, in a graph (the exported `log_prob`)."""
        return self.image_log_prob(self.dequantize(images, dequantization))

    def _validate_noise(self, noise, shape):
        noise = np.asarray(noise)
        if self.num_levels is None:
            raise ValueError(
                "Invalid value for argument `noise`: float models "
                "(num_levels=None) are not dequantized; pass noise=None."
            )
        if noise.shape != shape or not np.issubdtype(noise.dtype, np.floating):
            raise ValueError(
                "Invalid value for argument `noise`. Expected floats of the "
                f"images' shape {shape}. Received: shape={noise.shape}, "
                f"dtype={noise.dtype}"
            )
        return validate_uniform("noise", noise)

    # === Sampling (the step interface of every family) ===

    @property
    def noise_dims(self):
        """Uniforms per pixel: the MCGSM's component pick and value."""
        return self.head.noise_dims

    def initial_state(self, batch_size):
        """Zero state: the normalised values `z` with the neighbourhood's
        zero padding, then each spatial LSTM's `h` and `c` caches."""
        n = self.neighborhood
        height, width, _ = self.image_shape
        state = [
            ops.zeros(
                (batch_size, height + n.rows, width + n.left + n.right, 1),
                self.compute_dtype,
            )
        ]
        for lstm in self.lstms:
            state.extend(lstm.initial_cache(batch_size, height, width))
        return tuple(state)

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
        """Draw pixel `position` (raster index) from `p(y_ij | h_ij)`.

        The continuous value stays in the state (later pixels are
        conditioned on it, as in training); the canvas gets its level
        `floor(y * num_levels)`, values outside `[0, 1)` going to the
        nearest level (the density has mass there; float models return
        the values themselves from `sample`). `known`: `(values (N, 1),
        keep (N,))`; kept pixels enter as their bin centre.
        """
        n = self.neighborhood
        width = self.image_shape[1]
        position = ops.cast(position, "int32")
        i, j = position // width, position % width
        z_map = state[0]
        x = ops.concatenate(
            [
                read_pixel(z_map, i + n.rows + di, j + n.left + dj)
                for di, dj in n.offsets
            ],
            axis=-1,
        )
        h = self.preconditioner.whiten_inputs(x)
        caches = list(state[1:])
        for k, lstm in enumerate(self.lstms):
            h, caches[2 * k : 2 * k + 2] = lstm.step(
                tuple(caches[2 * k : 2 * k + 2]), h, i, j
            )
        t = self.head.sample(h, noise, temperature)
        z = self.preconditioner.unwhiten_outputs(x, t)
        y = z * self.input_scale + self.input_mean
        if known is not None:
            values, keep = known
            keep = ops.cast(keep, y.dtype)
            # Known levels enter as their bin centres (completion is for
            # integer models only, see `complete`).
            centre = (ops.cast(values[:, 0], y.dtype) + 0.5) / self.num_levels
            y = y * (1 - keep) + centre * keep
            z = self.normalize(y)
        z_map = update_pixel(z_map, i + n.rows, j + n.left, z[:, None])
        if self.num_levels is not None:
            level = ops.clip(
                ops.floor(y * self.num_levels), 0, self.num_levels - 1
            )
            canvas = update_pixel(canvas, i, j, level[:, None])
        return canvas, (z_map,) + tuple(caches)

    # RIDE is unconditional (`kerpix sample`, sample grids and export ask).
    num_classes = None
    conditional_dims = 0

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
        """Draw images `(N, H, W, 1)`: int32 levels for integer models,
        float32 values for float models (`num_levels=None`).

        Every pixel is drawn from `p(y_ij | h_ij)` by inverse CDF of two
        uniforms of `noise` `(N, H*W, 2)` (or drawn from `seed`), with the
        spatial LSTMs' states cached from pixel to pixel.
        """
        from kerpix.sampling import CachedSampler

        if conditional_input is not None:
            raise ValueError(
                "Invalid value for argument `conditional_input`. RIDE is "
                "unconditional; pass conditional_input=None. Received: "
                f"{type(conditional_input).__name__}"
            )
        if method != "cached":
            raise ValueError(
                "Invalid value for argument `method`. RIDE samples with its "
                f"cached step only: method='cached'. Received: {method!r}"
            )
        sampler = CachedSampler(temperature=temperature, seed=seed)
        noise = sampler.make_noise(self, num_samples, noise)
        images, state = sampler.fill(
            self, noise, verbose=verbose, return_state=True
        )
        if self.num_levels is not None:
            return images
        return self.values_from_state(state)

    def complete(
        self, images, mask, seed=None, temperature=1.0, verbose="auto"
    ):
        """Fill the pixels of `images` where `mask` is False, in raster
        order, each drawn from `p(y_ij | y_<ij)` with the known pixels
        (`mask` True, entering as their bin centres) kept: the region is
        sampled given everything above and to its left.

        Args:
            images: integer images `(N, H, W, 1)`.
            mask: boolean `(H, W)` or `(N, H, W)`, True where known.

        Returns:
            Integer images (NumPy int32).
        """
        from kerpix.sampling import CachedSampler

        if self.num_levels is None:
            raise ValueError(
                "Invalid value for argument `images`: completion is for "
                "integer models (num_levels set). Received a float model."
            )
        images = self._validate(images, "images")
        mask = validate_mask(mask, self.image_shape, len(images))
        sampler = CachedSampler(temperature=temperature, seed=seed)
        noise = sampler.make_noise(self, len(images))
        known = (images.astype("int32"), mask.astype("int32"))
        return sampler.fill(self, noise, verbose=verbose, known=known)

    def inpaint(
        self,
        images,
        mask,
        num_sweeps=10,
        block_size=4,
        seed=None,
        return_log_prob=False,
        verbose="auto",
    ):
        """Fill the pixels where `mask` is False using the whole context
        (pixels below and to the right too): raster completion, then
        `num_sweeps` sweeps of block Metropolis-Hastings moves whose
        acceptance uses exact likelihood ratios. See
        `kerpix.models.ride.inpainting.inpaint` for the arguments."""
        from kerpix.models.ride.inpainting import inpaint

        return inpaint(
            self,
            images,
            mask,
            num_sweeps=num_sweeps,
            block_size=block_size,
            seed=seed,
            return_log_prob=return_log_prob,
            verbose=verbose,
        )

    def resized(self, image_shape):
        """A RIDE of another image size with these weights (none of them
        depends on the size): train on patches, sample large textures."""
        config = self.get_config()
        config.update(image_shape=tuple(image_shape), name=None)
        model = type(self).from_config(config)
        model.set_weights(self.get_weights())
        return model

    def values_from_state(self, state):
        """The continuous values `y` `(N, H, W, 1)` held in a sampling
        state (NumPy float32)."""
        n = self.neighborhood
        height, width, _ = self.image_shape
        z = np.asarray(state[0])[:, n.rows :, n.left : n.left + width]
        return (z * self.input_scale + self.input_mean).astype("float32")

    # === Ensemble (EoRIDE) ===

    def ensemble_log_prob(self, images, batch_size=256, seed=0):
        """EoRIDE: `log (1/K) Σ_k p(T_k y)` over the `K = 8` flips and
        transposes of square images (`K = 4` flips otherwise), in nats.

        Each transform permutes the pixels, so `p(T_k y)` is itself a
        density of `y` (every pixel counts, each model's zero padding
        included) and their average is one too: no pixels are left out.
        Integer images use one dequantization draw shared by all `T_k`,
        so the result is a bound like `log_prob`'s.
        """
        images = self._validate(images, "images")
        seed = keras.random.SeedGenerator(seed)
        chunks = []
        for k in range(0, len(images), batch_size):
            y = self.to_values(images[k : k + batch_size], seed=seed)
            log_ps = ops.stack(
                [self.image_log_prob(t) for t in self.transforms(y)]
            )
            log_p = ops.logsumexp(log_ps, axis=0) - math.log(len(log_ps))
            chunks.append(ops.convert_to_numpy(log_p))
        if not chunks:
            return np.zeros((0,), "float32")
        return np.concatenate(chunks).astype("float32")

    def transforms(self, y):
        """The flips (and, for square images, transposes) of `y`."""
        flips = [y, ops.flip(y, 1), ops.flip(y, 2), ops.flip(ops.flip(y, 1), 2)]
        if self.image_shape[0] != self.image_shape[1]:
            return flips
        return flips + [ops.transpose(t, (0, 2, 1, 3)) for t in flips]

    def _validate(self, images, argument):
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise ValueError(
                f"Invalid value for argument `{argument}`. Expected images "
                f"of shape (N,) + {self.image_shape}. Received: "
                f"{argument}.shape={images.shape}"
            )
        if self.num_levels is not None:
            if not np.issubdtype(images.dtype, np.integer):
                raise ValueError(
                    f"Invalid value for argument `{argument}`. Expected "
                    f"integers in [0, {self.num_levels}) (num_levels="
                    f"{self.num_levels}); for float images build the model "
                    f"with num_levels=None. Received: dtype={images.dtype}"
                )
            if images.size and (
                images.min() < 0 or images.max() >= self.num_levels
            ):
                raise ValueError(
                    f"Invalid value for argument `{argument}`. Expected "
                    f"values in [0, {self.num_levels}). Received: values in "
                    f"[{images.min()}, {images.max()}]"
                )
        elif not np.issubdtype(images.dtype, np.floating):
            raise ValueError(
                f"Invalid value for argument `{argument}`. This model "
                "(num_levels=None) takes float images. Received: "
                f"dtype={images.dtype}"
            )
        return images

    # === Training ===

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        nll = -y_pred
        return self._batch_mean(nll, nll, sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        self.bits_per_dim_tracker.update_state(-y_pred, sample_weight)
        return super().compute_metrics(x, y, y_pred, sample_weight)

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit` on images (NumPy or a dataset of batches)."""
        if y is not None:
            raise ValueError(
                "Invalid value for argument `y`. RIDE is unconditional; "
                f"pass images only. Received: y of type {type(y).__name__}"
            )
        if hasattr(x, "element_spec"):
            # A dataset carries its own shuffling; Keras would only warn.
            kwargs.setdefault("shuffle", False)
        else:
            x = self._validate(x, "x")
        return super().fit(x, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        if not hasattr(x, "element_spec"):
            x = self._validate(x, "x")
        return super().evaluate(x, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "image_shape": self.image_shape,
            "num_levels": self.num_levels,
            "num_layers": self.num_layers,
            "num_hiddens": self.num_hiddens,
            "num_components": self.num_components,
            "num_scales": self.num_scales,
            "num_features": self.num_features,
            "input_mean": self.input_mean,
            "input_scale": self.input_scale,
        }


def MCGSM(
    image_shape,
    num_levels=256,
    num_components=32,
    num_scales=4,
    num_features=32,
    name="mcgsm",
    **kwargs,
):
    """The plain MCGSM baseline of the RIDE paper: the factorized MCGSM on
    each pixel's causal neighbourhood, no spatial LSTM
    (`RIDE(num_layers=0)`).

    Example:

    >>> model = kerpix.models.MCGSM((5, 5, 1), num_levels=4,
    ...                             num_components=2, num_scales=2,
    ...                             num_features=2)
    >>> model.num_layers
    0
    """
    return RIDE(
        image_shape,
        num_levels=num_levels,
        num_layers=0,
        num_components=num_components,
        num_scales=num_scales,
        num_features=num_features,
        name=name,
        **kwargs,
    )
