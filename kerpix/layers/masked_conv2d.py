import math

import keras
from keras import ops

from kerpix.ops.causal_masks import MASK_TYPES
from kerpix.ops.causal_masks import _normalize_kernel_size
from kerpix.ops.causal_masks import causal_mask
from kerpix.ops.pixels import update_pixel
from kerpix.ops.pixels import window
from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class MaskedConv2D(keras.layers.Conv2D):
    """2D convolution whose kernel is causally masked (PixelCNN).

    The layer convolves with `kernel * mask`, where `mask` comes from
    `kerpix.ops.causal_mask`: the output at pixel `(i, j)` sees only the
    rows above and the pixels to the left in row `i`, plus (at `(i, j)`
    itself) the colour groups that precede the output's group (mask "A")
    or precede-or-equal it (mask "B"). The mask is a constant rebuilt in
    `build()`, not a weight: it is never saved and the layer is causal from
    its first call, untrained weights included.

    Padding is always "same" and strides 1, so the output has the input's
    spatial size.

    Args:
        filters: int. Number of output channels.
        kernel_size: int or tuple of 2 odd ints.
        mask_type: `"A"` (first layer: excludes the current sub-pixel),
            `"B"` (later layers) or `"V"` (Gated PixelCNN vertical stack:
            rows up to the centre row; read only one row lower). Defaults
            to `"B"`.
        num_color_channels: int. Colour channels of the modelled image;
            input and output channels are split into this many contiguous
            colour groups (PixelRNN §3.4). Defaults to `1`.
        **kwargs: other `keras.layers.Conv2D` arguments (`activation`,
            `use_bias`, initializers, regularizers, `dilation_rate`, ...).

    Input shape:
        4D tensor `(batch_size, height, width, channels)`.

    Output shape:
        4D tensor `(batch_size, height, width, filters)`.

    Example:

    >>> layer = kerpix.layers.MaskedConv2D(8, 7, mask_type="A")
    >>> tuple(layer(np.zeros((2, 16, 16, 1))).shape)
    (2, 16, 16, 8)

    References:
        - [van den Oord et al., 2016](https://arxiv.org/abs/1601.06759)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        mask_type="B",
        num_color_channels=1,
        strides=(1, 1),
        padding="same",
        data_format="channels_last",
        groups=1,
        **kwargs,
    ):
        _normalize_kernel_size(kernel_size)
        if mask_type not in MASK_TYPES:
            raise ValueError(
                "Invalid value for argument `mask_type`. Expected one of "
                f'"A", "B", "V". Received: mask_type={mask_type!r}'
            )
        validate_positive_int("num_color_channels", num_color_channels)
        if strides not in (1, (1, 1), [1, 1]):
            raise ValueError(
                "Invalid value for argument `strides`. A masked convolution "
                "keeps the image size; use strides=1. Received: "
                f"strides={strides!r}"
            )
        if padding != "same":
            raise ValueError(
                "Invalid value for argument `padding`. A masked convolution "
                'keeps the image size; use padding="same". Received: '
                f"padding={padding!r}"
            )
        if data_format not in (None, "channels_last"):
            raise ValueError(
                "Invalid value for argument `data_format`. kerpix models use "
                "channels-last images (N, H, W, C); use data_format="
                f'"channels_last". Received: data_format={data_format!r}'
            )
        if groups != 1:
            raise ValueError(
                "Invalid value for argument `groups`. Grouped convolution "
                "would break the colour masking; use groups=1. Received: "
                f"groups={groups!r}"
            )
        super().__init__(
            filters=filters,
            kernel_size=kernel_size,
            strides=1,
            padding="same",
            data_format="channels_last",
            groups=1,
            **kwargs,
        )
        self.mask_type = mask_type
        self.num_color_channels = num_color_channels

    def build(self, input_shape):
        super().build(input_shape)
        self.mask = causal_mask(
            self.kernel_size,
            self.mask_type,
            int(input_shape[-1]),
            self.filters,
            self.num_color_channels,
        )

    def convolution_op(self, inputs, kernel):
        mask = ops.cast(self.mask, kernel.dtype)
        return super().convolution_op(inputs, kernel * mask)

    # === Step-wise (one pixel) computation, for cached sampling ===
    # A step keeps the layer's input in a row buffer (`initial_cache`): the
    # `cache_rows` rows a kernel reads (the centre row and those above; the
    # mask zeroes the rest), oldest first, the current row last, zero-padded
    # by `padding_size[1]` columns on each side. `next_row` moves the rows
    # up once per image row, so a step reads the whole buffer and writes a
    # fixed row: its size, and the work of a step, do not depend on the
    # image height (and a step has no row index to compute).

    @property
    def padding_size(self):
        """`(ph, pw)`: rows above and columns beside the centre the kernel
        reaches (what "same" padding adds)."""
        kh, kw = self.kernel_size
        dh, dw = self.dilation_rate
        return (kh // 2 * dh, kw // 2 * dw)

    @property
    def cache_rows(self):
        """Rows of the input a step reads: the centre row and those above."""
        return self.padding_size[0] + 1

    def initial_cache(self, batch_size, width):
        """Zero row buffer of the input, `(N, cache_rows, W + 2*pw, C)`."""
        pw = self.padding_size[1]
        return ops.zeros(
            (batch_size, self.cache_rows, width + 2 * pw, self.kernel.shape[2]),
            self.compute_dtype,
        )

    def next_row(self, cache):
        """`cache` before the next image row: its rows move up by one. The
        new current row holds the old one's values until pixels overwrite
        them; the stale ones right of a pixel sit where the causal kernel
        has zero weight."""
        if self.cache_rows == 1:
            return cache
        return ops.concatenate([cache[:, 1:], cache[:, -1:]], axis=1)

    def cache_pixel(self, cache, j, values):
        """`cache` with the current row's input at column `j` set to
        `values` `(N, C)`."""
        pw = self.padding_size[1]
        return update_pixel(cache, self.cache_rows - 1, j + pw, values)

    def push_row(self, cache, values):
        """`cache` with the complete row `values` `(N, W, C)` as its current
        row, the others moved up by one."""
        pw = self.padding_size[1]
        row = ops.pad(ops.cast(values, cache.dtype), ((0, 0), (pw, pw), (0, 0)))
        return ops.concatenate([cache[:, 1:], row[:, None]], axis=1)

    def call_at_pixel(self, cache, j):
        """Output at column `j` of the current row only, `(N, filters)`.

        `cache` (see `initial_cache`) holds the input up to that pixel; `j`
        may be a traced scalar.
        """
        kh, kw = self.kernel_size
        dh, dw = self.dilation_rate
        cache = ops.cast(cache, self.compute_dtype)
        patch = window(cache, (0, j), (self.cache_rows, (kw - 1) * dw + 1))
        if (dh, dw) != (1, 1):
            patch = patch[:, ::dh, ::dw, :]
        kernel = self._masked_kernel()[: kh // 2 + 1]
        # One matmul over the flattened window (export graph rule
        # `few-nodes-per-step`).
        outputs = ops.matmul(
            ops.reshape(patch, (-1, math.prod(kernel.shape[:3]))),
            ops.reshape(kernel, (-1, kernel.shape[-1])),
        )
        return self._finish_pixel(outputs)

    def call_at_row(self, cache):
        """Output along the current row only, `(N, W, filters)`, once it is
        complete in `cache` (the Gated PixelCNN vertical stack)."""
        kh, kw = self.kernel_size
        dh, dw = self.dilation_rate
        band = ops.cast(cache, self.compute_dtype)[:, ::dh]
        kernel = self._masked_kernel()[: kh // 2 + 1]
        width = cache.shape[2] - (kw - 1) * dw
        # A sum of einsums rather than a convolution: the row start runs
        # inside a graph conditional (export graph rule `no-conv-in-step`).
        outputs = 0
        for dx in range(kw):
            columns = band[:, :, dx * dw : dx * dw + width]
            outputs = outputs + ops.einsum(
                "nhwc,hcd->nwd", columns, kernel[:, dx]
            )
        return self._finish_pixel(outputs)

    def call_pointwise(self, inputs):
        """A 1×1 masked convolution applied to pixel features `(N, C)`."""
        if tuple(self.kernel_size) != (1, 1):
            raise ValueError(
                "call_pointwise needs a 1×1 kernel. Received: "
                f"kernel_size={self.kernel_size}"
            )
        kernel = self._masked_kernel()
        inputs = ops.cast(inputs, self.compute_dtype)
        return self._finish_pixel(ops.matmul(inputs, kernel[0, 0]))

    def _masked_kernel(self):
        kernel = ops.cast(self.kernel, self.compute_dtype)
        return kernel * ops.cast(self.mask, self.compute_dtype)

    def _finish_pixel(self, outputs):
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mask_type": self.mask_type,
                "num_color_channels": self.num_color_channels,
            }
        )
        return config


def pointwise(layer, features):
    """A 1×1 `keras.layers.Conv2D` (or `MaskedConv2D`) at one pixel:
    features `(N, C)` -> `(N, filters)`, as a matrix product.

    Sampling steps use it instead of calling the layer on `(N, 1, 1, C)`:
    the same values, and no convolution op (export graph rule
    `no-conv-in-step`).
    """
    if isinstance(layer, MaskedConv2D):
        return layer.call_pointwise(features)
    kernel = ops.cast(layer.kernel, layer.compute_dtype)[0, 0]
    outputs = ops.matmul(ops.cast(features, layer.compute_dtype), kernel)
    if layer.use_bias:
        outputs = outputs + ops.cast(layer.bias, layer.compute_dtype)
    return layer.activation(outputs)
