"""Check a backbone's step interface against its full forward pass."""

import keras
import numpy as np


def assert_step_matches_call(backbone, batch_size=2, seed=0, atol=1e-5):
    """Drive `start_image`/`start_row`/`step`/`commit` over an image the
    way sampling does.

    At each pixel, pass `c` sees the true sub-pixels before colour `c` and
    garbage after (they are not sampled yet); colour group `c` of its
    features must equal the full forward pass. `commit` then gets the true
    pixel. This catches a cache that keeps a not-yet-sampled value.
    """
    rng = np.random.default_rng(seed)
    image_shape = tuple(backbone.image_shape)
    height, width, channels = image_shape
    x = rng.uniform(-1, 1, (batch_size,) + image_shape).astype("float32")
    condition = None
    if backbone.conditional_dims:
        condition = rng.normal(size=(batch_size, backbone.conditional_dims))
        condition = condition.astype("float32")
        full = keras.ops.convert_to_numpy(backbone([x, condition]))
    else:
        full = keras.ops.convert_to_numpy(backbone(x))
    group = full.shape[-1] // channels
    state = backbone.start_image(backbone.initial_state(batch_size), condition)
    for i in range(height):
        state = backbone.start_row(state, i, condition)
        for j in range(width):
            for c in range(channels):
                pixel = x[:, i, j].copy()
                pixel[:, c:] = rng.uniform(-1, 1, pixel[:, c:].shape)
                features, new_state = backbone.step(
                    state, pixel, i, j, condition
                )
                got = keras.ops.convert_to_numpy(features)
                block = slice(c * group, (c + 1) * group)
                if not np.allclose(
                    got[:, block], full[:, i, j, block], atol=atol
                ):
                    raise AssertionError(
                        f"step features at pixel {(i, j)}, colour {c} "
                        "differ from the full forward pass."
                    )
            state = backbone.commit(new_state, x[:, i, j], i, j)


def assert_layer_step_matches_call(
    layer, input_shape, batch_size=2, seed=0, atol=1e-5
):
    """Drive a `kerpix.layers.CachedLayer`'s `initial_cache`/`start_row`/
    `step` over an input map `(H, W, F)` in raster order, the way its
    backbone does.

    Colour pass `c` at a pixel starts from the cache before the pixel and
    sees the true inputs of colour groups up to `c` and garbage after (a
    layer's inputs in later groups are not computed yet); output group `c`
    must equal the full forward pass. The last pass's cache goes on.
    """
    rng = np.random.default_rng(seed)
    height, width, features = input_shape
    x = rng.normal(size=(batch_size,) + tuple(input_shape)).astype("float32")
    full = keras.ops.convert_to_numpy(layer(x))
    colors = getattr(layer, "num_color_channels", 1)
    in_group = features // colors
    out_group = full.shape[-1] // colors
    cache = layer.initial_cache(batch_size, width)
    for i in range(height):
        cache = layer.start_row(cache, i)
        for j in range(width):
            for c in range(colors):
                inputs = x[:, i, j].copy()
                later = inputs[:, (c + 1) * in_group :]
                inputs[:, (c + 1) * in_group :] = rng.normal(size=later.shape)
                outputs, new_cache = layer.step(cache, inputs, i, j)
                got = keras.ops.convert_to_numpy(outputs)
                group = slice(c * out_group, (c + 1) * out_group)
                if not np.allclose(
                    got[:, group], full[:, i, j, group], atol=atol
                ):
                    raise AssertionError(
                        f"{type(layer).__name__}.step at pixel {(i, j)}, "
                        f"colour {c} differs from the full forward pass."
                    )
            cache = new_cache
