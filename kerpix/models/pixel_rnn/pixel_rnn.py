from kerpix.heads.get_head import get_head
from kerpix.models.density_model import ImageDensityModel
from kerpix.models.pixel_rnn.pixel_rnn_backbone import PixelRNNBackbone


def RowLSTMPixelRNN(
    image_shape,
    num_levels=256,
    units=16,
    num_layers=7,
    kernel_size=3,
    first_kernel_size=7,
    output_filters=None,
    head="auto",
    name="row_lstm_pixel_rnn",
):
    """Row LSTM PixelRNN density model (van den Oord et al. 2016).

    Builds `ImageDensityModel(PixelRNNBackbone(lstm="row_lstm"), head)`.
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
    return _pixel_rnn(
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


def DiagonalBiLSTMPixelRNN(
    image_shape,
    num_levels=256,
    units=16,
    num_layers=7,
    first_kernel_size=7,
    output_filters=None,
    head="auto",
    name="diagonal_bilstm_pixel_rnn",
):
    """Diagonal BiLSTM PixelRNN density model (van den Oord et al. 2016).

    Builds `ImageDensityModel(PixelRNNBackbone(lstm="diagonal_bilstm"),
    head)`: the whole context above and to the left of every pixel.
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
    return _pixel_rnn(
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


def _pixel_rnn(image_shape, num_levels, head, name, **backbone_kwargs):
    backbone = PixelRNNBackbone(
        image_shape, name=f"{name}_backbone", **backbone_kwargs
    )
    head = get_head(head, backbone.image_shape[-1], num_levels)
    return ImageDensityModel(backbone, head, name=name)
