import math

import keras
from keras import ops

from kerpix.heads.pixel_head import PixelHead
from kerpix.utils.validation import validate_positive_int


def discretized_logistic_log_prob(values, mean, log_scale, num_levels):
    """Log-mass of integer `values` under a logistic discretized into bins.

    The value `x` in `[0, L)` sits at `x_s = 2x/(L-1) - 1` in `[-1, 1]`
    with bin `[x_s - h, x_s + h]`, `h = 1/(L-1)`; the first and last bins
    extend to -inf and +inf, so the masses of the `L` values sum to 1.
    With `a = (x_s + h - mean)/s` and `b = (x_s - h - mean)/s`,

        P(x) = σ(a) - σ(b) = σ(a) · σ(-b) · (1 - exp(b - a))

    whose log, `log σ(a) + log σ(-b) + log(1 - exp(-2h/s))`, is exact and
    finite for any finite parameters: it needs neither PixelCNN++'s
    `cdf_delta > 1e-5` test nor its mid-bin density fallback (an
    approximation whose masses do not sum to 1). The edge bins drop the
    factor of their infinite end. When `2h/s < 0.1` the last term uses
    its series `log(2h/s) - h/s + ...`, exact to float32 precision.

    Args:
        values: integer tensor.
        mean, log_scale: float tensors broadcastable with `values`.
        num_levels: int `L`.

    Returns:
        Float32 log-probabilities, the broadcast shape.
    """
    half = 1.0 / (num_levels - 1)
    x = ops.cast(values, "float32") * (2.0 * half) - 1.0
    inv_scale = ops.exp(-log_scale)
    centered = x - mean
    upper = inv_scale * (centered + half)
    lower = inv_scale * (centered - half)
    # log(1 - exp(-width)); below 0.1 by its series (float32-exact there,
    # and without expm1: export graph rule `portable-special`).
    width = 2.0 * half * inv_scale
    small = width < 0.1
    safe = ops.where(small, 1.0, width)
    series = width * (-0.5 + width * (1.0 / 24 - width * width / 2880))
    log_width = ops.where(
        small,
        math.log(2.0 * half) - log_scale + series,
        ops.log(1.0 - ops.exp(-safe)),
    )
    zeros = ops.zeros_like(upper)
    is_first = values <= 0
    is_last = values >= num_levels - 1
    log_below = ops.where(is_last, zeros, ops.log_sigmoid(upper))
    log_above = ops.where(is_first, zeros, ops.log_sigmoid(-lower))
    log_bin = ops.where(
        ops.logical_or(is_first, is_last), zeros, log_width + zeros
    )
    return log_below + log_above + log_bin


@keras.saving.register_keras_serializable(package="kerpix")
class DiscretizedLogisticMixtureHead(PixelHead):
    """Discretized logistic mixture of PixelCNN++ (Salimans et al. 2017).

    Each pixel is a mixture of `K` components; component `k` gives each
    colour `c` a logistic discretized to `num_levels` bins, with mean
    linear in the colours before it (G on R, B on R and G):

        μ_{k,c} = m_{k,c} + Σ_{c' < c} tanh(α_{k,c,c'}) · x_{c'}
        p(x) = Σ_k π_k Π_c DiscLogistic(x_c | μ_{k,c}, s_{k,c})

    (`x` rescaled to `[-1, 1]`; `log s >= min_log_scale`, the paper's
    floor). The head models the colours of a pixel jointly, so it reads
    only the features of colour group 0, which see no sub-pixel of the
    current pixel (`samples_channels_jointly`): one network pass samples
    a whole pixel.

    `log_prob` returns each colour's exact conditional
    `log p(x_c | x_<c)` (posterior mixture weights given the colours
    before it), so each sums to 1 over the `num_levels` values and their
    sum over colours is `log p(x)`. `sample` draws each colour by inverse
    CDF of that same conditional over all levels (one uniform per colour),
    so sampling and likelihood can never disagree; `temperature` divides
    the conditional log-probabilities, as for `CategoricalHead`.

    Parameter layout per pixel: `[logits (K) | means (C·K) | log-scales
    (C·K) | coefficients (C(C-1)/2·K)]`.

    Args:
        num_channels: int. Colour channels. Defaults to `1`.
        num_levels: int. Values per sub-pixel. Defaults to `256`.
        num_mixtures: int. Components `K`. Defaults to `10`.
        min_log_scale: float. Lower bound of the log-scales. Defaults to
            `-7.0`.

    Example:

    >>> head = kerpix.heads.DiscretizedLogisticMixtureHead(
    ...     num_channels=3, num_mixtures=5)
    >>> params = head(np.zeros((1, 2, 2, 12)))
    >>> tuple(params.shape)
    (1, 2, 2, 50)
    >>> lp = head.log_prob(np.zeros((1, 2, 2, 3), "uint8"), params)
    >>> tuple(lp.shape)
    (1, 2, 2, 3)

    References:
        - [Salimans et al., 2017](https://arxiv.org/abs/1701.05517)
    """

    samples_channels_jointly = True

    def __init__(
        self,
        num_channels=1,
        num_levels=256,
        num_mixtures=10,
        min_log_scale=-7.0,
        **kwargs,
    ):
        validate_positive_int("num_mixtures", num_mixtures)
        self.num_mixtures = num_mixtures
        self.min_log_scale = float(min_log_scale)
        super().__init__(num_channels, num_levels, **kwargs)

    @property
    def num_coefficients(self):
        return self.num_channels * (self.num_channels - 1) // 2

    @property
    def params_size(self):
        return self.num_mixtures * (
            1 + 2 * self.num_channels + self.num_coefficients
        )

    def make_projection(self):
        # Group-0 features see no sub-pixel of their own pixel, so an
        # unmasked 1×1 convolution over them is causal for every colour.
        return keras.layers.Conv2D(
            self.params_size, 1, dtype=self.dtype_policy, name="projection"
        )

    def build(self, input_shape):
        features = input_shape[-1]
        if features % self.num_channels:
            raise ValueError(
                "Invalid value for argument `input_shape`. The features "
                f"must split into {self.num_channels} colour groups. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        group = features // self.num_channels
        self.projection.build(tuple(input_shape[:-1]) + (group,))

    def projection_input(self, features):
        if self.num_channels > 1:
            features = ops.split(features, self.num_channels, axis=-1)[0]
        return features

    # === Distribution ===

    def _unpack(self, params):
        """`(log_weights (…,K), means, log_scales (…,C,K), coefficients
        (…,C(C-1)/2,K))` from `(…, params_size)`."""
        k, c = self.num_mixtures, self.num_channels
        params = ops.cast(params, "float32")
        sizes = [k, k + c * k, k + 2 * c * k]
        parts = ops.split(params, sizes, axis=-1)
        logits, means, log_scales, coefficients = parts
        # Static sizes where known, -1 for the batch: a reshape to a
        # computed shape hides the rank (export graph rule `static-rank`).
        shape = tuple(-1 if d is None else d for d in params.shape[:-1])
        if shape.count(-1) > 1:
            shape = tuple(ops.shape(params)[:-1])
        means = ops.reshape(means, shape + (c, k))
        log_scales = ops.maximum(
            ops.reshape(log_scales, shape + (c, k)), self.min_log_scale
        )
        coefficients = ops.tanh(
            ops.reshape(coefficients, shape + (self.num_coefficients, k))
        )
        return ops.log_softmax(logits, axis=-1), means, log_scales, coefficients

    def _mean(self, means, coefficients, scaled, c):
        """`μ_{·,c}` `(…, K)` given the rescaled colours `scaled[c'] (…)`
        of the colours `c' < c`. (Axes are counted from the front: export
        graph rule `static-rank`.)"""
        axis = len(means.shape) - 2
        mean = ops.take(means, c, axis=axis)
        first = c * (c - 1) // 2
        for prev in range(c):
            coefficient = ops.take(coefficients, first + prev, axis=axis)
            mean = mean + coefficient * ops.expand_dims(scaled[prev], axis)
        return mean

    def _rescale(self, values):
        return ops.cast(values, "float32") * (2.0 / (self.num_levels - 1)) - 1

    def log_prob(self, images, params):
        """`log p(x_c | x_<c, context)` in nats, `(N, H, W, C)`."""
        images = ops.cast(images, "int32")
        log_weights, means, log_scales, coefficients = self._unpack(params)
        scaled = [
            self._rescale(images[..., c]) for c in range(self.num_channels)
        ]
        joint = log_weights
        previous = ops.zeros_like(log_weights[..., 0])
        outputs = []
        for c in range(self.num_channels):
            mean = self._mean(means, coefficients, scaled, c)
            joint = joint + discretized_logistic_log_prob(
                images[..., c, None],
                mean,
                log_scales[..., c, :],
                self.num_levels,
            )
            # log p(x_≤c) - log p(x_<c): the colour's exact conditional.
            total = ops.logsumexp(joint, axis=-1)
            outputs.append(total - previous)
            previous = total
        return ops.stack(outputs, axis=-1)

    def sample(self, params, noise, temperature=1.0):
        """Integer pixels `params.shape[:-1] + (C,)`, colour by colour."""
        noise = ops.cast(noise, "float32")
        temperature = float(temperature)
        return self._draw(params, noise, temperature)

    def mode(self, params):
        """Greedy pixel: each colour's most probable value given the
        colours chosen before it."""
        return self._draw(params, None, 0.0)

    def _draw(self, params, noise, temperature):
        log_weights, means, log_scales, coefficients = self._unpack(params)
        levels = ops.arange(self.num_levels, dtype="int32")[:, None]
        axis = len(params.shape) - 1  # the colour / level axis
        posterior = log_weights
        scaled, drawn = [], []
        for c in range(self.num_channels):
            mean = self._mean(means, coefficients, scaled, c)
            log_scale = ops.take(log_scales, c, axis=axis)
            table = discretized_logistic_log_prob(
                levels,
                ops.expand_dims(mean, axis),
                ops.expand_dims(log_scale, axis),
                self.num_levels,
            )
            weights = posterior - ops.logsumexp(posterior, -1, keepdims=True)
            conditional = ops.logsumexp(
                ops.expand_dims(weights, axis) + table, axis=-1
            )
            if temperature == 0:
                value = ops.cast(ops.argmax(conditional, axis=-1), "int32")
            else:
                cdf = ops.cumsum(
                    ops.softmax(conditional / temperature, axis=-1), axis=-1
                )
                threshold = ops.expand_dims(ops.take(noise, c, axis=axis), axis)
                below = ops.cast(cdf < threshold, "int32")
                value = ops.minimum(
                    ops.sum(below, axis=-1), self.num_levels - 1
                )
            drawn.append(value)
            scaled.append(self._rescale(value))
            posterior = posterior + discretized_logistic_log_prob(
                ops.expand_dims(value, axis), mean, log_scale, self.num_levels
            )
        return ops.stack(drawn, axis=axis)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_mixtures": self.num_mixtures,
                "min_log_scale": self.min_log_scale,
            }
        )
        return config
