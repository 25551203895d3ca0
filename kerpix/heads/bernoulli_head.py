import keras
from keras import ops

from kerpix.heads.pixel_head import PixelHead


@keras.saving.register_keras_serializable(package="kerpix")
class BernoulliHead(PixelHead):
    """Bernoulli distribution of binary sub-pixels (binarized MNIST).

    p(x_{ij,c} = 1 | x_<) = sigmoid(l_{ij,c}), one logit per sub-pixel.
    Log-probabilities use `log_sigmoid`, exact for any logit. Sampling by
    inverse CDF returns 1 when `u > P(x = 0) = sigmoid(-l)`.

    Args:
        num_channels: int. Channels of the image. Defaults to `1`.

    Example:

    >>> head = kerpix.heads.BernoulliHead()
    >>> params = head(np.zeros((1, 2, 2, 4)))
    >>> lp = head.log_prob(np.ones((1, 2, 2, 1), "uint8"), params)
    >>> tuple(lp.shape)
    (1, 2, 2, 1)
    """

    params_per_channel = 1

    def __init__(self, num_channels=1, **kwargs):
        kwargs.pop("num_levels", None)
        super().__init__(num_channels, num_levels=2, **kwargs)

    def _log_prob(self, images, logits):
        logits = ops.squeeze(logits, -1)
        x = ops.cast(images, "float32")
        return x * ops.log_sigmoid(logits) + (1.0 - x) * ops.log_sigmoid(
            -logits
        )

    def _inverse_cdf(self, logits, noise, temperature):
        p_zero = ops.sigmoid(-ops.squeeze(logits, -1) / temperature)
        return ops.cast(noise > p_zero, "int32")

    def _mode(self, logits):
        return ops.cast(ops.squeeze(logits, -1) > 0, "int32")

    def get_config(self):
        config = super().get_config()
        del config["num_levels"]
        return config
