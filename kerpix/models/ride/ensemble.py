"""EoRIDE: a RIDE averaged over the flips and transposes of the image."""

import math

import keras
from keras import ops

from kerpix.utils.batching import map_batches


def ensemble_log_prob(model, images, batch_size=256, seed=0):
    """EoRIDE: `log (1/K) Σ_k p(T_k y)` over the `K = 8` flips and
    transposes of square images (`K = 4` flips otherwise), in nats.

    Each transform permutes the pixels, so `p(T_k y)` is itself a density
    of `y` (every pixel counts, each model's zero padding included) and
    their average is one too: no pixels are left out. Integer images use
    one dequantization draw shared by all `T_k`, so the result is a bound
    like `model.log_prob`'s.

    Args:
        model: a `kerpix.models.RIDE`.
        images: `(N, H, W, 1)` images of the model.
        batch_size: int. Images per pass. Defaults to `256`.
        seed: int. Seed of the dequantization draw. Defaults to `0`.

    Returns:
        NumPy float32 `(N,)`.
    """
    images = model.validate_images(images)
    seed = keras.random.SeedGenerator(seed)

    def log_prob(batch):
        y = model.to_values(batch, seed=seed)
        log_ps = ops.stack([model.image_log_prob(t) for t in transforms(y)])
        return ops.logsumexp(log_ps, axis=0) - math.log(len(log_ps))

    return map_batches(log_prob, [images], batch_size)


def transforms(y):
    """The flips of images `y` `(N, H, W, C)` and, when square, their
    transposes."""
    flips = [y, ops.flip(y, 1), ops.flip(y, 2), ops.flip(ops.flip(y, 1), 2)]
    if y.shape[1] != y.shape[2]:
        return flips
    return flips + [ops.transpose(t, (0, 2, 1, 3)) for t in flips]
