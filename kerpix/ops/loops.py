"""Loops over rows or diagonals: unrolled when training, one loop op when
exporting.

Unrolled, a layer's loop over the `H` rows of an image becomes `H` copies
of its body in the graph. Training keeps that form (the one its speed
was measured with; two quick timings of a scan instead disagreed with
each other), but the graph grows with the image. Exporters trace inside
`rolled_loops()`, where the same layers build one `while` loop: a graph
whose size does not depend on the image, with the same arithmetic
(export graph rule `rolled-loops`, `kerpix/export/graph_rules.py`).
"""

import contextlib

from keras import ops

_rolled = [False]


@contextlib.contextmanager
def rolled_loops():
    """Trace `scan`s inside the block as single loop ops."""
    previous = _rolled[0]
    _rolled[0] = True
    try:
        yield
    finally:
        _rolled[0] = previous


def scan(f, init, xs, reverse=False):
    """A scan: `f(carry, x) -> (carry, y)` over `xs`, a tuple of tensors
    scanned along axis 0; `y` a tuple of tensors shaped like the carry's.
    Unrolled into the graph, or, inside `rolled_loops()`, one `while_loop`
    that reads `xs` by index and writes the outputs by scatter (no tensor
    lists; export graph rule `rolled-loops`).

    Returns:
        `(final carry, ys)`, `ys` a tuple stacked along axis 0.
    """
    if _rolled[0]:
        return _rolled_scan(f, init, xs, reverse)
    steps = list(zip(*[ops.unstack(x, axis=0) for x in xs]))
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    carry, ys = init, [None] * len(steps)
    for t in order:
        carry, ys[t] = f(carry, steps[t])
    return carry, tuple(ops.stack(y, axis=0) for y in zip(*ys))


def _rolled_scan(f, init, xs, reverse):
    length = xs[0].shape[0]
    buffers = tuple(
        ops.tile(ops.zeros_like(c)[None], (length,) + (1,) * len(c.shape))
        for c in init
    )

    def body(t, carry, ys):
        index = length - 1 - t if reverse else t
        carry, y = f(carry, tuple(ops.take(x, index, axis=0) for x in xs))
        at = ops.reshape(ops.cast(index, "int32"), (1, 1))
        ys = tuple(
            ops.scatter_update(buffer, at, value[None])
            for buffer, value in zip(ys, y)
        )
        return t + 1, tuple(carry), ys

    _, carry, ys = ops.while_loop(
        lambda t, *_: t < length, body, (0, tuple(init), buffers)
    )
    return carry, ys


def cond_update(pred, fn, state, narrow=False):
    """`fn(state)` if `pred` else `state`, for a tuple `state` of which
    `fn` replaces some entries and returns the others as they are.

    With `narrow`, only the replaced entries pass through the graph
    conditional (`fn` is traced once more to find them; compiled graphs
    run only what their outputs need, so that trace computes nothing).
    Exported steps narrow by default (export graph rule
    `narrow-conditionals`, `kerpix/export/graph_rules.py`).
    """
    state = tuple(state)
    if not narrow:
        return ops.cond(pred, lambda: tuple(fn(state)), lambda: state)
    changed = [
        k
        for k, (old, new) in enumerate(zip(state, fn(state)))
        if old is not new
    ]
    if not changed:
        return state
    updated = ops.cond(
        pred,
        lambda: tuple(fn(state)[k] for k in changed),
        lambda: tuple(state[k] for k in changed),
    )
    state = list(state)
    for k, value in zip(changed, updated):
        state[k] = value
    return tuple(state)
