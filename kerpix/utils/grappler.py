"""TensorFlow Grappler settings for kerpix's own runs. TensorFlow is
imported only when the context is entered (a no-op without it)."""

import contextlib


@contextlib.contextmanager
def without_grappler_remapper():
    """Turn off TensorFlow Grappler's remapper while kerpix trains,
    evaluates, checks an export or serves, then restore the process's
    setting.

    The remapper fuses a convolution, its bias, an element-wise op and the
    ReLU after it; on the PixelCNN's residual stack, where each block's sum
    feeds both the next block's ReLU and its skip connection, it fails
    (`remapper failed: INVALID_ARGUMENT: Mutation::Apply error: fanout
    '.../Relu' exist for missing node '.../residual_block_2_1/add'`, an
    E-level log line) and Grappler goes on with the graph unfused. Turning
    it off skips that failing pass: same graph, no false alarm.
    """
    try:
        import tensorflow as tf
    except ImportError:  # e.g. the JAX backend alone: nothing to configure
        yield
        return
    previous = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"remapping": False})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options(
            {"remapping": previous.get("remapping", True)}
        )
