"""Gradient causality checks and an independent receptive-field reference.

`assert_causal` differentiates one output site of an untrained network
with respect to its input image and checks that the non-zero pattern is
exactly the expected receptive field: nothing at or after the site in
raster-then-colour order, everything the architecture should reach (so a
blind spot or a dead path is caught, not only a leak).
"""

import numpy as np
from keras import ops

from kerpix.ops.causal_masks import causal_mask
from kerpix.testing.gradients import input_gradient


def causal_past(image_shape, site, strict=True):
    """Boolean `(H, W, C)`: sub-pixels before `site=(i, j, c)`.

    Raster order over pixels, colour order inside a pixel. With
    `strict=False` the site's own sub-pixel counts as past (mask "B"
    semantics for a layer applied to features, not to the image).
    """
    height, width, channels = image_shape
    i, j, c = site
    order = np.arange(height * width * channels).reshape(image_shape)
    here = order[i, j, c]
    return order < here if strict else order <= here


def site_gradient(fn, image_shape, site, num_examples=16, seed=0):
    """Where `d fn(x)[b, i, j, group c] / dx[b]` is non-zero for some `b`.

    The output channels are split into `C` contiguous colour groups and
    the site's whole group is summed. Random inputs in `[-2, 2]` for
    `num_examples` images are used, and the patterns OR-ed, so a ReLU that
    happens to be inactive for one input does not hide a real path. Also
    checks that example 0's output does not depend on the other examples.

    Returns:
        Boolean `(H, W, C)`: where the gradient is non-zero.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (num_examples,) + tuple(image_shape))
    i, j, c = site
    channels = image_shape[-1]

    def select(outputs, first_only=False):
        group = ops.shape(outputs)[-1] // channels
        sliced = outputs[:, i, j, c * group : (c + 1) * group]
        return ops.sum(sliced[:1] if first_only else sliced)

    first = input_gradient(fn, x, lambda y: select(y, first_only=True))
    if np.any(first[1:] != 0):
        raise AssertionError(
            "The output of batch element 0 depends on other batch elements."
        )
    # Examples are independent, so the gradient of the batch sum holds
    # each example's own gradient.
    grad = input_gradient(fn, x, select)
    return np.any(grad != 0, axis=0)


def assert_causal(fn, image_shape, site, expected=None, strict=True):
    """Assert the gradient pattern of `fn` at `site` is causal and complete.

    Args:
        fn: maps float images `(N, H, W, C)` to `(N, H, W, F)`, with `F`
            split into `C` contiguous colour groups.
        image_shape: `(H, W, C)`.
        site: `(i, j, c)` output site.
        expected: boolean `(H, W, C)` receptive field the site must depend
            on exactly; defaults to the full causal past.
        strict: whether the site's own sub-pixel is excluded.
    """
    past = causal_past(image_shape, site, strict=strict)
    if expected is None:
        expected = past
    if np.any(expected & ~past):
        raise AssertionError("The expected receptive field is not causal.")
    got = site_gradient(fn, image_shape, site)
    leaks = np.argwhere(got & ~past)
    if len(leaks):
        raise AssertionError(
            f"Output at {site} depends on future sub-pixels {leaks.tolist()}."
        )
    missing = np.argwhere(expected & ~got)
    if len(missing):
        raise AssertionError(
            f"Output at {site} ignores sub-pixels {missing.tolist()} in its "
            "receptive field."
        )
    extra = np.argwhere(got & ~expected)
    if len(extra):
        raise AssertionError(
            f"Output at {site} depends on {extra.tolist()}, outside the "
            "expected receptive field."
        )


def pixel_rnn_layers(
    num_layers, lstm="row_lstm", kernel_size=3, first_kernel_size=7
):
    """`masked_conv_receptive_field` layers of a `PixelRNNBackbone`
    (without the head's 1×1 mask-B layer)."""
    block = (
        ("residual_row_lstm", kernel_size)
        if lstm == "row_lstm"
        else ("residual_diagonal_bilstm",)
    )
    first = ("conv", first_kernel_size, "A")
    return [first] + [block] * num_layers + [("conv", 1, "B")]


def masked_conv_receptive_field(layers, image_shape, site):
    """Exact receptive field of a stack of masked convolutions (NumPy).

    Propagates the site backwards through each layer's mask support at the
    level of colour groups, independently of any Keras code.

    Args:
        layers: list of `("conv", kernel_size, mask_type)`,
            `("residual", kernel_size)` (a 1×1-k×k-1×1 mask-B block with a
            skip connection), `("row_lstm", kernel_size, mask_type)` or
            `("residual_row_lstm", kernel_size)` (a mask-B Row LSTM, then
            a 1×1 mask-B projection, with a skip connection),
            `("diagonal_bilstm", mask_type)` or
            `("residual_diagonal_bilstm",)`, first layer first.
        image_shape: `(H, W, C)`.
        site: `(i, j, c)`.

    Returns:
        Boolean `(H, W, C)` of input sub-pixels that reach the site.
    """
    height, width, channels = image_shape
    reach = np.zeros(image_shape, bool)
    reach[site] = True
    for layer in reversed(layers):
        if layer[0] == "conv":
            reach = _back_through_conv(reach, layer[1], layer[2], channels)
        elif layer[0] == "row_lstm":
            reach = _back_through_row_lstm(reach, layer[1], layer[2], channels)
        elif layer[0] == "diagonal_bilstm":
            reach = _back_through_diagonal_bilstm(reach, layer[1], channels)
        elif layer[0] == "residual_diagonal_bilstm":
            inner = _back_through_conv(reach, 1, "B", channels)
            inner = _back_through_diagonal_bilstm(inner, "B", channels)
            reach = reach | inner
        elif layer[0] == "residual_row_lstm":
            inner = _back_through_conv(reach, 1, "B", channels)
            inner = _back_through_row_lstm(inner, layer[1], "B", channels)
            reach = reach | inner
        else:
            inner = reach
            for kernel_size in (1, layer[1], 1):
                inner = _back_through_conv(inner, kernel_size, "B", channels)
            reach = reach | inner
    return reach


def _back_through_conv(reach, kernel_size, mask_type, channels):
    mask = causal_mask(kernel_size, mask_type, channels, channels, channels)
    kh, kw = mask.shape[:2]
    height, width, _ = reach.shape
    out = np.zeros_like(reach)
    for y, x, g_out in np.argwhere(reach):
        for dy in range(kh):
            for dx in range(kw):
                yy, xx = y + dy - kh // 2, x + dx - kw // 2
                if 0 <= yy < height and 0 <= xx < width:
                    out[yy, xx] |= mask[dy, dx, :, g_out] > 0
    return out


def _back_through_row_lstm(reach, kernel_size, mask_type, channels):
    # h_{y,x} (any group) needs the input row y through the 1×k masked
    # convolution, and every group of h_{y-1} at columns x ± k//2 (and
    # c_{y-1,x}, which needs the same): walk the rows bottom-up.
    needed = reach.copy()
    out = np.zeros_like(reach)
    pad = kernel_size // 2
    for y in reversed(range(reach.shape[0])):
        row = np.zeros_like(reach)
        row[y] = needed[y]
        out |= _back_through_conv(row, (1, kernel_size), mask_type, channels)
        if y > 0:
            for x in np.flatnonzero(np.any(needed[y], axis=-1)):
                needed[y - 1, max(x - pad, 0) : x + pad + 1, :] = True
    return out


def _back_through_diagonal_bilstm(reach, mask_type, channels):
    # Output (y, x, g) = h_L(y, x, g) + h_R(y - 1, x). h_L(y, x) reads its
    # input through a 1×1 masked convolution and every group of h_L at
    # (y, x - 1) and (y - 1, x): all of the up-left quadrant. h_R(y, x)
    # reads every group of its input and h_R at (y, x + 1) and (y - 1, x):
    # the up-right quadrant.
    height, width, _ = reach.shape
    out = np.zeros_like(reach)
    own = np.zeros_like(reach)  # h_L groups needed at the sites themselves
    left_all = np.zeros((height, width), bool)  # h_L, every group
    right_all = np.zeros((height, width), bool)  # h_R, every group
    for y, x, g in np.argwhere(reach):
        own[y, x, g] = True
        left_all[: y + 1, : x + 1] = True
        left_all[y, x] = False
        if y > 0:
            right_all[:y, x:] = True
    own[left_all] = True
    mask = causal_mask(1, mask_type, channels, channels, channels)[0, 0]
    for y, x, g in np.argwhere(own):
        out[y, x] |= mask[:, g] > 0
    out[right_all] = True
    return out


def gated_receptive_field(kernel_sizes, image_shape, site):
    """Exact receptive field of a Gated PixelCNN stack (NumPy).

    Args:
        kernel_sizes: the blocks' kernel sizes, first block first (its
            horizontal convolution is mask "A", the others "B").
        image_shape: `(H, W, C)`.
        site: `(i, j, c)` of the output (read through mask-B 1×1 layers).

    Returns:
        Boolean `(H, W, C)` of input sub-pixels that reach the site.
    """
    height, width, channels = image_shape
    i, j, c = site
    h_set = np.zeros(image_shape, bool)
    h_set[i, j, : c + 1] = True  # output 1×1 mask-B layers
    v_set = np.zeros(image_shape, bool)
    for k in reversed(range(len(kernel_sizes))):
        first = k == 0
        pad = kernel_sizes[k] // 2
        # h' = [h +] O_B * gate(h_pre): h_pre at groups <= g.
        h_pre = np.zeros(image_shape, bool)
        for y, x, g in np.argwhere(h_set):
            h_pre[y, x, : g + 1] = True
        h_prev = h_set.copy() if not first else np.zeros(image_shape, bool)
        v_pre = np.zeros(image_shape, bool)
        v_pre[np.any(v_set, axis=-1)] = True  # v' = gate(v_pre), all groups
        for y, x, g in np.argwhere(h_pre):
            h_prev[y, max(x - pad, 0) : x, :] = True  # left of the centre
            centre = g if first else g + 1  # mask A: g_in < g; B: <=
            h_prev[y, x, :centre] = True
            if y > 0:  # the link reads v_pre one row up
                v_pre[y - 1, x, :] = True
        v_prev = np.zeros(image_shape, bool)
        for y, x in np.argwhere(np.any(v_pre, axis=-1)):
            v_prev[
                max(y - pad, 0) : y + 1, max(x - pad, 0) : x + pad + 1, :
            ] = True
        h_set, v_set = h_prev, v_prev
    return h_set | v_set


def pixel_cnn_layers(num_layers, kernel_size=3, first_kernel_size=7):
    """`masked_conv_receptive_field` layers of a PixelCNN (backbone and
    head: the first mask-A convolution, the residual blocks, two 1×1
    mask-B layers)."""
    return (
        [("conv", first_kernel_size, "A")]
        + [("residual", kernel_size)] * num_layers
        + [("conv", 1, "B"), ("conv", 1, "B")]
    )


def ride_receptive_field(image_shape, site):
    """Pixels a RIDE's hidden state `h_ij` reads: the rows above up to
    column j+2, then the row's pixels left of j (the spatial LSTM's 3×5
    window swept over the upper-left quadrant)."""
    i, j, _ = site
    field = np.zeros(image_shape, bool)
    field[:i, : j + 3] = True
    field[i, :j] = True
    return field


def window_receptive_field(image_shape, site):
    """A plain MCGSM's inputs: the 3×5 causal window only."""
    i, j, _ = site
    field = np.zeros(image_shape, bool)
    field[max(i - 2, 0) : i, max(j - 2, 0) : j + 3] = True
    field[i, max(j - 2, 0) : j] = True
    return field
