#!/usr/bin/env python3
"""Sample (and score) a kerpix model with ONNX Runtime and NumPy alone.

Knows nothing of kerpix or TensorFlow: everything comes from the exported
folder's signature.json, log_prob.onnx and sample_step.onnx.

    python export/onnx_sample.py saved_models/demo/onnx --num-samples 16 \
        --seed 0 --output samples_onnx.png
    python export/onnx_sample.py saved_models/demo/onnx --noise noise.npy \
        --output-npy images.npy
    python export/onnx_sample.py saved_models/demo/onnx --score images.npy

Sampling: with `sample.onnx` (exported since the sampling-loop change), one
`session.run` maps uniform noise `(N, num_positions, noise_dims)` to the
images. Without it (or with `--step-by-step`): start from a zero canvas
and zero states (shapes in signature.json), call sample_step once per
position 0 .. num_positions-1 with that position's noise, feed
next_canvas / next_state_k back in. Both give the same images; the
images/s are printed.
"""

import argparse
import json
import os
import struct
import sys
import time
import zlib

import numpy as np
import onnxruntime


def load(folder):
    with open(os.path.join(folder, "signature.json")) as f:
        signature = json.load(f)
    sessions = {
        name: onnxruntime.InferenceSession(
            os.path.join(folder, endpoint["file"]),
            providers=["CPUExecutionProvider"],
        )
        for name, endpoint in signature["endpoints"].items()
        if "file" in endpoint
    }
    return signature, sessions


def sample(signature, session, noise, conditional_input=None):
    """Images `(N, H, W, C)` int32 from uniform noise `(N, H*W, D)`.

    Conditional models (`signature["conditional"]`) need one label or
    vector per image, fed to every step.
    """
    endpoint = signature["endpoints"]["sample_step"]
    batch = noise.shape[0]
    inputs = {spec["name"]: spec for spec in endpoint["inputs"]}
    canvas = np.zeros([batch] + signature["image_shape"], "int32")
    states = {
        name: np.zeros([batch] + spec["shape"][1:], spec["dtype"])
        for name, spec in inputs.items()
        if name.startswith("state_")
    }
    outputs = [spec["name"] for spec in endpoint["outputs"]]
    extra = {}
    if signature["conditional"]:
        if conditional_input is None:
            raise ValueError(
                "This model is conditional: pass --conditional-input "
                "(a .npy of one label or vector per sample)."
            )
        spec = inputs["conditional_input"]
        extra["conditional_input"] = np.asarray(
            conditional_input, spec["dtype"]
        )
    for position in range(signature["num_positions"]):
        feed = {
            "canvas": canvas,
            "position": np.array(position, "int64"),
            "noise": noise[:, position].astype("float32"),
            **extra,
            **states,
        }
        results = dict(zip(outputs, session.run(outputs, feed)))
        canvas = results["next_canvas"]
        states = {name: results["next_" + name] for name in states}
    return canvas


def sample_whole(session, noise, conditional_input=None):
    """Images from noise with `sample.onnx`: the whole loop, one call."""
    feed = {"noise": noise.astype("float32")}
    if conditional_input is not None:
        dtype = session.get_inputs()[1].type
        feed["conditional_input"] = np.asarray(
            conditional_input, "int32" if "int" in dtype else "float32"
        )
    return session.run(["images"], feed)[0]


def score(session, images, conditional_input=None, seed=0):
    """`(log_prob nats, bits_per_dim)` of integer images `(N, H, W, C)`.

    Dequantizing models (RIDE, MCGSM: a `dequantization` input) get
    uniform noise drawn from `seed`; their log_prob is then a bound.
    """
    feed = {"images": images.astype("int32")}
    if "dequantization" in [i.name for i in session.get_inputs()]:
        rng = np.random.default_rng(seed)
        feed["dequantization"] = rng.random(images.shape, "float32")
    if conditional_input is not None:
        dtype = session.get_inputs()[1].type
        feed["conditional_input"] = np.asarray(
            conditional_input, "int32" if "int" in dtype else "float32"
        )
    log_prob, bits = session.run(["log_prob", "bits_per_dim"], feed)
    return log_prob, bits


def write_png(path, images, num_levels, columns=None):
    """A grid of integer images as an 8-bit grey or RGB PNG (zlib only)."""
    n, h, w, c = images.shape
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    grid = np.full((rows * (h + 1) + 1, columns * (w + 1) + 1, c), 128, "uint8")
    scaled = np.round(images * (255.0 / (num_levels - 1))).astype("uint8")
    for k in range(n):
        r, q = divmod(k, columns)
        grid[
            1 + r * (h + 1) : 1 + r * (h + 1) + h,
            1 + q * (w + 1) : 1 + q * (w + 1) + w,
        ] = scaled[k]
    grid = np.repeat(np.repeat(grid, 4, axis=0), 4, axis=1)
    height, width, channels = grid.shape
    if channels not in (1, 3):
        raise ValueError(f"PNG needs 1 or 3 channels, got {channels}")
    color_type = 0 if channels == 1 else 2
    raw = b"".join(b"\x00" + row.tobytes() for row in grid)

    def chunk(kind, data):
        body = kind + data
        return (
            struct.pack(">I", len(data))
            + body
            + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "folder",
        help="folder written by kerpix export "
        "--format=onnx (signature.json, *.onnx)",
    )
    parser.add_argument("--num-samples", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--noise",
        help=".npy uniform noise (N, H*W, D); overrides --num-samples/--seed",
    )
    parser.add_argument("--output", help="PNG grid of the samples")
    parser.add_argument(
        "--step-by-step",
        action="store_true",
        help="drive sample_step.onnx from Python even if sample.onnx exists",
    )
    parser.add_argument("--output-npy", help=".npy of the integer samples")
    parser.add_argument("--score", help=".npy integer images to score")
    parser.add_argument(
        "--conditional-input",
        help=".npy of class labels (N,) or vectors (N, D), one per image "
        "(conditional models); sets the number of samples",
    )
    args = parser.parse_args(argv)

    signature, sessions = load(args.folder)
    condition = None
    if args.conditional_input:
        condition = np.load(args.conditional_input)
        args.num_samples = len(condition)
    if args.score:
        log_prob, bits = score(
            sessions["log_prob"], np.load(args.score), condition, args.seed
        )
        for lp, b in zip(log_prob, bits):
            print(f"log_prob {lp:.4f} nats, {b:.4f} bits/dim")
        return 0
    if args.noise:
        noise = np.load(args.noise)
    else:
        rng = np.random.default_rng(args.seed)
        noise = rng.random(
            (
                args.num_samples,
                signature["num_positions"],
                signature["noise_dims"],
            ),
            "float32",
        )
    start = time.perf_counter()
    if "sample_from_noise" in sessions and not args.step_by_step:
        how = "sample.onnx, one call"
        images = sample_whole(sessions["sample_from_noise"], noise, condition)
    else:
        how = "sample_step.onnx, one call per position"
        images = sample(signature, sessions["sample_step"], noise, condition)
    seconds = time.perf_counter() - start
    print(
        f"{len(images)} images in {seconds:.2f} s "
        f"({len(images) / seconds:.1f} images/s; {how})"
    )
    if args.output_npy:
        np.save(args.output_npy, images)
    if args.output:
        write_png(args.output, images, signature["num_levels"])
        print(f"{len(images)} samples written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
