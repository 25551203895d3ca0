"""PixelRNN image completion on binarized MNIST (occluded lower halves).

    python examples/pixel_rnn_completion.py --lstm row_lstm --minutes 5 \
        --output docs/images/pixel_rnn_completion.png

Trains a PixelRNN (`--lstm row_lstm` or `diagonal_bilstm`, paper size:
7 layers × 16 units; `--num-layers` for fewer) on the fixed binarized
MNIST for a wall-clock budget, prints its test NLL, then hides the lower
half of test images and samples it given the upper half. Grid rows:
originals, masked inputs (hidden half black), then `--completions`
completions.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--lstm", default="row_lstm", choices=["row_lstm", "diagonal_bilstm"]
    )
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--num-train", type=int, default=None)
    parser.add_argument("--num-test", type=int, default=1000)
    parser.add_argument("--num-validation", type=int, default=1000)
    parser.add_argument(
        "--num-layers", type=int, default=7, help="LSTM layers (paper: 7)"
    )
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--completions", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--output", default="saved_models/pixel_rnn_completion.png"
    )
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    from _common import test_nll
    from _common import train_for

    import kerpix
    from kerpix.data import load
    from kerpix.data import to_numpy
    from kerpix.utils import save_image_grid

    keras.utils.set_random_seed(0)
    data = dict(data_dir=args.data_dir)
    x = to_numpy(load("binarized_mnist", "train", **data), args.num_train)
    x_val = to_numpy(
        load("binarized_mnist", "validation", **data), args.num_validation
    )
    x_test = to_numpy(load("binarized_mnist", "test", **data), args.num_test)
    factory = {
        "row_lstm": kerpix.models.RowLSTMPixelRNN,
        "diagonal_bilstm": kerpix.models.DiagonalBiLSTMPixelRNN,
    }[args.lstm]
    model = factory(
        (28, 28, 1), num_levels=2, units=16, num_layers=args.num_layers
    )
    minutes = train_for(
        model,
        x,
        None,
        args.minutes,
        learning_rate=1e-3,
        batch_size=32,
        steps_per_epoch=min(500, max(1, len(x) // 32)),
        validation_data=x_val,
    )
    nats, bits = test_nll(model, x_test)
    print(
        f"{args.lstm} test NLL: {nats:.2f} nats/image = "
        f"{bits:.4f} bits/dim ({len(x_test)} images, "
        f"{minutes:.1f} min of training)"
    )
    originals = x_test[: args.columns]
    mask = np.zeros((28, 28), bool)
    mask[:14] = True  # the upper half is known
    masked = originals * mask[None, :, :, None]
    completions = [
        model.complete(originals, mask, seed=k, verbose=0)
        for k in range(args.completions)
    ]
    grid = np.concatenate([originals, masked] + completions)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    save_image_grid(args.output, grid, 2, columns=args.columns)
    print(
        "rows: originals, masked inputs, completions of the lower half -> "
        f"{args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
