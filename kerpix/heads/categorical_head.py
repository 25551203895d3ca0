import keras
from keras import ops

from kerpix.heads.pixel_head import PixelHead


@keras.saving.register_keras_serializable(package="kerpix")
class CategoricalHead(PixelHead):
    """Softmax over `num_levels` values for each sub-pixel (PixelRNN §2.2).

    p(x_{ij,c} = k | x_<) = softmax(logits_{ij,c})_k. The logits of colour
    `c` are the `c`-th contiguous block of `num_levels` parameters, produced
    by a mask-B projection, so with a channel-grouped backbone R, G and B
    are predicted in that order inside a pixel.

    Sampling uses the inverse CDF: the value is the number of cumulative
    probabilities strictly below the uniform noise `u`.

    Args:
        num_channels: int. Colour channels of the image. Defaults to `1`.
        num_levels: int. Values per sub-pixel. Defaults to `256`.

    Example:

    >>> head = kerpix.heads.CategoricalHead(num_channels=3, num_levels=4)
    >>> params = head(np.zeros((1, 2, 2, 8)))
    >>> tuple(params.shape)
    (1, 2, 2, 12)
    >>> lp = head.log_prob(np.zeros((1, 2, 2, 3), "uint8"), params)
    >>> np.allclose(lp, np.log(0.25))
    True

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1601.06759)
    """

    def __init__(self, num_channels=1, num_levels=256, **kwargs):
        self.params_per_channel = num_levels
        super().__init__(num_channels, num_levels, **kwargs)

    def _log_prob(self, images, logits):
        log_probs = ops.log_softmax(logits, axis=-1)
        picked = ops.take_along_axis(
            log_probs, ops.expand_dims(images, -1), axis=-1
        )
        return ops.squeeze(picked, -1)

    def _inverse_cdf(self, logits, noise, temperature):
        cdf = ops.cumsum(ops.softmax(logits / temperature, axis=-1), axis=-1)
        below = ops.cast(cdf < ops.expand_dims(noise, -1), "int32")
        # Rounding can leave cdf[-1] a few ulps under 1, so u in that gap
        # would count all L entries; that last bin has mass ~1e-7, and
        # it belongs to level L-1.
        return ops.minimum(ops.sum(below, axis=-1), self.num_levels - 1)

    def _mode(self, logits):
        return ops.cast(ops.argmax(logits, axis=-1), "int32")
