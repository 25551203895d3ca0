"""The cached step of a causal layer, declared once.

A causal layer that takes part in fast sampling computes its output one
pixel at a time from a cache whose size does not grow with the image
height. Its part of the sampling-step protocol (the backbone's is in
`kerpix.models.Backbone`) is three methods:

- `initial_cache(batch_size, width)`: the zero cache before the image,
  a tuple of `cache_size` tensors (the class attribute; `0` and `()` by
  default: a pointwise layer needs none). The backbone keeps it as one
  named entry of its state (`kerpix.models.state_layout`) that only this
  layer reads.
- `start_row(cache, i)`: the cache before pixel `(i, 0)`, e.g. a row
  buffer moving up a row (unchanged by default).
- `step(cache, inputs, i, j)`: the layer's output at pixel `(i, j)`,
  `(N, F_out)`, from its input there `(N, F_in)`; returns
  `(outputs, cache)`. Called once per colour pass; the output of colour
  group `c` must not depend on the inputs of later groups.

Layers with a per-row or per-pixel conditioning bias (the PixelRNN's
LSTMs) take it as a last optional argument of `start_row` and `step`.
`kerpix.testing.assert_step_matches_call` checks a layer's (or a
backbone's) steps against its full forward pass.

Blocks, the layers a `PixelCNNBackbone` stacks, are registered by name
with `register_block`: a new block is one file that subclasses
`CachedLayer`, implements `call` and the three methods, takes
`(filters, kernel_size, num_color_channels, name)`, and is registered
(with `register_block` and with Keras);
`kerpix.models.PixelCNN(..., block=NAME)` then trains, samples (cached
and naive) and exports it (`examples/masked_1x1_block.py`).
"""

import keras

# name -> class of the blocks `PixelCNNBackbone` can stack.
BLOCKS = {}


class CachedLayer(keras.layers.Layer):
    """Base class of causal layers with a cached one-pixel step (see the
    module docstring for the protocol)."""

    # Tensors in the cache tuple `initial_cache` returns.
    cache_size = 0

    def initial_cache(self, batch_size, width):
        """The cache before pixel `(0, 0)`: none by default."""
        return ()

    def start_row(self, cache, i):
        """The cache before pixel `(i, 0)`: unchanged by default."""
        return cache

    def step(self, cache, inputs, i, j):
        raise NotImplementedError(
            f"{type(self).__name__} does not implement `step(cache, inputs, "
            "i, j) -> (outputs, cache)` (see kerpix.layers.CachedLayer)."
        )


def register_block(name):
    """Class decorator: register a `CachedLayer` as the `PixelCNNBackbone`
    block `name` (register it with Keras too,
    `keras.saving.register_keras_serializable`, so models save and load).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(
            "Invalid value for argument `name`. Expected a non-empty "
            f"string. Received: name={name!r}"
        )

    def register(cls):
        if not (isinstance(cls, type) and issubclass(cls, CachedLayer)):
            raise ValueError(
                f"register_block({name!r}) takes a subclass of "
                f"kerpix.layers.CachedLayer. Received: {cls!r}"
            )
        if name in BLOCKS and BLOCKS[name] is not cls:
            raise ValueError(
                f"Invalid value for argument `name`. The block {name!r} is "
                f"already registered ({BLOCKS[name].__name__}); choose "
                "another name."
            )
        BLOCKS[name] = cls
        return cls

    return register


def get_block(name):
    """The registered block class `name`."""
    if name not in BLOCKS:
        raise ValueError(
            "Invalid value for argument `block`. Expected a registered "
            f"block, one of {sorted(BLOCKS)} (add one with "
            f"kerpix.layers.register_block). Received: block={name!r}"
        )
    return BLOCKS[name]
