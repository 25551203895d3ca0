import keras

from kerpix.heads.get_head import get_head
from kerpix.models.image_density_model import ImageDensityModel
from kerpix.models.multi_scale_density_model import MultiScaleDensityModel
from kerpix.models.pixel_rnn.pixel_rnn_backbone import PixelRNNBackbone


@keras.saving.register_keras_serializable(package="kerpix")
class RowLSTMPixelRNN(ImageDensityModel):
    """Row LSTM PixelRNN density model (van den Oord et al. 2016).

    An `ImageDensityModel` over a `PixelRNNBackbone(lstm="row_lstm")`.
    Paper settings: binarized MNIST 7 layers × 16 units (the defaults);
    CIFAR-10 12 layers × 128 units.

    Args:
        image_shape: tuple `(H, W, C)`.
        num_levels: int. Values per sub-pixel. Defaults to `256`.
        units: int. Hidden units per LSTM. Defaults to `16`.
        num_layers: int. Residual Row LSTM layers. Defaults to `7`.
        kernel_size: int. Width of the row convolutions. Defaults to `3`.
        first_kernel_size: int. Defaults to `7`.
        output_filters: int. Defaults to `2 * units`.
        head: `"auto"`, `"categorical"`, `"bernoulli"`,
            `"logistic_mixture"` or a head instance.
        name: str. Model name.

    Example:

    >>> model = kerpix.models.RowLSTMPixelRNN((6, 6, 1), num_levels=2,
    ...                                       units=4, num_layers=2)
    >>> model.sample(2, seed=0, verbose=0).shape
    (2, 6, 6, 1)
    """

    preset_family = "row_lstm_pixel_rnn"

    def __init__(
        self,
        image_shape=None,
        num_levels=256,
        units=16,
        num_layers=7,
        kernel_size=3,
        first_kernel_size=7,
        output_filters=None,
        head="auto",
        name="row_lstm_pixel_rnn",
        backbone=None,
        **kwargs,
    ):
        if backbone is None:  # else: from_config, the parts are built
            backbone, head = _pixel_rnn_parts(
                image_shape,
                num_levels,
                head,
                name,
                units=units,
                num_layers=num_layers,
                lstm="row_lstm",
                kernel_size=kernel_size,
                first_kernel_size=first_kernel_size,
                output_filters=output_filters,
            )
        super().__init__(backbone, head, name=name, **kwargs)


@keras.saving.register_keras_serializable(package="kerpix")
class DiagonalBiLSTMPixelRNN(ImageDensityModel):
    """Diagonal BiLSTM PixelRNN density model (van den Oord et al. 2016).

    An `ImageDensityModel` over a `PixelRNNBackbone(lstm="diagonal_bilstm")`:
    the whole context above and to the left of every pixel.
    Paper settings: binarized MNIST 7 layers × 16 units (the defaults);
    CIFAR-10 12 layers × 128 units.

    Args:
        image_shape: tuple `(H, W, C)`.
        num_levels: int. Values per sub-pixel. Defaults to `256`.
        units: int. Hidden units per direction. Defaults to `16`.
        num_layers: int. Residual Diagonal BiLSTM layers. Defaults to `7`.
        first_kernel_size: int. Defaults to `7`.
        output_filters: int. Defaults to `2 * units`.
        head: `"auto"`, `"categorical"`, `"bernoulli"`,
            `"logistic_mixture"` or a head instance.
        name: str. Model name.

    Example:

    >>> model = kerpix.models.DiagonalBiLSTMPixelRNN(
    ...     (6, 6, 1), num_levels=2, units=4, num_layers=2)
    >>> model.sample(2, seed=0, verbose=0).shape
    (2, 6, 6, 1)
    """

    preset_family = "diagonal_bilstm_pixel_rnn"

    def __init__(
        self,
        image_shape=None,
        num_levels=256,
        units=16,
        num_layers=7,
        first_kernel_size=7,
        output_filters=None,
        head="auto",
        name="diagonal_bilstm_pixel_rnn",
        backbone=None,
        **kwargs,
    ):
        if backbone is None:  # else: from_config, the parts are built
            backbone, head = _pixel_rnn_parts(
                image_shape,
                num_levels,
                head,
                name,
                units=units,
                num_layers=num_layers,
                lstm="diagonal_bilstm",
                first_kernel_size=first_kernel_size,
                output_filters=output_filters,
            )
        super().__init__(backbone, head, name=name, **kwargs)


def _pixel_rnn_parts(image_shape, num_levels, head, name, **backbone_kwargs):
    """The backbone and head of a PixelRNN named `name`."""
    backbone = PixelRNNBackbone(
        image_shape, name=f"{name}_backbone", **backbone_kwargs
    )
    return backbone, get_head(head, backbone.image_shape[-1], num_levels)


@keras.saving.register_keras_serializable(package="kerpix")
class MultiScalePixelRNN(MultiScaleDensityModel):
    """Multi-scale PixelRNN density model (van den Oord et al. 2016, §2.4).

    An unconditional PixelRNN over the small image `s = x[:, ::f_h, ::f_w]`
    (`f = image / small size`) and a conditional PixelRNN over the full
    image whose every layer adds a 1×1 projection of the upsampled `s` to
    its input-to-state map; `log_prob` is the exact joint (see
    `MultiScaleDensityModel`).

    Args:
        image_shape: tuple `(H, W, C)`.
        small_image_shape: tuple `(h, w, C)`; `h`, `w` divide `H`, `W`.
        num_levels: int. Values per sub-pixel. Defaults to `256`.
        lstm: `"row_lstm"` or `"diagonal_bilstm"`, both scales. Defaults
            to `"diagonal_bilstm"`.
        units, num_layers: the conditional (full-size) PixelRNN's LSTMs.
            Default to `16` and `7`.
        small_units, small_num_layers: the small PixelRNN's; default to
            `units` and `num_layers`.
        conditioning_filters: int. Channels of the upsampled map.
            Defaults to `32`.
        kernel_size: int. Row LSTM convolution width. Defaults to `3`.
        first_kernel_size: int. Defaults to `7`.
        head: `"auto"`, `"categorical"`, `"bernoulli"`,
            `"logistic_mixture"` or a head instance (full scale; the small
            model gets the same kind).
        name: str. Model name.

    Example:

    >>> model = kerpix.models.MultiScalePixelRNN(
    ...     (8, 8, 1), (4, 4, 1), num_levels=2, units=4, num_layers=1)
    >>> model.sample(2, seed=0, verbose=0).shape
    (2, 8, 8, 1)
    """

    preset_family = "multi_scale_pixel_rnn"

    def __init__(
        self,
        image_shape=None,
        small_image_shape=None,
        num_levels=256,
        lstm="diagonal_bilstm",
        units=16,
        num_layers=7,
        small_units=None,
        small_num_layers=None,
        conditioning_filters=32,
        kernel_size=3,
        first_kernel_size=7,
        head="auto",
        name="multi_scale_pixel_rnn",
        small_model=None,
        backbone=None,
        **kwargs,
    ):
        if backbone is None:  # else: from_config, the parts are built
            sizes = {"kernel_size": kernel_size} if lstm == "row_lstm" else {}
            small_backbone, small_head = _pixel_rnn_parts(
                small_image_shape,
                num_levels,
                head if isinstance(head, str) else "auto",
                f"{name}_small",
                units=small_units or units,
                num_layers=small_num_layers or num_layers,
                lstm=lstm,
                first_kernel_size=first_kernel_size,
                **sizes,
            )
            small_model = ImageDensityModel(
                small_backbone, small_head, name=f"{name}_small"
            )
            backbone = PixelRNNBackbone(
                image_shape,
                units=units,
                num_layers=num_layers,
                lstm=lstm,
                first_kernel_size=first_kernel_size,
                conditional_shape=small_model.image_shape,
                conditioning_filters=conditioning_filters,
                name=f"{name}_backbone",
                **sizes,
            )
            head = get_head(head, backbone.image_shape[-1], num_levels)
        super().__init__(small_model, backbone, head, name=name, **kwargs)
