"""Shifts that make a non-causal map causal by moving it (no weights)."""

from keras import ops


def down_shift(x):
    """Move `(N, H, W, C)` maps one row down; the top row becomes zeros.

    Row `i` of the result holds row `i - 1` of `x`, so a map that may see
    its own row (the Gated PixelCNN vertical stack) only reaches rows above.

    Example:

    >>> x = np.arange(4.0).reshape(1, 2, 2, 1)
    >>> np.asarray(kerpix.ops.down_shift(x))[0, :, :, 0]
    array([[0., 0.],
           [0., 1.]])
    """
    padded = ops.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))
    # ops.slice (tf.slice) trains faster on CPU than a strided slice.
    return ops.slice(padded, (0, 0, 0, 0), ops.shape(x))
