import keras

from kerpix.heads.get_head import get_head
from kerpix.models.image_density_model import ImageDensityModel
from kerpix.models.pixel_cnn.pixel_cnn_backbone import PixelCNNBackbone


@keras.saving.register_keras_serializable(package="kerpix")
class PixelCNN(ImageDensityModel):
    """Masked-convolution PixelCNN density model (PixelRNN paper §3.5).

    An `ImageDensityModel` over a `PixelCNNBackbone`. With
    `num_levels=2` the head defaults to Bernoulli (binarized MNIST), else a
    `num_levels`-way softmax per sub-pixel.

    Args:
        image_shape: tuple `(H, W, C)`.
        num_levels: int. Values per sub-pixel. Defaults to `256`.
        filters: int. Residual stream width `2h`. Defaults to `64`.
        num_layers: int. Residual blocks. Defaults to `7`.
        kernel_size: int. Kernel of the blocks' masked conv. Defaults to `3`.
        first_kernel_size: int. Kernel of the mask-A layer. Defaults to `7`.
        output_filters: int. Width of the output 1×1 layer. Defaults to
            `filters`.
        block: str. The registered block (`kerpix.layers.BLOCKS`) stacked
            `num_layers` times. Defaults to `"residual"`.
        head: `"auto"`, `"categorical"`, `"bernoulli"` or a head instance.
        name: str. Model name.

    Example:

    >>> model = kerpix.models.PixelCNN((8, 8, 3), filters=6, num_layers=1)
    >>> tuple(model(np.zeros((1, 8, 8, 3), "uint8")).shape)
    (1, 8, 8, 768)
    """

    preset_family = "pixel_cnn"

    def __init__(
        self,
        image_shape=None,
        num_levels=256,
        filters=64,
        num_layers=7,
        kernel_size=3,
        first_kernel_size=7,
        output_filters=None,
        block="residual",
        head="auto",
        name="pixel_cnn",
        backbone=None,
        **kwargs,
    ):
        if backbone is None:  # else: from_config, the parts are built
            backbone = PixelCNNBackbone(
                image_shape,
                filters=filters,
                num_layers=num_layers,
                kernel_size=kernel_size,
                first_kernel_size=first_kernel_size,
                output_filters=output_filters,
                block=block,
                name=f"{name}_backbone",
            )
            head = get_head(head, backbone.image_shape[-1], num_levels)
        super().__init__(backbone, head, name=name, **kwargs)
