import keras

from kerpix.models.ride.ride import RIDE


@keras.saving.register_keras_serializable(package="kerpix")
class MCGSM(RIDE):
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

    preset_family = "mcgsm"

    def __init__(
        self,
        image_shape,
        num_levels=256,
        num_components=32,
        num_scales=4,
        num_features=32,
        name="mcgsm",
        **kwargs,
    ):
        # A saved config (RIDE's) states num_layers=0: nothing else holds.
        num_layers = kwargs.pop("num_layers", 0)
        if num_layers != 0:
            raise ValueError(
                "Invalid value for argument `num_layers`: an MCGSM has no "
                "spatial LSTM (0); use kerpix.models.RIDE for "
                f"num_layers={num_layers!r}."
            )
        super().__init__(
            image_shape,
            num_levels=num_levels,
            num_layers=0,
            num_components=num_components,
            num_scales=num_scales,
            num_features=num_features,
            name=name,
            **kwargs,
        )
