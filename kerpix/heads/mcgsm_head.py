import math

import keras
from keras import ops

from kerpix.ops.special import normal_quantile
from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class MCGSMHead(keras.layers.Layer):
    """Factorized mixture of conditional Gaussian scale mixtures (MCGSM;
    Theis et al. 2012, used by RIDE): a density of a continuous scalar
    pixel value `y` given features `h`.

    With components `c`, scales `s` and features `u_f` shared by all
    components (the factorization):

        log p(c, s | h) = η_cs − ½ e^{α_cs} Σ_f β_cf² (u_fᵀ h)² − log Z(h)
        p(y | h, c, s)  = N(y; a_cᵀ h + b_c, 1 / (λ_c e^{α_cs}))
        p(y | h)        = Σ_cs p(c, s | h) p(y | h, c, s)

    `Z(h)` normalises the gate over all `(c, s)` (a softmax), and every
    expert is a proper Gaussian, so each conditional integrates to 1
    (tested numerically). `log_prob` is exact (log-sum-exp over the
    `C·S` terms); `sample` picks `(c, s)` by the inverse CDF of the gate
    at one uniform and draws the Gaussian by its inverse CDF at another.

    Args:
        num_components: int `C`. Defaults to `32`.
        num_scales: int `S`. Defaults to `4`.
        num_features: int `F`. Defaults to `32`.
        kernel_initializer: initializer of `u`, `a`, `β`. Defaults to
            `RandomNormal(stddev=0.1)`.

    Example:

    >>> head = kerpix.heads.MCGSMHead(num_components=2, num_scales=2,
    ...                               num_features=3)
    >>> h = np.zeros((4, 5), "float32")
    >>> tuple(head.log_prob(np.zeros((4,), "float32"), h).shape)
    (4,)

    References:
        - [Theis et al., 2012](https://doi.org/10.1371/journal.pone.0039857)
        - [Theis & Bethge, 2015](https://arxiv.org/abs/1506.03478)
    """

    noise_dims = 2

    def __init__(
        self,
        num_components=32,
        num_scales=4,
        num_features=32,
        kernel_initializer=None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        validate_positive_int("num_components", num_components)
        validate_positive_int("num_scales", num_scales)
        validate_positive_int("num_features", num_features)
        self.num_components = num_components
        self.num_scales = num_scales
        self.num_features = num_features
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.RandomNormal(stddev=0.1)
        )

    def build(self, input_shape):
        dims = int(input_shape[-1])
        c, s, f = self.num_components, self.num_scales, self.num_features
        init = self.kernel_initializer

        def weight(name, shape, initializer):
            return self.add_weight(
                shape=shape, initializer=initializer, name=name
            )

        scales = keras.initializers.RandomNormal(stddev=0.5)
        self.eta = weight("eta", (c, s), "zeros")
        self.alpha = weight("alpha", (c, s), scales)
        self.beta = weight("beta", (c, f), init)
        self.features = weight("features", (dims, f), init)
        self.predictors = weight("predictors", (dims, c), init)
        self.means = weight("means", (c,), "zeros")
        self.log_precisions = weight("log_precisions", (c,), "zeros")

    def _terms(self, h):
        """Gate log-weights `(..., C, S)` and the experts' means `(..., C)`
        and log-precisions `(..., C, S)`."""
        if not self.built:  # used directly, not as a called layer
            self.build(tuple(h.shape))
        h = ops.cast(h, self.compute_dtype)
        projected = ops.matmul(h, self.features)  # (..., F)
        energy = ops.matmul(
            ops.square(projected), ops.transpose(ops.square(self.beta))
        )  # (..., C)
        log_gate = self.eta - 0.5 * ops.exp(self.alpha) * energy[..., None]
        log_gate = log_gate - ops.logsumexp(
            log_gate, axis=(-2, -1), keepdims=True
        )
        mean = ops.matmul(h, self.predictors) + self.means
        log_precision = self.log_precisions[:, None] + self.alpha
        return log_gate, mean, log_precision

    def log_prob(self, values, features):
        """`log p(y | h)` in nats, shape `values.shape`; `features` are
        `values.shape + (D,)`."""
        log_gate, mean, log_precision = self._terms(features)
        y = ops.cast(values, self.compute_dtype)[..., None, None]
        residual = y - mean[..., None]
        log_expert = 0.5 * (
            log_precision
            - math.log(2 * math.pi)
            - ops.exp(log_precision) * ops.square(residual)
        )
        return ops.logsumexp(log_gate + log_expert, axis=(-2, -1))

    def sample(self, features, noise, temperature=1.0):
        """Values `features.shape[:-1]` drawn from the conditionals by
        inverse CDF of `noise` `features.shape[:-1] + (2,)`, uniform in
        (0, 1): the first picks `(c, s)`, the second the Gaussian value.
        `temperature` scales the experts' standard deviations."""
        log_gate, mean, log_precision = self._terms(features)
        flat = ops.reshape(
            log_gate,
            ops.shape(log_gate)[:-2] + (self.num_components * self.num_scales,),
        )
        noise = ops.cast(noise, self.compute_dtype)
        cdf = ops.cumsum(ops.exp(flat), axis=-1)
        pick = ops.sum(
            ops.cast(cdf[..., :-1] <= noise[..., :1], "int32"), axis=-1
        )  # inverse CDF: the first (c, s) whose CDF exceeds the noise
        onehot = ops.one_hot(pick, self.num_components * self.num_scales)
        component = ops.reshape(
            onehot,
            ops.shape(onehot)[:-1] + (self.num_components, self.num_scales),
        )
        chosen_mean = ops.sum(ops.sum(component, -1) * mean, axis=-1)
        chosen_log_precision = ops.sum(
            ops.reshape(component * log_precision, ops.shape(flat)), axis=-1
        )
        u = ops.clip(noise[..., 1], 1e-7, 1 - 1e-7)
        normal = normal_quantile(u)  # export graph rule `portable-special`
        scale = ops.exp(-0.5 * chosen_log_precision) * temperature
        return chosen_mean + scale * normal

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_components": self.num_components,
                "num_scales": self.num_scales,
                "num_features": self.num_features,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
