"""Input gradients on every Keras backend (test harness only).

`keras.ops` has no `grad`, so this is the one place in the core that
dispatches on the backend; it imports TensorFlow, JAX or torch lazily and
only when tests ask for gradients.
"""

import keras
import numpy as np


def input_gradient(fn, x, select):
    """Gradient of the scalar `select(fn(x))` with respect to `x` (NumPy)."""
    backend = keras.backend.backend()
    x = np.asarray(x, dtype="float32")
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = select(fn(x))
        return tape.gradient(y, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: select(fn(v)))(x))
    if backend == "torch":
        import torch

        x = torch.tensor(x, requires_grad=True)
        select(fn(x)).backward()
        return x.grad.numpy()
    raise ValueError(
        f"Gradients are not supported on the {backend!r} backend; use "
        "KERAS_BACKEND=tensorflow, jax or torch."
    )
