"""Sampling speed: cached vs naive (full recompute) vs a keras.io-style loop,
and the cached time per pixel against the image size, for every family.

    python benchmarks/sampling_speed.py [--sizes 28 64 128] [--batch-size 8]

For each family and image size, on the same untrained model and noise:
- cached: `CachedSampler().fill(model, noise, verbose=0)`, the whole image
  batch in one compiled call (XLA), one `pixel_step` per pixel; timed
  whole after a warm-up call, the fastest of `--repeats`; its seconds
  per pixel, and their ratio to the smallest size's (flat = constant
  work per pixel);
- cached (graph): the same without XLA (`jit_compile=False`), with
  `--compare-jit`, where naive is timed;
- naive: `RasterSampler`, the whole network per sub-pixel, timed on the
  first `--naive-rows` rows (rounded up to whole calls of the partial
  fill, `rows_between_updates`) and extrapolated (every pixel costs it the
  same), up to `--naive-max-size`;
- keras.io: `model.predict(canvas)` per sub-pixel then an inverse-CDF
  draw, the loop of the keras.io PixelCNN example, timed on
  `--kerasio-pixels` sub-pixels and extrapolated, up to
  `--naive-max-size`, for `--naive-families` (default: all);
- with `--tfp-python PYTHON` (a virtualenv with TensorFlow Probability and
  tf-keras; see `tfp_pixelcnn_sampling.py`): TFP's `tfd.PixelCNN.sample`
  at the same image size, batch and number of filters, run whole in its
  own process (one row per size, beside the families' rows).
Also counts the sub-pixels where cached and naive differ on the measured
rows (same noise: 0 expected).
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerpix import models  # noqa: E402
from kerpix import sampling  # noqa: E402
from kerpix.sampling.sampler import rows_between_updates  # noqa: E402
from kerpix.training.train import versions  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import likelihood  # noqa: E402

# Comparable widths: 64 channels in the convolutional stacks, 2 × 32 LSTM
# units (the PixelRNN's 2h), RIDE's paper size.
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
    "row_lstm": lambda shape, args: models.RowLSTMPixelRNN(
        shape,
        num_levels=256,
        units=args.filters // 2,
        num_layers=args.num_layers,
    ),
    "diagonal_bilstm": lambda shape, args: models.DiagonalBiLSTMPixelRNN(
        shape,
        num_levels=256,
        units=args.filters // 2,
        num_layers=args.num_layers,
    ),
    "class_conditional_gated_pixel_cnn": lambda shape, args: (
        models.GatedPixelCNN(
            shape,
            num_levels=256,
            filters=args.filters,
            num_layers=args.num_layers,
            num_classes=10,
        )
    ),
    "pixel_cnn_auto_encoder": lambda shape, args: models.PixelCNNAutoEncoder(
        shape,
        num_levels=256,
        filters=args.filters,
        num_layers=args.num_layers,
    ),
    "ride": lambda shape, args: models.RIDE(shape, num_levels=256),
}


def conditioning(model, batch):
    """What `fill` passes to each pixel step: class labels, codes, or
    nothing."""
    if model.num_classes:
        return np.arange(batch) % model.num_classes
    if model.conditional_dims:
        rng = np.random.default_rng(1)
        return rng.normal(size=(batch, model.conditional_dims)).astype(
            "float32"
        )
    return None


def time_fill(sampler, model, noise, num_rows=None, repeats=1):
    """Seconds of one `fill` (the fastest of `repeats`, after a warm-up
    call that compiles: this machine is shared and noisy), and the
    images."""
    conditional_input = conditioning(model, noise.shape[0])

    def run():
        return sampler.fill(
            model,
            noise,
            verbose=0,
            conditional_input=conditional_input,
            num_rows=num_rows,
        )

    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        images = run()
        best = min(best, time.perf_counter() - start)
    return best, images


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
        (args.batch_size, model.num_positions, model.noise_dims), "float32"
    )
    n = args.batch_size
    pixels = size * size
    cached_s, cached = time_fill(
        sampling.CachedSampler(), model, noise, repeats=args.repeats
    )
    row = {
        "family": family,
        "image_shape": list(shape),
        "batch_size": n,
        "cached_seconds": cached_s,
        "cached_images_per_s": n / cached_s,
        "cached_ms_per_pixel": 1000 * cached_s / pixels,
    }
    naive_here = size <= args.naive_max_size and (
        args.naive_families is None or family in args.naive_families
    )
    if args.compare_jit and naive_here:
        graph_s, graph = time_fill(
            sampling.CachedSampler(jit_compile=False),
            model,
            noise,
            repeats=args.repeats,
        )
        row["cached_graph_images_per_s"] = n / graph_s
        row["xla_over_graph"] = graph_s / cached_s
        row["xla_vs_graph_differing_subpixels"] = int((graph != cached).sum())
    simple = not model.conditional_dims and family != "ride"
    if naive_here and "naive" in model.sampling_methods:
        # Partial fills run in calls of `rows_between_updates(size)` rows:
        # time whole calls.
        step = rows_between_updates(size)
        rows = min(-(-args.naive_rows // step) * step, size)
        naive_s, naive = time_fill(
            sampling.RasterSampler(), model, noise, num_rows=rows
        )
        naive_s *= size / rows
        row.update(
            naive_images_per_s=n / naive_s,
            cached_over_naive=naive_s / cached_s,
            naive_measured_rows=rows,
            # Same noise: the images agree unless float rounding moves a
            # CDF value across a noise value; counted, not assumed.
            naive_vs_cached_differing_subpixels=int(
                (naive[:, :rows] != cached[:, :rows]).sum()
            ),
        )
    if naive_here and simple:
        kerasio_s = time_kerasio(model, noise, args.kerasio_pixels)
        kerasio_s *= pixels / args.kerasio_pixels
        row.update(
            kerasio_images_per_s=n / kerasio_s,
            cached_over_kerasio=kerasio_s / cached_s,
            kerasio_measured_pixels=args.kerasio_pixels,
        )
    return row


def describe(row):
    """One printed line of a measured row."""
    text = (
        f"{row['family']} {row['image_shape'][0]}: cached "
        f"{row['cached_images_per_s']:.2f} images/s, "
        f"{row['cached_ms_per_pixel']:.3f} ms/pixel "
        f"({row['ms_per_pixel_over_smallest_size']:.2f}× the smallest size)"
    )
    if "xla_over_graph" in row:
        text += f"; XLA {row['xla_over_graph']:.1f}× the plain graph"
    if "cached_over_naive" in row:
        text += (
            f"; cached/naive {row['cached_over_naive']:.0f}× (differing "
            f"sub-pixels: {row['naive_vs_cached_differing_subpixels']})"
        )
    if "cached_over_kerasio" in row:
        text += f"; cached/keras.io {row['cached_over_kerasio']:.0f}×"
    return text


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
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--sizes", nargs="+", type=int, default=[28, 64, 128])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=5)
    parser.add_argument("--naive-rows", type=int, default=2)
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="cached timings: the fastest of this many calls",
    )
    parser.add_argument("--naive-max-size", type=int, default=64)
    parser.add_argument("--kerasio-pixels", type=int, default=16)
    parser.add_argument(
        "--naive-families",
        nargs="+",
        default=None,
        help="time naive, keras.io and the plain graph only for these "
        "families (default: all)",
    )
    parser.add_argument(
        "--compare-jit",
        action="store_true",
        help="also time the cached sampler as a plain graph (no XLA)",
    )
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
    parser.add_argument(
        "--output",
        default=os.path.join(HERE, "results", "sampling_speed.json"),
    )
    args = parser.parse_args(argv)

    rows = []
    for family in args.families:
        smallest = None
        for size in args.sizes:
            row = measure(family, size, args)
            if smallest is None:
                smallest = row["cached_ms_per_pixel"]
            row["ms_per_pixel_over_smallest_size"] = (
                row["cached_ms_per_pixel"] / smallest
            )
            rows.append(row)
            print(describe(row), flush=True)
    if args.tfp_python:
        for size in args.tfp_sizes:
            tfp = measure_tfp(args.tfp_python, size, args)
            # kerpix cached over TFP, per kerpix family at this size.
            tfp["cached_over_tfp"] = {
                r["family"]: r["cached_images_per_s"] / tfp["tfp_images_per_s"]
                for r in rows
                if r["image_shape"][0] == size
            }
            rows.append(tfp)
            print(
                f"tfp {size}: TFP tfd.PixelCNN.sample "
                f"{tfp['tfp_images_per_s']:.4f} images/s "
                f"({tfp['tfp_seconds']:.1f} s for {args.batch_size}); "
                "kerpix cached over TFP: "
                + ", ".join(
                    f"{k} {v:.0f}×" for k, v in tfp["cached_over_tfp"].items()
                ),
                flush=True,
            )
    result = {
        "command": " ".join(
            ["python", "benchmarks/sampling_speed.py"]
            + (argv if argv is not None else sys.argv[1:])
        ),
        "hardware": likelihood.hardware(),
        "backend": keras.backend.backend(),
        "model": {
            "filters": args.filters,
            "num_layers": args.num_layers,
            "num_levels": 256,
        },
        "rows": rows,
        "versions": versions(),
        "commit": likelihood.commit(),
    }
    likelihood.write_result(args.output, result)
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
