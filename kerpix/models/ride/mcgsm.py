from kerpix.models.ride.ride import RIDE


def MCGSM(
    image_shape,
    num_levels=256,
    num_components=32,
    num_scales=4,
    num_features=32,
    name="mcgsm",
    **kwargs,
):
    """The plain MCGSM baseline of the RIDE paper: the factorized MCGSM on
    each pixel's causal neighbourhood, no spatial LSTM
    (`RIDE(num_layers=0)`).

    Example:

    >>> model = kerpix.models.MCGSM((5, 5, 1), num_levels=4,
    ...                             num_components=2, num_scales=2,
    ...                             num_features=2)
    >>> model.backbone.num_layers
    0
    """
    return RIDE(
        image_shape,
        num_levels=num_levels,
        num_layers=0,
        num_components=num_components,
        num_scales=num_scales,
        num_features=num_features,
        name=name,
        **kwargs,
    )
