"""Negative log-likelihood of whole images under a pixel head."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerpix")
class NegativeLogLikelihood(keras.losses.Loss):
    """Negative log-likelihood in nats per image, `-Σ_{h,w,c} log p`.

    `y_true` are the integer images `(N, H, W, C)` and `y_pred` the head's
    parameters `(N, H, W, P)`; the default reduction averages over the
    batch, giving nats/image. Divide with `kerpix.metrics.bits_per_dim` for
    bits/dim.

    Args:
        head: a `kerpix.heads.PixelHead`.

    Example:

    >>> head = kerpix.heads.CategoricalHead(num_levels=4)
    >>> loss = kerpix.losses.NegativeLogLikelihood(head)
    >>> params = np.zeros((2, 3, 3, 4), "float32")
    >>> round(float(loss(np.zeros((2, 3, 3, 1)), params)), 4)
    12.4766
    """

    def __init__(self, head, name="negative_log_likelihood", **kwargs):
        super().__init__(name=name, **kwargs)
        self.head = head

    def call(self, y_true, y_pred):
        log_prob = self.head.log_prob(y_true, y_pred)
        return -ops.sum(log_prob, axis=(1, 2, 3))

    def get_config(self):
        config = super().get_config()
        config["head"] = keras.saving.serialize_keras_object(self.head)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["head"] = keras.saving.deserialize_keras_object(config["head"])
        return cls(**config)


class BatchMean(keras.losses.Loss):
    """The (sample-weighted) batch mean of per-example losses given as
    `y_pred`, through Keras's loss reduction, which also divides by the
    number of replicas under `tf.distribute` (whose gradients are summed).
    Used by `ImageDensityModel.compute_loss`."""

    def __init__(self, name="batch_mean", **kwargs):
        kwargs.setdefault("reduction", "mean_with_sample_weight")
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return y_pred
