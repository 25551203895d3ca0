import keras

from kerpix.heads.get_head import get_head
from kerpix.models.auto_encoder_density_model import AutoEncoderDensityModel
from kerpix.models.gated_pixel_cnn.gated_pixel_cnn_backbone import (
    GatedPixelCNNBackbone,
)
from kerpix.models.pixel_cnn_auto_encoder.image_encoder import ImageEncoder


@keras.saving.register_keras_serializable(package="kerpix")
class PixelCNNAutoEncoder(AutoEncoderDensityModel):
    """PixelCNN auto-encoder (van den Oord et al. 2016, §3.3).

    A convolutional `ImageEncoder` maps the image to a `code_size` code
    `h`; a conditional Gated PixelCNN decoder models `p(x | h)`; both
    train end to end on the reconstruction NLL. By default the decoder
    reads `h` through the location-dependent `V * m(h)` (a deconvolutional
    network `m`, `SpatialConditioning`); `spatial_conditioning=False`
    uses the per-image bias `V h`.

    Args:
        image_shape: tuple `(H, W, C)`.
        num_levels: int. Values per sub-pixel. Defaults to `256`.
        code_size: int. Size of the code `h` (the paper: 10). Defaults to
            `10`.
        filters, num_layers, kernel_size, first_kernel_size,
        output_filters: the decoder's, see `GatedPixelCNN`.
        encoder_filters: int. Filters of the encoder's first block.
            Defaults to `32`.
        num_downsamplings: int. Stride-2 blocks of the encoder (and, with
            spatial conditioning, upsamplings of `m`). Defaults to `2`.
        spatial_conditioning: bool. Defaults to `True`.
        conditioning_filters: int. Channels of `m(h)`. Defaults to `32`.
        head: `"auto"`, `"categorical"`, `"bernoulli"`,
            `"logistic_mixture"` or a head instance.
        name: str. Model name.

    Example:

    >>> model = kerpix.models.PixelCNNAutoEncoder(
    ...     (8, 8, 1), num_levels=2, code_size=3, filters=4, num_layers=2)
    >>> model.encode(np.zeros((1, 8, 8, 1), "int32")).shape
    (1, 3)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1606.05328)
    """

    preset_family = "pixel_cnn_auto_encoder"

    def __init__(
        self,
        image_shape=None,
        num_levels=256,
        code_size=10,
        filters=64,
        num_layers=7,
        kernel_size=5,
        first_kernel_size=7,
        output_filters=None,
        encoder_filters=32,
        num_downsamplings=2,
        spatial_conditioning=True,
        conditioning_filters=32,
        head="auto",
        name="pixel_cnn_auto_encoder",
        encoder=None,
        backbone=None,
        **kwargs,
    ):
        if backbone is None:  # else: from_config, the parts are built
            encoder = ImageEncoder(
                image_shape,
                code_size=code_size,
                filters=encoder_filters,
                num_downsamplings=num_downsamplings,
                name=f"{name}_encoder",
            )
            backbone = GatedPixelCNNBackbone(
                image_shape,
                filters=filters,
                num_layers=num_layers,
                kernel_size=kernel_size,
                first_kernel_size=first_kernel_size,
                output_filters=output_filters,
                conditional_dims=code_size,
                spatial_conditioning=spatial_conditioning,
                conditioning_filters=conditioning_filters,
                conditioning_upsamplings=num_downsamplings,
                name=f"{name}_decoder",
            )
            head = get_head(head, backbone.image_shape[-1], num_levels)
        super().__init__(encoder, backbone, head, name=name, **kwargs)
