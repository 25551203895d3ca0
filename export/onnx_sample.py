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


class ArtifactError(ValueError):
    """A missing, corrupt or inconsistent exported file (one line)."""


REQUIRED = (
    "image_shape",
    "num_levels",
    "conditional",
    "noise_dims",
    "num_positions",
    "endpoints",
)


def load(folder):
    """`(signature, sessions)` of an exported folder, every file checked:
    signature.json readable and complete, each .onnx loadable, and each
    graph's inputs and outputs those signature.json lists (names, order,
    fixed sizes); `ArtifactError` naming the file otherwise."""
    path = os.path.join(folder, "signature.json")
    try:
        with open(path) as f:
            signature = json.load(f)
    except FileNotFoundError:
        raise ArtifactError(
            f"{path}: missing (export with kerpix export --format=onnx)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path}: not readable JSON ({error})") from None
    missing = [
        k
        for k in REQUIRED
        if not isinstance(signature, dict) or k not in signature
    ]
    if missing:
        raise ArtifactError(f"{path}: lacks {', '.join(missing)}")
    sessions = {}
    for name, endpoint in signature["endpoints"].items():
        if "file" not in endpoint:
            continue
        file = os.path.join(folder, endpoint["file"])
        try:
            sessions[name] = onnxruntime.InferenceSession(
                file, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime's own exception types
            first = str(error).strip().splitlines()[0][:300]
            raise ArtifactError(f"{file}: cannot be loaded ({first})") from None
        check_graph(path, file, endpoint, sessions[name])
    check_levels(path, signature)
    return signature, sessions


def check_graph(path, file, endpoint, session):
    """The graph's inputs/outputs against its endpoint in signature.json."""
    for kind, graph in (
        ("inputs", session.get_inputs()),
        ("outputs", session.get_outputs()),
    ):
        listed = endpoint.get(kind, [])
        names = [t["name"] for t in listed]
        if names != [v.name for v in graph]:
            raise ArtifactError(
                f"{path}: {os.path.basename(file)}'s {kind} are "
                f"{[v.name for v in graph]}, signature.json lists {names}"
            )
        for spec, value in zip(listed, graph):
            want = [d if isinstance(d, int) else None for d in spec["shape"]]
            have = [d if isinstance(d, int) else None for d in value.shape]
            if len(want) != len(have) or any(
                w is not None and h is not None and w != h
                for w, h in zip(want, have)
            ):
                raise ArtifactError(
                    f"{path}: {spec['name']} of {os.path.basename(file)} "
                    f"has shape {value.shape}, signature.json says "
                    f"{spec['shape']}"
                )


def check_levels(path, signature):
    """num_levels and image_shape against the tensors' own entries."""
    levels = signature["num_levels"]
    for endpoint in signature["endpoints"].values():
        for spec in endpoint.get("inputs", []) + endpoint.get("outputs", []):
            if spec["name"] not in ("images", "canvas", "next_canvas"):
                continue
            if spec.get("range") and spec["range"][1] != levels - 1:
                raise ArtifactError(
                    f"{path}: num_levels {levels} disagrees with "
                    f"{spec['name']}'s range {spec['range']}"
                )
            if list(spec["shape"][1:]) != list(signature["image_shape"]):
                raise ArtifactError(
                    f"{path}: image_shape {signature['image_shape']} "
                    f"disagrees with {spec['name']}'s shape {spec['shape']}"
                )


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
    try:
        return run(args)
    except ValueError as error:  # ArtifactError and bad arguments
        print(f"onnx_sample.py: error: {error}", file=sys.stderr)
        return 2


def run(args):
    if args.num_samples < 1:
        raise ValueError(
            f"--num-samples must be a positive integer, got {args.num_samples}"
        )
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
        want = (signature["num_positions"], signature["noise_dims"])
        if noise.ndim != 3 or noise.shape[1:] != want:
            raise ValueError(
                f"--noise: expected shape (N, {want[0]}, {want[1]}), got "
                f"{noise.shape}"
            )
        if np.isnan(noise).any() or noise.min() < 0 or noise.max() >= 1:
            raise ValueError("--noise: expected uniform values in [0, 1)")
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
