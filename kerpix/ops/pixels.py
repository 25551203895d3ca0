"""Reading and writing one pixel of a batch of maps (traceable indices)."""

import contextlib
import threading

from keras import ops


def raster_indices(position, width):
    """`(i, j)` of a pixel given as its raster index `i * width + j` (a
    scalar, possibly traced) or as the pair `(i, j)` itself.

    Samplers that loop over rows and columns pass the pair: recomputing
    `j` as `position % width` would make every column read depend on the
    row, and under XLA a row that enters the compiled program as an
    input is then a compile-time constant (one compilation per starting
    row, seconds each, when a progress bar splits an image into calls).
    """
    if isinstance(position, (tuple, list)):
        i, j = position
        return ops.cast(i, "int32"), ops.cast(j, "int32")
    position = ops.cast(position, "int32")
    return position // width, position % width


def update_pixel(maps, i, j, values):
    """Return `maps` `(N, H, W, C)` with pixel `(i, j)` set to `values`.

    `values` is `(N, C)`; `i`, `j` may be traced scalars. Written as a
    scatter rather than a dynamic slice update (export graph rule
    `scatter-writes`, `kerpix/export/graph_rules.py`).
    """
    rows, zeros = _batch_rows(maps)
    indices = ops.concatenate(
        [rows, zeros + ops.cast(i, "int32"), zeros + ops.cast(j, "int32")],
        axis=1,
    )
    return ops.scatter_update(maps, indices, ops.cast(values, maps.dtype))


def update_column(rows, j, values):
    """Return `rows` `(N, W, C)` with column `j` set to `values` `(N, C)`;
    a scatter, like `update_pixel`."""
    batch_rows, zeros = _batch_rows(rows)
    indices = ops.concatenate([batch_rows, zeros + ops.cast(j, "int32")], 1)
    return ops.scatter_update(rows, indices, ops.cast(values, rows.dtype))


# The batch's row numbers that scatters index, `(N, 1)`, and zeros like
# them, when a step computes them once (`batch_rows`); per thread, as
# tracing is.
_LOCAL = threading.local()


@contextlib.contextmanager
def batch_rows(batch_size):
    """Scatters (`update_pixel`, `update_column`) inside the block index the
    batch with row numbers computed once here, not from each tensor's
    shape: a sampling step writes a dozen caches, and in the exported
    step graph each computation of the row numbers is half a dozen nodes
    run at every pixel (export graph rule `few-nodes-per-step`). Every tensor
    written inside must have `batch_size` rows."""
    rows = ops.arange(batch_size, dtype="int32")[:, None]
    previous = getattr(_LOCAL, "rows", None)
    _LOCAL.rows = (rows, rows * 0)
    try:
        yield
    finally:
        _LOCAL.rows = previous


def _batch_rows(maps):
    shared = getattr(_LOCAL, "rows", None)
    if shared is not None:
        return shared
    rows = ops.arange(ops.shape(maps)[0], dtype="int32")[:, None]
    return rows, rows * 0


def read_pixel(maps, i, j):
    """Pixel `(i, j)` of `maps` `(N, H, W, C)` as `(N, C)`."""
    pixel = window(maps, (i, j), (1, 1))
    return ops.reshape(pixel, (-1, maps.shape[-1]))


def read_column(rows, j):
    """Column `j` of `rows` `(N, W, C)` as `(N, C)` (`j` may be traced)."""
    return ops.reshape(window(rows, (j,), (1,)), (-1, rows.shape[-1]))


def window(maps, start, size):
    """`maps[:, start[0]:start[0] + size[0], ..., :]` for traced `start`.

    A slice whose batch size is "the rest" (-1) when the batch is
    symbolic rather than read from the tensor's shape, and unlike
    `ops.take`, no correction of negative indices: the exported step
    graph stays a few nodes per read (export graph rule
    `few-nodes-per-step`). Backends
    with static shapes (JAX) get the batch size itself.
    """
    batch = maps.shape[0] if maps.shape[0] is not None else -1
    return ops.slice(
        maps,
        (0,) + tuple(start) + (0,) * (len(maps.shape) - 1 - len(start)),
        (batch,) + tuple(size) + tuple(maps.shape[1 + len(size) :]),
    )


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
