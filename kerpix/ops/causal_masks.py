"""Causal masks for masked convolutions (PixelRNN §3.4, PixelCNN)."""

import numpy as np

MASK_TYPES = ("A", "B", "V")


def channel_groups(num_channels, num_color_channels):
    """Colour group (0 = R, 1 = G, 2 = B, ...) of each of `num_channels`.

    Channels are split into `num_color_channels` contiguous blocks, so a
    layer with `num_color_channels * k` channels has block `g` at indices
    `g*k .. (g+1)*k - 1`. Heads rely on this layout: the logits of colour
    `c` are the `c`-th contiguous block of the last layer.
    """
    return np.arange(num_channels) * num_color_channels // num_channels


def causal_mask(
    kernel_size, mask_type, input_channels, filters, num_color_channels=1
):
    """Mask of shape `kernel_size + (input_channels, filters)` for a causal
    convolution in raster-then-colour order.

    Positions in rows above the centre and to the left of the centre in the
    centre row are allowed. At the centre position, an input channel of
    colour group `g_in` may feed an output channel of group `g_out` when
    `g_in < g_out` (mask "A", used by the first layer, which must not see
    the sub-pixel it predicts) or `g_in <= g_out` (mask "B", later layers,
    whose features at group `g` already exclude sub-pixel `g`). Positions
    after the centre are zero.

    Mask "V" is the Gated PixelCNN's vertical stack: every row up to and
    including the centre row, all columns and channels. It is not causal
    on its own; its output may only be read one row lower (`down_shift`),
    which is what removes the PixelCNN blind spot.

    Args:
        kernel_size: int or tuple of 2 odd ints `(kh, kw)`.
        mask_type: `"A"`, `"B"` or `"V"`.
        input_channels: int. Number of input channels.
        filters: int. Number of output channels.
        num_color_channels: int. Colour channels of the image (1 or 3).
            Defaults to `1`.

    Returns:
        A float32 numpy array of shape `(kh, kw, input_channels, filters)`.

    Example:

    >>> m = kerpix.ops.causal_mask(3, "A", 1, 1)
    >>> m[..., 0, 0]
    array([[1., 1., 1.],
           [1., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    kh, kw = _normalize_kernel_size(kernel_size)
    if mask_type not in MASK_TYPES:
        raise ValueError(
            "Invalid value for argument `mask_type`. Expected one of "
            f'"A", "B", "V". Received: mask_type={mask_type!r}'
        )
    for name, value in (
        ("input_channels", input_channels),
        ("filters", filters),
        ("num_color_channels", num_color_channels),
    ):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected a positive "
                f"integer. Received: {name}={value!r}"
            )
    mask = np.zeros((kh, kw, input_channels, filters), dtype="float32")
    ci, cj = kh // 2, kw // 2
    mask[:ci] = 1.0
    if mask_type == "V":
        mask[ci] = 1.0
        return mask
    mask[ci, :cj] = 1.0
    g_in = channel_groups(input_channels, num_color_channels)[:, None]
    g_out = channel_groups(filters, num_color_channels)[None, :]
    if mask_type == "A":
        mask[ci, cj] = (g_in < g_out).astype("float32")
    else:
        mask[ci, cj] = (g_in <= g_out).astype("float32")
    return mask


def _normalize_kernel_size(kernel_size):
    if isinstance(kernel_size, (int, np.integer)):
        kernel_size = (int(kernel_size), int(kernel_size))
    kernel_size = tuple(kernel_size)
    if len(kernel_size) != 2 or any(
        not isinstance(k, (int, np.integer)) or k < 1 for k in kernel_size
    ):
        raise ValueError(
            "Invalid value for argument `kernel_size`. Expected a positive "
            f"int or a tuple of 2 positive ints. Received: "
            f"kernel_size={kernel_size!r}"
        )
    if any(k % 2 == 0 for k in kernel_size):
        raise ValueError(
            "Invalid value for argument `kernel_size`. The masked kernel "
            "needs odd sizes so that the current pixel is centred; use "
            f"kernel_size=(3, 3) or (5, 5). Received: "
            f"kernel_size={kernel_size!r}"
        )
    return kernel_size
