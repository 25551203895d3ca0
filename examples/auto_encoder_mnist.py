"""PixelCNN auto-encoder on MNIST: reconstructions from a 10-number code.

    python examples/auto_encoder_mnist.py --minutes 4 \
        --output docs/images/auto_encoder_mnist.png

Trains `PixelCNNAutoEncoder(code_size=10)` on MNIST thresholded to binary
for a wall-clock budget, prints the test reconstruction NLL
`-log p(x | enc(x))`, and writes a grid: the first row holds test images,
each row below one sample of the decoder given those images' codes, so
each column keeps the content of its image and varies in detail.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--num-train", type=int, default=None)
    parser.add_argument("--num-test", type=int, default=1000)
    parser.add_argument("--num-validation", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--output", default="saved_models/auto_encoder_mnist.png"
    )
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    from _common import binarized_mnist_with_labels
    from _common import test_nll
    from _common import train_for

    import kerpix
    from kerpix.utils import save_image_grid

    keras.utils.set_random_seed(0)
    x, _ = binarized_mnist_with_labels(
        "train[:55000]", args.data_dir, args.num_train
    )
    x_val, _ = binarized_mnist_with_labels(
        "train[55000:]", args.data_dir, args.num_validation
    )
    x_test, _ = binarized_mnist_with_labels(
        "test", args.data_dir, args.num_test
    )
    model = kerpix.models.PixelCNNAutoEncoder(
        (28, 28, 1),
        num_levels=2,
        code_size=10,
        filters=32,
        num_layers=5,
        kernel_size=3,
        first_kernel_size=5,
        encoder_filters=16,
        num_downsamplings=2,
        conditioning_filters=16,
    )
    minutes = train_for(
        model, x, None, args.minutes, batch_size=64, validation_data=x_val
    )
    nats, bits = test_nll(model, x_test)
    print(
        f"test reconstruction NLL -log p(x | enc(x)): {nats:.2f} "
        f"nats/image = {bits:.4f} bits/dim ({len(x_test)} images, "
        f"{minutes:.1f} min of training)"
    )
    originals = x_test[: args.columns]
    codes = np.tile(model.encode(originals), (args.rows, 1))
    samples = model.sample(conditional_input=codes, seed=0)
    grid = np.concatenate([originals, samples])
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    save_image_grid(args.output, grid, 2, columns=args.columns)
    print(
        f"first row: test images; rows below: samples given their codes -> "
        f"{args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
