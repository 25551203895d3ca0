"""Sampling speed: cached vs naive (full recompute) vs a keras.io-style loop.

    python benchmarks/sampling_speed.py [--sizes 28 64] [--batch-size 8]

For each family and image size, on the same untrained model and noise:
- cached: `model.sample(method="cached")`, one `sample_step` per pixel;
- naive: `model.sample(method="naive")`, the whole network per sub-pixel
  (compiled row loops);
- keras.io: `model.predict(canvas)` per sub-pixel then an inverse-CDF draw,
  the loop of the keras.io PixelCNN example;
- with `--tfp-python PYTHON` (a virtualenv with TensorFlow Probability and
  tf-keras; see `tfp_pixelcnn_sampling.py`): TFP's `tfd.PixelCNN.sample`
  at the same image size, batch and number of filters, run whole in its
  own process (one row per size, beside the families' rows).
Slow methods are timed on the first rows / pixels and extrapolated linearly
(every pixel costs them the same); the table says which. Also checks that
cached and naive give the same images on the measured rows.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerpix import models  # noqa: E402
from kerpix import sampling  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import likelihood  # noqa: E402

FAMILIES = {
    "gated_pixel_cnn": lambda shape, args: models.GatedPixelCNN(
        shape,
        num_levels=256,
        filters=args.filters,
        num_layers=args.num_layers,
    ),
    "pixel_cnn": lambda shape, args: models.PixelCNN(
        shape,
        num_levels=256,
        filters=args.filters,
        num_layers=args.num_layers,
    ),
}


def time_rows(sampler, model, noise, rows):
    """Seconds to fill the first `rows` rows, and the warm-up seconds."""
    height, width, _ = model.image_shape
    batch = noise.shape[0]
    program = sampler.program(model)
    state = tuple(np.asarray(s) for s in sampler.initial_state(model, batch))

    def run(i, canvas, state):
        out = program.predict_on_batch(
            {
                "canvas": canvas,
                "noise": noise[:, i * width : (i + 1) * width],
                "row": np.full((batch,), i, "int32"),
                "state": state,
            }
        )
        return np.asarray(out["canvas"]), tuple(out["state"])

    canvas = np.zeros((batch,) + model.image_shape, "int32")
    # Warm up on two rows: the first call sees the initial (NumPy) state,
    # the second the state returned by a call, and each may compile.
    compile_start = time.perf_counter()
    run(1, *run(0, canvas, state))
    compile_s = time.perf_counter() - compile_start
    start = time.perf_counter()
    for i in range(rows):
        canvas, state = run(i, canvas, state)
    return time.perf_counter() - start, canvas[:, :rows], compile_s


def time_kerasio(model, noise, pixels):
    """Seconds for `pixels` sub-pixels of the keras.io loop."""
    height, width, channels = model.image_shape
    batch = noise.shape[0]
    canvas = np.zeros((batch,) + model.image_shape, "int32")
    model.predict(canvas, verbose=0)  # compile
    start = time.perf_counter()
    done = 0
    for p in range(height * width):
        i, j = divmod(p, width)
        for c in range(channels):
            params = model.predict(canvas, verbose=0)[:, i, j]
            values = keras.ops.convert_to_numpy(
                model.head.sample(params, noise[:, p])
            )
            canvas[:, i, j, c] = values[:, c]
            done += 1
            if done == pixels:
                return time.perf_counter() - start


def measure(family, size, args):
    shape = (size, size, 1)
    keras.utils.set_random_seed(0)
    model = FAMILIES[family](shape, args)
    noise = np.random.default_rng(0).random(
        (args.batch_size, size * size, model.noise_dims), "float32"
    )
    n = args.batch_size
    cached_s, cached, _ = time_rows(
        sampling.CachedSampler(), model, noise, size
    )
    naive_s, naive, _ = time_rows(
        sampling.RasterSampler(), model, noise, args.naive_rows
    )
    # Same noise, so the images agree unless float rounding moves a CDF
    # value across a noise value (then the rest of the image diverges);
    # counted, not assumed.
    naive_differ = int((naive != cached[:, : args.naive_rows]).sum())
    naive_s *= size / args.naive_rows
    kerasio_s = time_kerasio(model, noise, args.kerasio_pixels)
    kerasio_s *= size * size / args.kerasio_pixels
    return {
        "family": family,
        "image_shape": list(shape),
        "batch_size": n,
        "cached_images_per_s": n / cached_s,
        "naive_images_per_s": n / naive_s,
        "kerasio_images_per_s": n / kerasio_s,
        "cached_over_naive": naive_s / cached_s,
        "cached_over_kerasio": kerasio_s / cached_s,
        "naive_vs_cached_differing_subpixels": naive_differ,
        "naive_measured_rows": args.naive_rows,
        "kerasio_measured_pixels": args.kerasio_pixels,
    }


def measure_tfp(python, size, args):
    """TFP's `tfd.PixelCNN.sample` timed in its own process and venv."""
    output = subprocess.run(
        [
            python,
            os.path.join(HERE, "tfp_pixelcnn_sampling.py"),
            f"--size={size}",
            f"--batch-size={args.batch_size}",
            f"--num-filters={args.filters}",
        ],
        env=dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tfp = json.loads(output.strip().splitlines()[-1])
    return {
        "family": "tfp_pixel_cnn",
        "image_shape": [size, size, 1],
        "batch_size": args.batch_size,
        "tfp_images_per_s": args.batch_size / tfp["seconds"],
        "tfp_seconds": tfp["seconds"],
        "tfp": tfp,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=sorted(FAMILIES))
    parser.add_argument("--sizes", nargs="+", type=int, default=[28, 64])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=5)
    parser.add_argument("--naive-rows", type=int, default=4)
    parser.add_argument("--kerasio-pixels", type=int, default=16)
    parser.add_argument(
        "--tfp-python",
        default=None,
        help="python of a virtualenv with tensorflow-probability and "
        "tf-keras: also time tfd.PixelCNN.sample (tfp_pixelcnn_sampling.py)",
    )
    parser.add_argument(
        "--tfp-sizes",
        nargs="+",
        type=int,
        default=[28],
        help="image sizes for TFP (it runs its whole network per pixel, so "
        "its time grows with pixels × image area, and it is timed whole)",
    )
    args = parser.parse_args(argv)

    rows = []
    print(
        f"{'family':<10} {'size':>4} {'cached':>9} {'naive':>9} "
        f"{'keras.io':>9} {'cached/naive':>13} {'cached/keras.io':>16}"
        "   (images/s)"
    )
    for family in args.families:
        for size in args.sizes:
            rows.append(measure(family, size, args))
            r = rows[-1]
            print(
                f"{family:<10} {size:>4} {r['cached_images_per_s']:>9.3f} "
                f"{r['naive_images_per_s']:>9.4f} "
                f"{r['kerasio_images_per_s']:>9.5f} "
                f"{r['cached_over_naive']:>12.1f}x "
                f"{r['cached_over_kerasio']:>15.0f}x "
                "   naive/cached differing sub-pixels: "
                f"{r['naive_vs_cached_differing_subpixels']}",
                flush=True,
            )
    if args.tfp_python:
        for size in args.tfp_sizes:
            rows.append(measure_tfp(args.tfp_python, size, args))
            print(
                f"{'tfp':<10} {size:>4} TFP tfd.PixelCNN.sample: "
                f"{rows[-1]['tfp_images_per_s']:.4f} images/s "
                f"({rows[-1]['tfp_seconds']:.1f} s for {args.batch_size})",
                flush=True,
            )
    result = {
        "command": " ".join(
            ["python", "benchmarks/sampling_speed.py"]
            + (argv if argv is not None else sys.argv[1:])
        ),
        "hardware": f"CPU, {os.cpu_count()} cores ({platform.machine()})",
        "backend": keras.backend.backend(),
        "model": {
            "filters": args.filters,
            "num_layers": args.num_layers,
            "num_levels": 256,
        },
        "rows": rows,
    }
    path = os.path.join(HERE, "results", "sampling_speed.json")
    likelihood.write_result(path, result)
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
