import keras
from keras import ops

from kerpix.layers.masked_conv2d import MaskedConv2D
from kerpix.layers.masked_conv2d import pointwise
from kerpix.utils.validation import validate_num_levels
from kerpix.utils.validation import validate_positive_int


class PixelHead(keras.layers.Layer):
    """Base class of pixel distributions: features -> params -> pixels.

    A head maps backbone features `(N, H, W, F)` to distribution parameters
    `(N, H, W, params_size)` with a 1×1 mask-B convolution (so colour group
    `c` of the parameters only sees features of groups `<= c`) and exposes
    two methods over that parameter layout:

    - `log_prob(images, params)`: per-sub-pixel log-probabilities in nats,
      shape `(N, H, W, C)`; the sum over one sub-pixel's values is 1.
    - `sample(params, noise, temperature=1.0)`: integer pixels drawn by
      inverse CDF from `noise` uniform in (0, 1) of shape
      `params.shape[:-1] + (noise_dims,)`, so a sample is a pure function
      of its noise that any runtime can reproduce.

    Heads compute in float32 whatever the global dtype policy (like
    keras-hub's `head_dtype`), since log-likelihoods of 256-way softmaxes
    lose precision in float16.

    Subclasses set `params_per_channel` and implement `_log_prob` and
    `_inverse_cdf` on parameters reshaped to `(..., C, params_per_channel)`.

    Args:
        num_channels: int. Colour channels `C` of the image. Defaults to `1`.
        num_levels: int. Number of values of each sub-pixel.
    """

    params_per_channel = None
    # False: the colours of a pixel are independent given the params, and
    # colour order comes from the channel-masked network (one network pass
    # per colour when sampling). True: the head models R→G→B itself.
    samples_channels_jointly = False

    def __init__(self, num_channels=1, num_levels=256, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        validate_positive_int("num_channels", num_channels)
        validate_num_levels(num_levels)
        self.num_channels = num_channels
        self.num_levels = num_levels
        self.projection = self.make_projection()

    def make_projection(self):
        """The features-to-parameters layer: a 1×1 mask-B convolution."""
        return MaskedConv2D(
            self.params_size,
            1,
            mask_type="B",
            num_color_channels=self.num_channels,
            dtype=self.dtype_policy,
            name="projection",
        )

    @property
    def params_size(self):
        """Number of parameters per pixel (last axis of `call`'s output)."""
        return self.num_channels * self.params_per_channel

    @property
    def noise_dims(self):
        """Uniform noise values used to sample one pixel (all channels)."""
        return self.num_channels

    def build(self, input_shape):
        self.projection.build(input_shape)

    def call(self, features):
        return self.projection(self.projection_input(features))

    def call_pointwise(self, features):
        """`call` at one pixel: features `(N, F)` -> parameters
        `(N, params_size)` (the sampling step's form, see
        `kerpix.layers.masked_conv2d.pointwise`)."""
        return pointwise(self.projection, self.projection_input(features))

    def projection_input(self, features):
        """The features the projection reads (all of them by default)."""
        return features

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.params_size,)

    def log_prob(self, images, params):
        """Log-probability in nats of each sub-pixel, `(N, H, W, C)`."""
        images = ops.cast(images, "int32")
        return self._log_prob(images, self._split_channels(params))

    def sample(self, params, noise, temperature=1.0):
        """Integer pixels `params.shape[:-1] + (C,)` by inverse CDF.

        `temperature=0` returns the mode; the noise is then unused.
        """
        params = self._split_channels(params)
        if temperature == 0:
            return self._mode(params)
        noise = ops.cast(noise, "float32")
        return self._inverse_cdf(params, noise, float(temperature))

    def mode(self, params):
        """Most probable value of each sub-pixel given `params`."""
        return self._mode(self._split_channels(params))

    def _split_channels(self, params):
        params = ops.cast(params, "float32")
        shape = ops.shape(params)[:-1]
        return ops.reshape(
            params, shape + (self.num_channels, self.params_per_channel)
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_channels": self.num_channels, "num_levels": self.num_levels}
        )
        return config
