"""The GPU recipe: train the paper-size CIFAR-10 Gated PixelCNN for a fixed
number of steps on the JAX backend, then sample a batch with the cached
sampler; print images/s, step time and peak memory.

Made for a machine with JAX and a GPU but no TensorFlow (the device
machines lent to some sessions): it needs kerpix's core, Keras and its
small pure-Python dependencies, nothing else (no dataset download: the
images are random levels, which cost the model exactly what CIFAR-10
images do).

    KERAS_BACKEND=jax python benchmarks/device_check.py            # GPU
    KERAS_BACKEND=jax python benchmarks/device_check.py --tiny     # CPU test

The model is `cifar10_gated_pixel_cnn`'s (20 gated layers of 384 maps,
5×5 kernels, 256-way softmax, 32×32×3); `--tiny` shrinks it (and the
batch, steps and samples) so the whole recipe runs on a CPU in a minute.
Writes `benchmarks/results/device_check.json` (or `--output`).
"""

import argparse
import json
import os
import platform
import resource
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import kerpix  # noqa: E402

CONFIG = os.path.join(
    os.path.dirname(kerpix.__file__),
    "training",
    "configs",
    "cifar10_gated_pixel_cnn.json",
)
TINY = {"filters": 12, "num_layers": 2, "output_filters": 12}


class StepTimes(keras.callbacks.Callback):
    """Wall time of every training step (the first includes compiling)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # The loss as a number: the step's device work is done.
        float(logs["loss"])
        self.times.append(time.perf_counter() - self.start)

    def on_train_begin(self, logs=None):
        self.times = []


def peak_memory():
    """Peak device memory in MB where JAX reports it (GPUs), else the
    process's peak resident memory."""
    try:
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            return stats["peak_bytes_in_use"] / 2**20, "device"
    except Exception:  # no JAX or no stats: fall back to the host
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "host"


def device_name():
    try:
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {device.device_kind}"
    except Exception:
        return f"{keras.backend.backend()} on {platform.machine()}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--num-samples", type=int, default=None)
    parser.add_argument(
        "--output",
        default=os.path.join(HERE, "results", "device_check.json"),
    )
    args = parser.parse_args(argv)
    steps = args.steps or (3 if args.tiny else 200)
    batch = args.batch_size or (4 if args.tiny else 128)
    num_samples = args.num_samples or (2 if args.tiny else 256)
    for name, value in (
        ("--steps", steps),
        ("--batch-size", batch),
        ("--num-samples", num_samples),
    ):
        if value < 1:
            parser.error(f"{name} must be a positive integer; got {value}")
    with open(CONFIG) as f:
        config = json.load(f)
    kwargs = dict(config["model"]["kwargs"])
    shape = (32, 32, 3)
    if args.tiny:
        kwargs.update(TINY)
        shape = (8, 8, 3)
    keras.utils.set_random_seed(0)
    model = kerpix.models.GatedPixelCNN(shape, num_levels=256, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (steps * batch,) + shape, dtype="int32")
    times = StepTimes()
    start = time.perf_counter()
    model.fit(images, batch_size=batch, epochs=1, verbose=0, callbacks=[times])
    train_seconds = time.perf_counter() - start
    # Steady state: every step after the first (which compiles).
    steady = times.times[1:] or times.times
    step_s = float(np.median(steady))
    start = time.perf_counter()
    samples = model.sample(num_samples, seed=0, verbose=0)
    sample_seconds = time.perf_counter() - start
    memory, where = peak_memory()
    result = {
        "model": "cifar10_gated_pixel_cnn" + (" (tiny)" if args.tiny else ""),
        "model_kwargs": kwargs,
        "image_shape": list(shape),
        "parameters": int(model.count_params()),
        "backend": keras.backend.backend(),
        "device": device_name(),
        "steps": steps,
        "batch_size": batch,
        "first_step_s": round(times.times[0], 3),
        "median_step_s": round(step_s, 4),
        "train_images_per_s": round(batch / step_s, 1),
        "train_seconds": round(train_seconds, 1),
        "final_loss_nats_per_image": round(
            model.evaluate(images[:batch], verbose=0, return_dict=True)["loss"],
            2,
        ),
        "num_samples": num_samples,
        "sample_seconds_with_compile": round(sample_seconds, 2),
        "sampled_images_per_s": round(num_samples / sample_seconds, 2),
        "samples_in_range": bool(samples.min() >= 0 and samples.max() < 256),
        f"peak_memory_mb_{where}": round(memory, 1),
        "command": "KERAS_BACKEND=jax python benchmarks/device_check.py"
        + (" --tiny" if args.tiny else ""),
    }
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
