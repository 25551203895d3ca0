"""Time TensorFlow Probability's `tfd.PixelCNN.sample` (PixelCNN++).

Run by `benchmarks/sampling_speed.py --tfp-python PYTHON` in its own
process and virtualenv, never with kerpix's Keras 3: TFP 0.25 needs
`tf-keras` and `TF_USE_LEGACY_KERAS=1`. Make that virtualenv with

    python3.11 -m venv /tmp/tfpvenv
    /tmp/tfpvenv/bin/pip install "tensorflow-cpu==2.19.*" \\
        "tf-keras==2.19.*" "tensorflow-probability==0.25.*"

    TF_USE_LEGACY_KERAS=1 /tmp/tfpvenv/bin/python \\
        benchmarks/tfp_pixelcnn_sampling.py --size 28 --batch-size 8

Prints one JSON line: seconds for one `sample(batch_size)` of an untrained
`tfd.PixelCNN` (one warm-up call first, which traces and compiles its
`while_loop`), and the model's settings. TFP samples by running the whole
network once per pixel (its while loop), so its time grows with the
pixels times the network's cost on the whole image.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--num-filters", type=int, default=64)
    parser.add_argument("--num-resnet", type=int, default=1)
    parser.add_argument("--num-hierarchies", type=int, default=2)
    parser.add_argument("--num-logistic-mix", type=int, default=5)
    args = parser.parse_args(argv)

    import tensorflow as tf
    import tensorflow_probability as tfp

    dist = tfp.distributions.PixelCNN(
        image_shape=(args.size, args.size, 1),
        num_resnet=args.num_resnet,
        num_hierarchies=args.num_hierarchies,
        num_filters=args.num_filters,
        num_logistic_mix=args.num_logistic_mix,
        dropout_p=0.0,
    )
    sample = tf.function(lambda: dist.sample(args.batch_size, seed=0))
    start = time.perf_counter()
    sample().numpy()
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    images = sample().numpy()
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": seconds,
                "warmup_seconds": warmup,
                "images_shape": list(images.shape),
                "num_params": int(
                    sum(
                        v.shape.num_elements()
                        for v in dist.network.trainable_variables
                    )
                ),
                "settings": vars(args),
                "versions": {
                    "tensorflow": tf.__version__,
                    "tensorflow_probability": tfp.__version__,
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
