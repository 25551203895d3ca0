"""How often the cached sampler and the naive one draw differently from
the same noise, and whether every difference is a CDF tie.

    python benchmarks/sampling_agreement.py

Untrained models at 28×28×1 (a Gated PixelCNN with a 256-way softmax and
one with a logistic mixture, a PixelCNN, a Row LSTM), a batch of noise
each; both samplers fill it, and `kerpix.sampling.agreement` classifies
each image: identical, first difference at a tie (one level, noise within
its tolerance of a boundary), or a disagreement (none expected). Writes
benchmarks/results/sampling_agreement.json.
"""

import argparse
import json
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))


def families(filters):
    from kerpix import models

    shape = (28, 28, 1)
    return {
        "gated_pixel_cnn": lambda: models.GatedPixelCNN(
            shape, num_levels=256, filters=filters, num_layers=5
        ),
        "gated_pixel_cnn_logistic_mixture": lambda: models.GatedPixelCNN(
            shape,
            num_levels=256,
            filters=filters,
            num_layers=5,
            head="logistic_mixture",
        ),
        "pixel_cnn": lambda: models.PixelCNN(
            shape, num_levels=256, filters=filters, num_layers=5
        ),
        "row_lstm_pixel_rnn": lambda: models.RowLSTMPixelRNN(
            shape, num_levels=256, units=filters // 2, num_layers=3
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)

    import keras

    from kerpix import sampling

    rows = []
    for name, build in families(args.filters).items():
        keras.utils.set_random_seed(0)
        model = build()
        totals = {"images": 0, "identical": 0, "ties": 0, "disagreements": 0}
        differing = 0
        for seed in range(args.seeds):
            noise = sampling.CachedSampler(seed=seed).make_noise(
                model, args.batch_size
            )
            cached = sampling.CachedSampler()(model, noise=noise, verbose=0)
            naive = sampling.RasterSampler()(model, noise=noise, verbose=0)
            result = sampling.agreement.sample_agreement(
                model, naive, cached, noise
            )
            for key in totals:
                value = result[key]
                totals[key] += value if isinstance(value, int) else len(value)
            differing += int((naive != cached).sum())
        row = dict(
            family=name,
            tolerance=sampling.agreement.default_tolerance(model),
            sub_pixels=totals["images"] * 28 * 28,
            differing_sub_pixels=differing,
            **totals,
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "rows": rows,
        "image_shape": [28, 28, 1],
        "filters": args.filters,
        "hardware": f"CPU, {os.cpu_count()} cores ({platform.machine()}), "
        f"{processor()}",
        "command": " ".join(
            ["python", "benchmarks/sampling_agreement.py"]
            + (argv if argv is not None else sys.argv[1:])
        ),
    }
    path = os.path.join(HERE, "results", "sampling_agreement.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"-> {path}")
    return 1 if any(r["disagreements"] for r in rows) else 0


def processor():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
