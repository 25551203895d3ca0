"""The layer half of the sampling-step protocol (`CachedLayer`) and the
registry of blocks a `PixelCNNBackbone` stacks."""

import keras
import numpy as np
import pytest

from kerpix import layers
from kerpix import models
from kerpix import testing


class Doubling(layers.CachedLayer):
    """Pointwise: needs no cache and no row start (the defaults)."""

    def __init__(self, filters, kernel_size=1, num_color_channels=1, **kw):
        super().__init__(**kw)
        self.num_color_channels = num_color_channels

    def call(self, inputs):
        return 2.0 * inputs

    def step(self, cache, inputs, i, j):
        return 2.0 * keras.ops.convert_to_tensor(inputs), cache


def test_defaults_are_no_op_starts():
    layer = Doubling(4)
    assert layer.initial_cache(2, 5) == ()
    assert layer.start_row((), 3) == ()
    testing.assert_layer_step_matches_call(layer, (3, 4, 2))


def test_a_step_that_disagrees_is_caught():
    class Leaky(Doubling):
        def step(self, cache, inputs, i, j):
            return 3.0 * keras.ops.convert_to_tensor(inputs), cache

    with pytest.raises(AssertionError, match=r"Leaky\.step at pixel \(0, 0\)"):
        testing.assert_layer_step_matches_call(Leaky(4), (3, 4, 2))


def test_step_is_required():
    with pytest.raises(NotImplementedError, match="does not implement"):
        layers.CachedLayer().step((), np.zeros((1, 2)), 0, 0)


def test_every_cached_layer_is_one():
    for cls in (
        layers.ResidualBlock,
        layers.RowLSTM,
        layers.DiagonalBiLSTM,
        layers.SpatialLSTM,
    ):
        assert issubclass(cls, layers.CachedLayer)
    assert layers.BLOCKS["residual"] is layers.ResidualBlock


def test_register_block_bad_arguments():
    with pytest.raises(ValueError, match=r"takes a subclass of"):
        layers.register_block("not_a_layer")(dict)
    with pytest.raises(
        ValueError,
        match=r"The block 'residual' is already registered \(ResidualBlock\)",
    ):
        layers.register_block("residual")(Doubling)
    with pytest.raises(ValueError, match=r"Received: name=''"):
        layers.register_block("")
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `block`\. Expected a registered "
        r"block, one of \[.*'residual'.*\].*Received: block='nope'",
    ):
        models.PixelCNN((4, 4, 1), num_levels=2, block="nope")


def test_blocks_are_named_by_their_registered_name():
    """`residual_block_i` (the shipped presets' and exported states'
    names) for the default block, `NAME_block_i` for any other."""
    model = models.PixelCNN((4, 4, 1), num_levels=2, filters=2, num_layers=2)
    names = [layer.name for layer in model.backbone.layers]
    assert "residual_block_0" in names and "residual_block_1" in names
    layers.register_block("test_doubling")(Doubling)
    try:
        backbone = models.PixelCNNBackbone(
            (4, 4, 1), filters=2, num_layers=1, block="test_doubling"
        )
        assert "test_doubling_block_0" in [x.name for x in backbone.layers]
    finally:
        del layers.BLOCKS["test_doubling"]
