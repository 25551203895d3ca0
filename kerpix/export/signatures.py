"""The documented contract of exported artifacts, shared by exporters.

Every endpoint takes and returns named tensors; `signature(model)` is what
`signature.json` holds, so a program that knows nothing of kerpix can
call the artifacts.
"""

from kerpix.version import __version__

IMAGES = "images"
LOG_PROB = "log_prob"
BITS_PER_DIM = "bits_per_dim"
# The image dtype of every endpoint: int32 holds any num_levels and is
# what TF Serving's JSON integers decode to.
IMAGE_DTYPE = "int32"


def signature(model):
    """The `signature.json` description of `model`'s exported endpoints."""
    height, width, channels = model.image_shape
    images = {
        "name": IMAGES,
        "dtype": IMAGE_DTYPE,
        "shape": ["batch", height, width, channels],
        "range": [0, model.num_levels - 1],
    }
    per_image = {"dtype": "float32", "shape": ["batch"]}
    return {
        "format_version": 1,
        "kerpix_version": __version__,
        "image_shape": [height, width, channels],
        "num_levels": model.num_levels,
        "conditional": False,
        "noise_dims": model.noise_dims,
        "endpoints": {
            "log_prob": {
                "inputs": [images],
                "outputs": [
                    {"name": LOG_PROB, "units": "nats per image", **per_image},
                    {
                        "name": BITS_PER_DIM,
                        "units": "nats / (H*W*C*ln 2)",
                        **per_image,
                    },
                ],
            }
        },
    }


def log_prob_outputs(model, images):
    """The `log_prob` endpoint's outputs for a batch of images."""
    from kerpix.metrics import bits_per_dim

    log_prob = model.compute_log_prob(images)
    return {
        LOG_PROB: log_prob,
        BITS_PER_DIM: bits_per_dim(-log_prob, model.image_shape),
    }
