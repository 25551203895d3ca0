"""Reading and writing one pixel of a batch of maps (traceable indices)."""

from keras import ops


def update_pixel(maps, i, j, values):
    """Return `maps` `(N, H, W, C)` with pixel `(i, j)` set to `values`.

    `values` is `(N, C)`; `i`, `j` may be traced scalars. Written as a
    scatter (`ScatterND` in ONNX) rather than a dynamic slice update, whose
    TensorFlow lowering (XlaDynamicUpdateSlice) ONNX cannot express.
    """
    batch = ops.shape(maps)[0]
    rows = ops.arange(batch, dtype="int32")
    i = ops.cast(i, "int32")
    j = ops.cast(j, "int32")
    indices = ops.stack(
        [rows, ops.full((batch,), i, "int32"), ops.full((batch,), j, "int32")],
        axis=1,
    )
    return ops.scatter_update(maps, indices, ops.cast(values, maps.dtype))


def update_column(rows, j, values):
    """Return `rows` `(N, W, C)` with column `j` set to `values` `(N, C)`;
    a scatter, like `update_pixel`."""
    batch = ops.shape(rows)[0]
    indices = ops.stack(
        [
            ops.arange(batch, dtype="int32"),
            ops.full((batch,), ops.cast(j, "int32"), "int32"),
        ],
        axis=1,
    )
    return ops.scatter_update(rows, indices, ops.cast(values, rows.dtype))


def read_pixel(maps, i, j):
    """Pixel `(i, j)` of `maps` `(N, H, W, C)` as `(N, C)`."""
    batch = ops.shape(maps)[0]
    channels = maps.shape[-1]
    pixel = ops.slice(maps, (0, i, j, 0), (batch, 1, 1, channels))
    return ops.reshape(pixel, (batch, channels))


def update_row(maps, r, offset, values):
    """Return `maps` with row `r`, columns `offset .. offset + W - 1`, set to
    `values` `(N, W, C)`; a scatter, like `update_pixel`."""
    batch = ops.shape(values)[0]
    width = values.shape[1]
    images = ops.repeat(ops.arange(batch, dtype="int32"), width)
    rows = ops.full((batch * width,), ops.cast(r, "int32"), "int32")
    cols = ops.tile(ops.arange(width, dtype="int32") + offset, (batch,))
    indices = ops.stack([images, rows, cols], axis=1)
    flat = ops.reshape(values, (batch * width, values.shape[-1]))
    return ops.scatter_update(maps, indices, ops.cast(flat, maps.dtype))


def keep_known(drawn, known):
    """`drawn` `(N, C)` with the known pixels' values where `keep` is 1."""
    values, keep = known
    keep = ops.cast(keep, drawn.dtype)[:, None]
    return drawn * (1 - keep) + ops.cast(values, drawn.dtype) * keep


# === Row ring buffers ===
# A sampling step reads a few rows of a map: the current one and some
# above. A ring buffer keeps only those `rows` rows, image row `r` in slot
# `r % rows`, so a step's reads and writes cost the same for any image
# height (and nothing is shifted: a row's slot is overwritten pixel by
# pixel as the row is filled; stale pixels to the right of the current one
# sit where causal kernels have zero weight).


def ring_slot(r, rows):
    """The slot of image row `r` (a traced scalar or int, >= -rows: row -1
    is the slot the ring starts at zero) in a ring buffer of `rows`
    rows. Non-negative operands only: with `mod(-1, rows)` the ONNX
    export sliced an empty row for row -1."""
    return ops.mod(ops.cast(r, "int32") + rows, rows)


def ring_window(ring, i):
    """The rows of `ring` `(N, rows, ...)` in image order, oldest first,
    when `i` is the newest row: rows `i - rows + 1 .. i`."""
    rows = ring.shape[1]
    if rows == 1:
        return ring
    order = ring_slot(
        ops.cast(i, "int32") + 1 + ops.arange(rows, dtype="int32"), rows
    )
    return ops.take(ring, order, axis=1)
