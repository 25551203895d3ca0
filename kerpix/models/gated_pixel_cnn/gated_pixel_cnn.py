import keras

from kerpix.heads.get_head import get_head
from kerpix.models.gated_pixel_cnn.gated_pixel_cnn_backbone import (
    GatedPixelCNNBackbone,
)
from kerpix.models.image_density_model import ImageDensityModel


@keras.saving.register_keras_serializable(package="kerpix")
class GatedPixelCNN(ImageDensityModel):
    """Gated PixelCNN density model (van den Oord et al. 2016).

    An `ImageDensityModel` over a `GatedPixelCNNBackbone`; see the
    backbone for the architecture.

    Args:
        image_shape: tuple `(H, W, C)`.
        num_levels: int. Values per sub-pixel. Defaults to `256`.
        filters: int. Channels of each stack. Defaults to `64`.
        num_layers: int. Gated blocks. Defaults to `7`.
        kernel_size: int. Kernel of the later blocks. Defaults to `5`.
        first_kernel_size: int. Kernel of the first block. Defaults to `7`.
        output_filters: int. Width of the output 1×1 layer.
        num_classes: int or `None`. Class-conditional model: pass integer
            labels `(N,)` as `conditional_input` (or as `y` / the second
            item of a dataset to `fit`); each block adds a learned per-class
            bias to both stacks.
        conditional_shape: tuple `(D,)` or `None`. Condition on any vector
            (e.g. an embedding) instead of a class.
        spatial_conditioning: bool. Condition location-dependently: a
            learned deconvolutional network maps the class/vector `h` to a
            map `s = m(h)` of the image size and each block adds
            `V * s` (paper eq. 5) instead of the per-image bias `V h`.
            Defaults to `False`.
        conditioning_filters: int. Channels of `s`. Defaults to `32`.
        head: `"auto"`, `"categorical"`, `"bernoulli"`,
            `"logistic_mixture"` or a head instance.
        name: str. Model name.

    Example:

    >>> model = kerpix.models.GatedPixelCNN((8, 8, 1), num_levels=2,
    ...                                     filters=4, num_layers=2)
    >>> model.sample(2, seed=0, verbose=0).shape
    (2, 8, 8, 1)
    """

    preset_family = "gated_pixel_cnn"

    def __init__(
        self,
        image_shape=None,
        num_levels=256,
        filters=64,
        num_layers=7,
        kernel_size=5,
        first_kernel_size=7,
        output_filters=None,
        num_classes=None,
        conditional_shape=None,
        spatial_conditioning=False,
        conditioning_filters=32,
        head="auto",
        name="gated_pixel_cnn",
        backbone=None,
        **kwargs,
    ):
        if backbone is None:  # else: from_config, the parts are built
            if num_classes is not None and conditional_shape is not None:
                raise ValueError(
                    "Invalid values for arguments `num_classes`, "
                    "`conditional_shape`. Pass one of them. Received: "
                    f"num_classes={num_classes}, "
                    f"conditional_shape={conditional_shape}"
                )
            conditional_dims = num_classes
            if conditional_shape is not None:
                if len(tuple(conditional_shape)) != 1:
                    raise ValueError(
                        "Invalid value for argument `conditional_shape`. "
                        "Expected a vector shape (D,). Received: "
                        f"conditional_shape={conditional_shape}"
                    )
                conditional_dims = int(tuple(conditional_shape)[0])
            backbone = GatedPixelCNNBackbone(
                image_shape,
                filters=filters,
                num_layers=num_layers,
                kernel_size=kernel_size,
                first_kernel_size=first_kernel_size,
                output_filters=output_filters,
                conditional_dims=conditional_dims,
                spatial_conditioning=spatial_conditioning,
                conditioning_filters=conditioning_filters,
                name=f"{name}_backbone",
            )
            head = get_head(head, backbone.image_shape[-1], num_levels)
        super().__init__(
            backbone, head, num_classes=num_classes, name=name, **kwargs
        )
