import os

import keras
import numpy as np

from kerpix.sampling.row_program import get_program
from kerpix.utils.validation import validate_uniform

# Images sampled together when `batch_size` is None: at most this many
# (`python benchmarks/sampling_batch_sweep.py`, 28x28, 2-core CPU: cached
# throughput within 10% of its best at 256 for six of seven families, e.g.
# 82.3 images/s for the Gated PixelCNN at 256 vs 81.6 at 512 and 17.2 at
# batch 1; the PixelCNN, 197.5 vs 242.2 at 512), and fewer when one chunk's
# canvas, noise and sampler state would pass STATE_BYTES.
DEFAULT_BATCH_SIZE = 256
STATE_BYTES = 2**30
# Progress bar updates per image batch (about; see `rows_between_updates`).
PROGRESS_UPDATES = 8
# Environment variable holding the default of samplers' `jit_compile`.
JIT_COMPILE_VARIABLE = "KERPIX_SAMPLER_JIT_COMPILE"


def default_jit_compile():
    """Samplers' default `jit_compile`: `True` (XLA), or the value of the
    `KERPIX_SAMPLER_JIT_COMPILE` environment variable (`1`/`true` or
    `0`/`false`). A plain graph is built in about half the time, which is
    most of the time of sampling a tiny model (the default test suite sets
    it to `0`); XLA samples real models 2.3-7.0× faster."""
    raw = os.environ.get(JIT_COMPILE_VARIABLE)
    if raw is None:
        return True
    value = raw.strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise ValueError(
        f"Invalid value for environment variable `{JIT_COMPILE_VARIABLE}`. "
        f"Expected 1, true, 0 or false. Received: {raw!r}"
    )


def rows_between_updates(height):
    """Rows filled per compiled call when a progress bar is shown: the
    largest divisor of `height` up to `height / PROGRESS_UPDATES` (rounded
    up), so every call runs the same program."""
    most = -(-height // PROGRESS_UPDATES)
    return max(d for d in range(1, most + 1) if height % d == 0)


@keras.saving.register_keras_serializable(package="kerpix")
class Sampler:
    """Base class of samplers: holds `temperature` and `seed`.

    A sampler turns uniform noise `(N, H*W, noise_dims)` into images, one
    pixel at a time in raster order. Subclasses implement one method,
    `fill_pixel(model, state, noise, i, j, conditional_input, known) ->
    (values, state)` (the pixel's values `(N, C)`; `known`: `None`, or the
    pixel's known values `(N, C)` and `keep` flags `(N,)` when
    completing), and optionally `initial_state(model, batch_size)` and
    the once-per-image and once-per-row work `start_image(model, state,
    conditional_input)` and `start_row(model, state, i,
    conditional_input)`; the loops over rows and pixels run as one
    compiled program (see `RowProgram`). Because every random choice is
    an inverse CDF of the given noise, two samplers (or runtimes) fed the
    same noise must produce the same images.

    Args:
        temperature: float >= 0. Divides the logits; 0 picks the mode.
            Defaults to `1.0`.
        seed: int or `None`. Seed of the noise when none is given.
        jit_compile: bool or `None`. Compile the sampling program with
            XLA on the TensorFlow backend (the JAX backend always does).
            `None` (the default) is `True` unless the environment variable
            `KERPIX_SAMPLER_JIT_COMPILE` says otherwise
            (`default_jit_compile`): on a 2-core CPU XLA sampled 2.3-7.0×
            faster than a plain graph (`python benchmarks/sampling_speed.py
            --compare-jit`, the README's sampling table).
    """

    # The name `model.sample(method=...)` and `get_sampler` know it by.
    method = None

    def __init__(self, temperature=1.0, seed=None, jit_compile=None):
        if not isinstance(temperature, (int, float)) or temperature < 0:
            raise ValueError(
                "Invalid value for argument `temperature`. Expected a "
                "number >= 0 (0 takes the mode). Received: "
                f"temperature={temperature!r}"
            )
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(
                "Invalid value for argument `seed`. Expected an int or None. "
                f"Received: seed={seed!r}"
            )
        if jit_compile is None:
            jit_compile = default_jit_compile()
        if not isinstance(jit_compile, bool):
            raise ValueError(
                "Invalid value for argument `jit_compile`. Expected True, "
                f"False or None. Received: jit_compile={jit_compile!r}"
            )
        self.temperature = float(temperature)
        self.seed = seed
        self.jit_compile = jit_compile

    def __call__(
        self,
        model,
        num_samples=None,
        noise=None,
        verbose="auto",
        conditional_input=None,
        known=None,
        batch_size=None,
    ):
        noise = self.make_noise(model, num_samples, noise)
        return self.fill(
            model,
            noise,
            verbose,
            conditional_input,
            known,
            batch_size=batch_size,
        )

    def check_model(self, model):
        """Refuse a model whose `sampling_methods` do not include this
        sampler's `method` (RIDE and the MCGSM have no naive sampler)."""
        methods = getattr(model, "sampling_methods", None)
        if self.method is not None and methods is not None:
            if self.method not in methods:
                raise ValueError(
                    f"Invalid value for argument `model`. {type(self).__name__}"
                    f" (method={self.method!r}) cannot sample a "
                    f"{type(model).__name__}; its sampling methods are "
                    f"{list(methods)}. Received: model={model.name!r}"
                )

    def make_noise(self, model, num_samples=None, noise=None):
        """Validate `noise`, or draw it from `seed` for `num_samples`."""
        expected = (model.num_positions, model.noise_dims)
        if noise is None:
            if not isinstance(num_samples, (int, np.integer)) or (
                num_samples < 1
            ):
                raise ValueError(
                    "Invalid value for argument `num_samples`. Expected a "
                    "positive int (or pass `noise`). Received: "
                    f"num_samples={num_samples!r}"
                )
            rng = np.random.default_rng(self.seed)
            return rng.random((int(num_samples),) + expected, "float32")
        noise = np.asarray(noise)
        if noise.ndim != 3 or noise.shape[1:] != expected:
            raise ValueError(
                "Invalid value for argument `noise`. Expected uniforms of "
                f"shape (num_samples, {expected[0]}, {expected[1]}) = "
                "(N, num_positions, noise_dims). Received: "
                f"noise.shape={noise.shape}"
            )
        if num_samples is not None and num_samples != noise.shape[0]:
            raise ValueError(
                "Invalid value for argument `num_samples`. It must equal "
                f"noise.shape[0]={noise.shape[0]} (or be None). Received: "
                f"num_samples={num_samples!r}"
            )
        return validate_uniform("noise", noise)

    def fill(
        self,
        model,
        noise,
        verbose="auto",
        conditional_input=None,
        known=None,
        num_rows=None,
        batch_size=None,
    ):
        """Sample images from `noise` `(N, H*W, noise_dims)`, row by row.

        `conditional_input` (labels or vectors, one per image) is passed to
        every pixel of conditional models. `known` (completion) is
        `(images (N, H, W, C), keep (N, H, W))`: pixels with `keep` 1 take
        the images' values instead of a draw. Returns what the model's
        `pixel_step` draws, of its `sample_dtype`: integer images, or
        RIDE's continuous values. With `num_rows`, only the first
        `num_rows` rows are returned (the rest is zero; the program may
        have drawn a few rows more): for callers that need no pixel below
        them.
        `batch_size` images are sampled at a time (default:
        `default_batch_size(model)`); every image depends only on its own
        noise, so the chunks change nothing but the memory used.
        Without a progress bar (`verbose=0`) a whole image batch is one
        compiled call; with one, or with `num_rows`, each call fills
        `rows_between_updates(H)` rows.
        """
        self.check_model(model)
        if conditional_input is None and getattr(model, "conditional_dims", 0):
            raise ValueError(
                "Invalid value for argument `conditional_input`. This model "
                "is conditional; pass one label or vector per image (see "
                "`model.sample`). Received: conditional_input=None"
            )
        if batch_size is None:
            batch_size = self.default_batch_size(model)
        elif isinstance(batch_size, bool) or not (
            isinstance(batch_size, (int, np.integer)) and batch_size >= 1
        ):
            raise ValueError(
                "Invalid value for argument `batch_size`. Expected a "
                f"positive int or None. Received: batch_size={batch_size!r}"
            )
        if noise.shape[0] > batch_size:
            return self._fill_chunks(
                model,
                noise,
                verbose,
                conditional_input,
                known,
                num_rows,
                int(batch_size),
            )
        full_height, width, _ = model.image_shape
        height = full_height
        if num_rows is not None:
            if isinstance(num_rows, bool) or not (
                isinstance(num_rows, (int, np.integer))
                and 1 <= num_rows <= height
            ):
                raise ValueError(
                    "Invalid value for argument `num_rows`. Expected an "
                    f"integer in [1, {height}] or None. Received: "
                    f"num_rows={num_rows!r}"
                )
            height = int(num_rows)
        batch = noise.shape[0]
        progbar = None
        # The whole image in one compiled call; with a progress bar, or for
        # the first rows only, calls of a fixed divisor of the height (two
        # programs per model at most, whatever `num_rows`).
        rows_per_call = full_height
        if verbose in ("auto", 1, True) or height < full_height:
            rows_per_call = rows_between_updates(full_height)
        if verbose in ("auto", 1, True):
            progbar = keras.utils.Progbar(height, unit_name="row")
        program = self.program(
            model, completes=known is not None, num_rows=rows_per_call
        )
        canvas = np.zeros((batch,) + model.image_shape, model.sample_dtype)
        state = tuple(
            keras.ops.convert_to_numpy(s)
            for s in self.initial_state(model, batch)
        )
        for start in range(0, height, rows_per_call):
            stop = start + rows_per_call
            inputs = {
                "noise": noise[:, start * width : stop * width],
                "row": np.full((batch,), start, "int32"),
                "state": state,
            }
            if conditional_input is not None:
                inputs["conditional_input"] = conditional_input
            if known is not None:
                inputs["known"] = known[0][:, start:stop]
                inputs["keep"] = known[1][:, start:stop]
            outputs = program.predict_on_batch(inputs)
            canvas[:, start:stop] = outputs["rows"]
            state = tuple(outputs["state"])
            if progbar is not None:
                progbar.update(min(stop, height))
        canvas[:, height:] = 0  # rows past `num_rows` are not returned
        return canvas

    def _fill_chunks(
        self,
        model,
        noise,
        verbose,
        conditional_input,
        known,
        num_rows,
        batch_size,
    ):
        """`fill` over consecutive chunks of `batch_size` images."""
        canvases = []
        for start in range(0, noise.shape[0], batch_size):
            part = slice(start, start + batch_size)
            canvas = self.fill(
                model,
                noise[part],
                verbose,
                None if conditional_input is None else conditional_input[part],
                None if known is None else (known[0][part], known[1][part]),
                num_rows=num_rows,
                batch_size=batch_size,
            )
            canvases.append(canvas)
        return np.concatenate(canvases)

    def default_batch_size(self, model):
        """How many images `fill` samples at once by default: at most
        `DEFAULT_BATCH_SIZE`, fewer when a chunk's canvas, noise and state
        would pass `STATE_BYTES` (image-sized caches of large images)."""
        per_image = 4 * int(np.prod(model.image_shape))
        per_image += 4 * model.num_positions * model.noise_dims
        for s in self.initial_state(model, 1):
            s = keras.ops.convert_to_numpy(s)
            per_image += s.size * s.dtype.itemsize
        return int(max(1, min(DEFAULT_BATCH_SIZE, STATE_BYTES // per_image)))

    def program(self, model, completes=False, num_rows=None):
        """The compiled program of this sampler for `model` that fills
        `num_rows` rows per call (default: the whole image; cached)."""
        return get_program(
            model,
            (type(self).__name__, self.temperature, completes),
            self,
            num_rows or model.image_shape[0],
            self.jit_compile,
        )

    def initial_state(self, model, batch_size):
        """The per-batch state `fill_pixel` carries (none by default)."""
        return ()

    def start_image(self, model, state, conditional_input=None):
        """The state before an image's first pixel (unchanged by default)."""
        return tuple(state)

    def start_row(self, model, state, i, conditional_input=None):
        """The state before row `i`'s first pixel (unchanged by default)."""
        return tuple(state)

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
        raise NotImplementedError(
            f"{type(self).__name__} must implement fill_pixel(model, state, "
            "noise, i, j, conditional_input=None, known=None) -> (values, "
            "state)"
        )

    def get_config(self):
        return {
            "temperature": self.temperature,
            "seed": self.seed,
            "jit_compile": self.jit_compile,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
