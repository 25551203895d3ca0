import keras
from keras import ops

from kerpix.ops.pixels import keep_known
from kerpix.ops.pixels import read_pixel
from kerpix.sampling.sampler import Sampler


@keras.saving.register_keras_serializable(package="kerpix")
class RasterSampler(Sampler):
    """Reference sampler: re-runs the whole network for every sub-pixel.

    For pixel `p = i*W + j` in raster order and each colour `c` in R→G→B
    order, it computes the head parameters of the current canvas and sets
    `x[i, j, c]` to the inverse CDF of `p(x_{ij,c} | x_<)` at
    `noise[:, p, c]`. Heads that model the colours of a pixel jointly
    (`head.samples_channels_jointly`) fill the whole pixel in one pass.
    This costs `H*W*C` full network passes: slow, but obviously correct,
    and the yardstick every faster sampler is tested against.

    Args:
        temperature: float >= 0. Defaults to `1.0`.
        seed: int or `None`.
        jit_compile: bool. Defaults to `False`: the reference sampler is
            compiled as a plain graph (XLA compiles its whole network
            inside the loops, slow to build for a sampler used to check
            others).

    Example:

    >>> model = kerpix.models.PixelCNN((4, 4, 1), num_levels=2, filters=4,
    ...                                num_layers=1)
    >>> sampler = kerpix.sampling.RasterSampler(seed=0)
    >>> sampler(model, num_samples=3, verbose=0).shape
    (3, 4, 4, 1)
    """

    method = "naive"

    def __init__(self, temperature=1.0, seed=None, jit_compile=False):
        super().__init__(temperature, seed, jit_compile)

    def initial_state(self, model, batch_size):
        """The canvas the network is re-run on."""
        return (ops.zeros((batch_size,) + model.image_shape, "int32"),)

    def fill_pixel(
        self,
        model,
        state,
        noise,
        i,
        j,
        conditional_input=None,
        known=None,
    ):
        head = model.head
        (canvas,) = state
        batch = ops.shape(canvas)[0]
        pixel_noise = noise[:, None, None, :]
        passes = model.passes_per_pixel
        for c in range(passes):
            params = model.compute_params(
                model.preprocessor(canvas), conditional_input
            )
            pixel_params = ops.slice(
                params, (0, i, j, 0), (batch, 1, 1, head.params_size)
            )
            values = head.sample(pixel_params, pixel_noise, self.temperature)
            if known is not None:
                values = ops.reshape(
                    keep_known(ops.reshape(values, (batch, -1)), known),
                    ops.shape(values),
                )
            if passes > 1:
                values = values[..., c : c + 1]
            canvas = ops.slice_update(
                canvas,
                (0, i, j, c if passes > 1 else 0),
                ops.cast(values, canvas.dtype),
            )
        return read_pixel(canvas, i, j), (canvas,)
