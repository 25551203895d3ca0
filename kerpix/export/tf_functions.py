"""TensorFlow functions behind every exported endpoint (one place)."""

import tensorflow as tf

import kerpix.export.signatures as sig
from kerpix.sampling.cached_sampler import CachedSampler


def image_spec(model, name):
    return tf.TensorSpec((None,) + model.image_shape, sig.IMAGE_DTYPE, name)


def conditional_specs(model):
    """`[]`, or the `conditional_input` spec of a conditional model."""
    if not model.step_conditional_dims:
        return []
    if model.num_classes:
        return [tf.TensorSpec((None,), tf.int32, sig.CONDITIONAL_INPUT)]
    return [
        tf.TensorSpec(
            (None, model.step_conditional_dims),
            tf.float32,
            sig.CONDITIONAL_INPUT,
        )
    ]


def log_prob_specs(model):
    if sig.dequantizes(model):
        noise = tf.TensorSpec(
            (None,) + model.image_shape, tf.float32, sig.DEQUANTIZATION
        )
        return [image_spec(model, sig.IMAGES), noise]
    return [image_spec(model, sig.IMAGES)] + conditional_specs(model)


def check_range(tensor, name, low, high, high_inclusive=True):
    """`tensor`, once checked: the call fails with an InvalidArgumentError
    naming the input and the range unless every value lies in `[low,
    high]` (or `[low, high)`). Use the returned tensor, so that nothing
    reads the input before the check (a slice at position 10**6 would
    fail first with a message about slices). The SavedModel keeps the
    check (TF Serving answers 400 with its message); ONNX has no
    assertions, so `signature.json` states the ranges and out-of-range
    images score NaN there."""
    above = tensor <= high if high_inclusive else tensor < high
    bracket = "]" if high_inclusive else ")"
    assertion = tf.debugging.Assert(
        tf.reduce_all((tensor >= low) & above),
        [
            f"Input '{name}' must be in [{low}, {high}{bracket}; received "
            "values from",
            tf.reduce_min(tensor),
            "to",
            tf.reduce_max(tensor),
        ],
        name=f"check_{name}",
    )
    with tf.control_dependencies([assertion]):
        return tf.identity(tensor)


def check_images(model, images, name=sig.IMAGES):
    return check_range(images, name, 0, model.num_levels - 1)


def check_labels(model, condition):
    """Class labels of class-conditional models in `[0, num_classes)`."""
    if not model.num_classes:
        return condition
    return check_range(
        condition, sig.CONDITIONAL_INPUT, 0, model.num_classes - 1
    )


def log_prob_function(model):
    if sig.dequantizes(model):

        def dequantized(images, noise):
            images = check_images(model, images)
            noise = check_range(
                noise, sig.DEQUANTIZATION, 0, 1, high_inclusive=False
            )
            return sig.log_prob_outputs(model, images, noise)

        return tf.function(dequantized, input_signature=log_prob_specs(model))

    def log_prob(images, *conditional):
        images = check_images(model, images)
        inputs = images
        if conditional:
            labels = check_labels(model, conditional[0])
            inputs = {sig.IMAGES: images, sig.CONDITIONAL_INPUT: labels}
        return sig.log_prob_outputs(model, inputs)

    return tf.function(log_prob, input_signature=log_prob_specs(model))


def encode_function(model):
    """`encode(images) -> codes` of an auto-encoder."""
    return tf.function(
        lambda images: sig.encode_outputs(model, images),
        input_signature=[image_spec(model, sig.IMAGES)],
    )


def state_specs(model):
    """Specs of the step endpoints' `state_k` inputs."""
    return [
        tf.TensorSpec((None,) + shape, dtype, sig.state_name(k))
        for k, (shape, dtype) in enumerate(sig.state_shapes(model))
    ]


def _split_conditional(model, args):
    """`(conditional_input or None, states)` of a step function's
    trailing arguments (see `conditional_specs`)."""
    if model.step_conditional_dims:
        return args[0], args[1:]
    return None, args


def sample_step_specs(model):
    return (
        [
            image_spec(model, sig.CANVAS),
            tf.TensorSpec((), tf.int64, sig.POSITION),
            tf.TensorSpec((None, model.noise_dims), tf.float32, sig.NOISE),
        ]
        + conditional_specs(model)
        + state_specs(model)
    )


def sample_step_function(model):
    def step(canvas, position, noise, *rest):
        canvas = check_images(model, canvas, sig.CANVAS)
        position = check_range(
            position, sig.POSITION, 0, model.num_positions - 1
        )
        noise = check_range(noise, sig.NOISE, 0, 1, high_inclusive=False)
        condition, states = _split_conditional(model, rest)
        if condition is not None:
            condition = check_labels(model, condition)
        return sig.sample_step_outputs(
            model, canvas, position, noise, states, condition
        )

    return tf.function(step, input_signature=sample_step_specs(model))


def sample_function(model):
    """`sample(num_samples, seed)`; conditional models take
    `sample(seed, conditional_input)`, one image per condition."""

    program = row_program(model)

    def draw(num_samples, seed, condition=None):
        if condition is not None:
            condition = check_labels(model, condition)
        else:
            num_samples = check_range(
                num_samples, sig.NUM_SAMPLES, 1, sig.MAX_SAMPLES
            )
        noise = seeded_noise(model, num_samples, seed)
        images = sample_from_noise(model, noise, condition, program)
        return {sig.IMAGES: images}

    seed = tf.TensorSpec((), tf.int32, sig.SEED)
    if model.step_conditional_dims:
        return tf.function(
            lambda seed, condition: draw(
                tf.shape(condition)[0], seed, condition
            ),
            input_signature=[seed] + conditional_specs(model),
        )
    return tf.function(
        draw,
        input_signature=[tf.TensorSpec((), tf.int32, sig.NUM_SAMPLES), seed],
    )


def seeded_noise(model, num_samples, seed):
    """The uniform noise the `sample` signature draws for a seed."""
    return tf.random.stateless_uniform(
        [num_samples, model.num_positions, model.noise_dims],
        seed=tf.stack([tf.cast(seed, tf.int32), 0]),
        dtype=tf.float32,
    )


def sample_noise(model, num_samples, seed):
    """`seeded_noise` as NumPy, to reproduce the signature in Keras."""
    return seeded_noise(model, num_samples, seed).numpy()


def row_program(model):
    """The cached sampler's `RowProgram` over a whole image, or `None` for
    models whose steps are not the pixels (the multi-scale model's staged
    steps)."""
    if not sig.samples_by_rows(model):
        return None
    return CachedSampler(jit_compile=False).program(model)


def sample_from_noise(model, noise, conditional_input=None, program=None):
    """`model.sample(noise=...)` as graph loops: `program`'s (see
    `row_program`: the Keras sampler's loops over rows and pixels, not
    XLA-compiled, TF Serving's CPU JIT being off by default), or one
    `while_loop` of `sample_step`s over the positions."""
    num_samples = tf.shape(noise)[0]
    state = tuple(model.initial_state(num_samples))
    if program is not None:
        inputs = {
            "noise": noise,
            "row": tf.zeros([num_samples], tf.int32),
            "state": state,
        }
        if conditional_input is not None:
            inputs["conditional_input"] = conditional_input
        rows = program.call(inputs)["rows"]
        return tf.cast(model.to_images(rows), sig.IMAGE_DTYPE)
    canvas = tf.zeros(
        tf.concat([[num_samples], model.image_shape], 0), sig.IMAGE_DTYPE
    )
    positions = noise.shape[1]

    def body(position, canvas, state):
        canvas, state = model.sample_step(
            canvas,
            state,
            position,
            noise[:, position],
            conditional_input=conditional_input,
        )
        return position + 1, canvas, tuple(state)

    _, canvas, _ = tf.while_loop(
        lambda position, *_: position < positions,
        body,
        (tf.constant(0), canvas, state),
    )
    return canvas


# === The pieces of `sample.onnx`'s loops over rows and pixels ===
# `RowProgram`'s structure, for exporters that compose their own loops:
# `start_image` once, then per row `start_row` and per pixel `pixel_step`,
# each a graph of its own (no conditionals choosing between them).

ROW = "row"
VALUES = "values"


def start_image_function(model):
    """`([conditional_input], *states) -> next states`."""

    def start(*args):
        condition, states = _split_conditional(model, args)
        return sig.next_states(model.start_image(tuple(states), condition))

    specs = conditional_specs(model) + state_specs(model)
    return tf.function(start, input_signature=specs), specs


def start_row_function(model):
    """`(row, [conditional_input], *states) -> next states`, `row` int64."""

    def start(row, *args):
        condition, states = _split_conditional(model, args)
        row = tf.cast(row, tf.int32)
        return sig.next_states(model.start_row(tuple(states), row, condition))

    specs = [tf.TensorSpec((), tf.int64, ROW)]
    specs += conditional_specs(model) + state_specs(model)
    return tf.function(start, input_signature=specs), specs


def pixel_step_function(model):
    """`(position, noise, [conditional_input], *states) -> values, next
    states`: `model.pixel_step`, its values as image levels (int32 `(N,
    C)`)."""

    def step(position, noise, *args):
        condition, states = _split_conditional(model, args)
        values, states = model.pixel_step(
            tuple(states), position, noise, conditional_input=condition
        )
        values = tf.cast(model.to_images(values), sig.IMAGE_DTYPE)
        return {VALUES: values, **sig.next_states(states)}

    specs = [
        tf.TensorSpec((), tf.int64, sig.POSITION),
        tf.TensorSpec((None, model.noise_dims), tf.float32, sig.NOISE),
    ]
    specs += conditional_specs(model) + state_specs(model)
    return tf.function(step, input_signature=specs), specs
