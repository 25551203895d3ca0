"""Training throughput (images/s) of the model families, side by side.

    python benchmarks/train_throughput.py

Every family at the same width (32 features between layers: PixelCNN
filters=32, Gated PixelCNN filters=32, PixelRNN units=16 so 2h=32) and
depth (7 layers) on 28×28 binary images (binarized-MNIST shape), batch 32,
one process: a warm-up call, then `--steps` timed train steps each.
Writes benchmarks/results/train_throughput.json.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

FAMILIES = {
    "pixel_cnn": dict(filters=32, num_layers=7),
    "gated_pixel_cnn": dict(filters=32, num_layers=7, kernel_size=3),
    "row_lstm_pixel_rnn": dict(units=16, num_layers=7),
    "diagonal_bilstm_pixel_rnn": dict(units=16, num_layers=7),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--families", nargs="+", default=list(FAMILIES), choices=FAMILIES
    )
    parser.add_argument("--output-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    from likelihood import commit
    from likelihood import hardware

    from kerpix.models import build_model
    from kerpix.training.train import versions

    rng = np.random.default_rng(0)
    images = rng.random((args.batch_size * args.steps, 28, 28, 1)) < 0.2
    images = images.astype("int32")
    rows = []
    for family in args.families:
        keras.utils.set_random_seed(0)
        model = build_model(family, (28, 28, 1), 2, **FAMILIES[family])
        model.compile(optimizer="adam")
        model.fit(
            images[: 2 * args.batch_size],
            batch_size=args.batch_size,
            epochs=1,
            verbose=0,
        )
        start = time.perf_counter()
        model.fit(images, batch_size=args.batch_size, epochs=1, verbose=0)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "family": family,
                "kwargs": FAMILIES[family],
                "parameters": model.count_params(),
                "images_per_second": round(len(images) / seconds, 1),
            }
        )
        print(f"{family}: {rows[-1]['images_per_second']} images/s")
    base = rows[0]["images_per_second"]
    print(f"\n{'family':<28}{'params':>9}{'images/s':>10}{'vs first':>10}")
    for row in rows:
        print(
            f"{row['family']:<28}{row['parameters']:>9}"
            f"{row['images_per_second']:>10}"
            f"{row['images_per_second'] / base:>9.2f}×"
        )
    result = {
        "rows": rows,
        "image_shape": [28, 28, 1],
        "batch_size": args.batch_size,
        "steps": args.steps,
        "hardware": hardware(),
        "versions": versions(),
        "commit": commit(),
        "command": " ".join(
            ["python", "benchmarks/train_throughput.py"]
            + (argv if argv is not None else sys.argv[1:])
        ),
    }
    os.makedirs(args.output_dir, exist_ok=True)
    path = os.path.join(args.output_dir, "train_throughput.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
