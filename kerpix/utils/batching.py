"""Running a model function over a large NumPy input in batches."""

import keras
import numpy as np

from kerpix.utils.validation import validate_positive_int


def map_batches(fn, arrays, batch_size, empty_shape=(0,)):
    """`fn` over aligned NumPy `arrays` in batches, outputs concatenated.

    Args:
        fn: maps one batch of each array (`None` entries are passed as
            `None`) to a tensor whose first axis is the batch.
        arrays: list of arrays of the same length, or `None`s.
        batch_size: positive int. Examples per call.
        empty_shape: shape of the result for empty inputs.

    Returns:
        NumPy float32, the outputs of every batch concatenated.
    """
    validate_positive_int("batch_size", batch_size)
    length = len(next(a for a in arrays if a is not None))
    chunks = [
        keras.ops.convert_to_numpy(
            fn(*[a if a is None else a[k : k + batch_size] for a in arrays])
        )
        for k in range(0, length, batch_size)
    ]
    if not chunks:
        return np.zeros(empty_shape, "float32")
    return np.concatenate(chunks).astype("float32")
