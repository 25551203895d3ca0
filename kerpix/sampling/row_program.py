import weakref

import keras
from keras import ops
from keras.backend import backend

from kerpix.ops.pixels import update_pixel
from kerpix.ops.pixels import update_row

# Compiled programs per (model, sampler kind, temperature, rows per call),
# dropped with the model.
_PROGRAMS = weakref.WeakKeyDictionary()


class RowProgram(keras.Model):
    """Fills `num_rows` image rows per call, compiled by Keras's predict
    function.

    Keras compiles `predict_step` for the active backend (`tf.function`,
    `jax.jit`, ...), so the loops over rows and over the pixels of a row
    run as one compiled program (nested `fori_loop`s) on every backend
    without this module importing any of them. With `num_rows` the image
    height, one call samples a whole batch of images; `Sampler.fill` asks
    for fewer rows per call only to update a progress bar between calls.
    Pixels go into a row buffer and rows into the output, so no step
    writes an image-sized tensor.

    Per call: `sampler.start_image` (maps computed once per image from the
    conditioning; recomputed by each call, the same values), then per row
    `sampler.start_row` and per pixel `sampler.fill_pixel`, so per-row and
    per-image work never runs inside the per-pixel loop.

    Args:
        model: the density model.
        sampler: the `Sampler`: its `fill_pixel(model, state, noise, i, j,
            conditional_input, known)` -> `(values (N, C), state)`, with
            `noise` the pixel's `(N, noise_dims)` and values of the
            model's `sample_dtype`, and its `start_image`/`start_row`.
        num_rows: int. Rows filled per call.
        jit_compile: bool. Compile with XLA (the JAX backend always does).
    """

    def __init__(self, model, sampler, num_rows, jit_compile=True):
        super().__init__()
        self.density_model = model
        self.sampler = sampler
        self.num_rows = num_rows
        self.built = True
        self.compile(jit_compile=jit_compile or backend() == "jax")

    def call(self, inputs):
        noise = inputs["noise"]
        state = tuple(inputs["state"])
        conditional_input = inputs.get("conditional_input")
        start = ops.cast(inputs["row"][0], "int32")
        width, channels = self.density_model.image_shape[1:]
        batch = ops.shape(noise)[0]
        dtype = self.density_model.sample_dtype
        model, sampler = self.density_model, self.sampler
        state = sampler.start_image(model, state, conditional_input)

        def fill_row(r, carry):
            rows, state = carry
            state = sampler.start_row(
                model, state, start + r, conditional_input
            )

            def fill(j, carry):
                row, state = carry
                pixel_noise = ops.take(noise, r * width + j, axis=1)
                known = None
                if "known" in inputs:  # completion: this pixel's values
                    known = (
                        ops.take(ops.take(inputs["known"], r, axis=1), j, 1),
                        ops.take(ops.take(inputs["keep"], r, axis=1), j, 1),
                    )
                values, state = sampler.fill_pixel(
                    model,
                    state,
                    pixel_noise,
                    start + r,
                    j,
                    conditional_input,
                    known,
                )
                return update_pixel(row, 0, j, values), state

            row = ops.zeros((batch, 1, width, channels), dtype)
            row, state = ops.fori_loop(0, width, fill, (row, state))
            return update_row(rows, r, 0, row[:, 0]), state

        rows = ops.zeros((batch, self.num_rows, width, channels), dtype)
        rows, state = ops.fori_loop(0, self.num_rows, fill_row, (rows, state))
        return {"rows": rows, "state": state}


def get_program(model, key, sampler, num_rows, jit_compile=True):
    programs = _PROGRAMS.setdefault(model, {})
    key = key + (num_rows, jit_compile)
    if key not in programs:
        programs[key] = RowProgram(model, sampler, num_rows, jit_compile)
    return programs[key]
