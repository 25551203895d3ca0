import weakref

import keras
from keras import ops

# Compiled programs per (model, sampler kind, temperature), dropped with the
# model.
_PROGRAMS = weakref.WeakKeyDictionary()


class RowProgram(keras.Model):
    """Fills one image row per call, compiled by Keras's predict function.

    Keras compiles `predict_step` for the active backend (`tf.function`,
    `jax.jit`, ...), so the per-pixel loop over a row runs as one compiled
    `fori_loop` on every backend without this module importing any of
    them. Rows are driven from Python to show a progress bar.

    Args:
        model: the `ImageDensityModel`.
        fill_pixel: `fill_pixel(model, canvas, state, noise, i, j,
            conditional_input, known)` -> `(canvas, state)`, with `noise`
            the pixel's `(N, noise_dims)`.
    """

    def __init__(self, model, fill_pixel):
        super().__init__()
        self.density_model = model
        self.fill_pixel = fill_pixel
        self.built = True

    def call(self, inputs):
        canvas, noise, row = inputs["canvas"], inputs["noise"], inputs["row"]
        state = tuple(inputs["state"])
        conditional_input = inputs.get("conditional_input")
        i = ops.cast(row[0], "int32")

        def body(j, carry):
            canvas, state = carry
            pixel_noise = ops.take(noise, j, axis=1)
            known = None
            if "known" in inputs:  # completion: this row's known pixels
                known = (
                    ops.take(inputs["known"], j, axis=1),
                    ops.take(inputs["keep"], j, axis=1),
                )
            return self.fill_pixel(
                self.density_model,
                canvas,
                state,
                pixel_noise,
                i,
                j,
                conditional_input,
                known,
            )

        canvas, state = ops.fori_loop(
            0, self.density_model.image_shape[1], body, (canvas, state)
        )
        return {"canvas": canvas, "state": state}


def get_program(model, key, fill_pixel):
    programs = _PROGRAMS.setdefault(model, {})
    if key not in programs:
        programs[key] = RowProgram(model, fill_pixel)
    return programs[key]
