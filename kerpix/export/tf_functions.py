"""TensorFlow functions behind every exported endpoint (one place)."""

import tensorflow as tf

from kerpix.export import signatures as sig


def image_spec(model, name):
    return tf.TensorSpec((None,) + model.image_shape, sig.IMAGE_DTYPE, name)


def log_prob_function(model):
    return tf.function(
        lambda images: sig.log_prob_outputs(model, images),
        input_signature=[image_spec(model, sig.IMAGES)],
    )


def sample_step_specs(model):
    specs = [
        image_spec(model, sig.CANVAS),
        tf.TensorSpec((), tf.int64, sig.POSITION),
        tf.TensorSpec((None, model.noise_dims), tf.float32, sig.NOISE),
    ]
    for k, (shape, dtype) in enumerate(sig.state_shapes(model)):
        specs.append(tf.TensorSpec((None,) + shape, dtype, sig.state_name(k)))
    return specs


def sample_step_function(model):
    def step(canvas, position, noise, *states):
        return sig.sample_step_outputs(model, canvas, position, noise, states)

    return tf.function(step, input_signature=sample_step_specs(model))


def sample_function(model):
    height, width, _ = model.image_shape

    def sample(num_samples, seed):
        noise = tf.random.stateless_uniform(
            [num_samples, height * width, model.noise_dims],
            seed=tf.stack([seed, 0]),
            dtype=tf.float32,
        )
        return {sig.IMAGES: sample_from_noise(model, noise)}

    return tf.function(
        sample,
        input_signature=[
            tf.TensorSpec((), tf.int32, sig.NUM_SAMPLES),
            tf.TensorSpec((), tf.int32, sig.SEED),
        ],
    )


def sample_noise(model, num_samples, seed):
    """The noise the `sample` signature draws for `(num_samples, seed)`."""
    height, width, _ = model.image_shape
    return tf.random.stateless_uniform(
        [num_samples, height * width, model.noise_dims],
        seed=tf.constant([seed, 0], tf.int32),
        dtype=tf.float32,
    ).numpy()


def sample_from_noise(model, noise):
    """`model.sample(noise=...)` as one graph `while_loop` of steps."""
    num_samples = tf.shape(noise)[0]
    canvas = tf.zeros(
        tf.concat([[num_samples], model.image_shape], 0), sig.IMAGE_DTYPE
    )
    state = tuple(model.initial_state(num_samples))
    positions = noise.shape[1]

    def body(position, canvas, state):
        canvas, state = model.sample_step(
            canvas, state, position, noise[:, position]
        )
        return position + 1, canvas, tuple(state)

    _, canvas, _ = tf.while_loop(
        lambda position, *_: position < positions,
        body,
        (tf.constant(0), canvas, state),
    )
    return canvas
