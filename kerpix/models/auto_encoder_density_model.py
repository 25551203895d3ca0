import keras

from kerpix.models.image_density_model import ImageDensityModel
from kerpix.models.inputs import split_inputs
from kerpix.utils.batching import map_batches


@keras.saving.register_keras_serializable(package="kerpix")
class AutoEncoderDensityModel(ImageDensityModel):
    """Auto-encoder with an autoregressive decoder: `p(x | h = enc(x))`.

    An encoder maps the image to a code `h`; a conditional backbone and
    head (the decoder) model `p(x | h)` autoregressively. Training
    minimises the reconstruction negative log-likelihood
    `-log p(x | enc(x))` end to end, so `fit(images)` and
    `evaluate(images)` take images only; `bits_per_dim` is that of the
    reconstruction. It is not a likelihood of `x` (the code depends on
    `x`), so do not compare it with unconditional models.

    - `encode(images)` returns the codes.
    - `log_prob(images)` is `log p(x | enc(x))`; pass
      `conditional_input=codes` for `log p(x | h)` with any codes.
    - `sample(conditional_input=codes)` draws images given codes:
      reconstructions that keep the encoded content and resample detail.
      Exported artifacts are the decoder: they take the codes as
      `conditional_input`.

    Args:
        encoder: a `keras.Model` mapping preprocessed images (floats in
            `[-1, 1]`) to codes `(N, backbone.conditional_dims)`.
        backbone: a conditional `kerpix.models.Backbone`.
        head: a `kerpix.heads.PixelHead`.
        preprocessor: see `ImageDensityModel`.

    Example:

    >>> model = kerpix.models.PixelCNNAutoEncoder(
    ...     (8, 8, 1), num_levels=2, code_size=3, filters=4, num_layers=2)
    >>> images = np.zeros((2, 8, 8, 1), "int32")
    >>> model.encode(images).shape
    (2, 3)
    >>> model.sample(conditional_input=model.encode(images), seed=0,
    ...              verbose=0).shape
    (2, 8, 8, 1)
    """

    conditions_on_own_images = True

    def __init__(self, encoder, backbone, head, preprocessor=None, **kwargs):
        code_size = int(encoder.output.shape[-1])
        if not backbone.conditional_dims:
            raise ValueError(
                "Invalid value for argument `backbone`. The decoder must be "
                "conditional (conditional_dims set) to read the codes. "
                f"Received: backbone.conditional_dims="
                f"{backbone.conditional_dims}"
            )
        if code_size != backbone.conditional_dims:
            raise ValueError(
                "Invalid value for argument `encoder`. Its codes must have "
                f"backbone.conditional_dims={backbone.conditional_dims} "
                f"values. Received: codes of size {code_size}"
            )
        self.encoder = encoder
        super().__init__(backbone, head, preprocessor=preprocessor, **kwargs)
        if self.num_classes is not None:
            raise ValueError(
                "Invalid value for argument `num_classes`. Codes are "
                "vectors, not class labels; pass num_classes=None. "
                f"Received: num_classes={self.num_classes}"
            )

    @property
    def code_size(self):
        return self.backbone.conditional_dims

    def call(self, inputs, training=None):
        images, codes = split_inputs(inputs)
        x = self.preprocessor(images)
        if codes is None:
            codes = self.encoder(x, training=training)
        return self.compute_params(x, codes, training=training)

    def encode(self, images, batch_size=256):
        """Codes `(N, code_size)` (NumPy float32) of integer images."""
        images = self.validate_images(images)
        return map_batches(
            lambda x: self.encoder(self.preprocessor(x)),
            [images],
            batch_size,
            empty_shape=(0, self.code_size),
        )

    def log_prob(self, images, conditional_input=None, batch_size=256):
        """`log p(x | h)` in nats per image; `h = enc(x)` unless codes
        `(N, code_size)` are given as `conditional_input`."""
        if conditional_input is None:
            conditional_input = self.encode(images, batch_size)
        return super().log_prob(images, conditional_input, batch_size)

    def get_config(self):
        config = super().get_config()
        config["encoder"] = keras.layers.serialize(self.encoder)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.layers.deserialize(config["encoder"])
        return super().from_config(config)
