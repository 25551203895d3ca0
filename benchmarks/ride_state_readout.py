"""How much of a pixel's (whitened) causal neighbourhood an untrained
spatial LSTM's hidden state still holds, by position.

    python benchmarks/ride_state_readout.py

Builds a 1-layer RIDE (64 units, the reference code's uniform ±0.08
initialisation), fits its preconditioner to the natural-patches training
split (32×32), and regresses the 12 whitened neighbourhood values of every
pixel on the hidden state there (least squares with a constant, over 300
training patches). Prints and saves R² (the fraction of the
neighbourhood's variance that a linear readout of `h` recovers) near the
top-left corner, where the state has seen a short history, and in the
lower-right quadrant, where it has summed a long one. This explains the
`ride_frozen` diagnostic of `ride_comparison.py`: an MCGSM fitted to
untrained states sees little of the neighbourhood that the plain MCGSM
reads directly. Writes benchmarks/results/ride_state_readout.json.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def r_squared(targets, features):
    """R² of the least-squares fit of `targets` (M, d) on `features`."""
    import numpy as np

    design = np.concatenate([features, np.ones((len(features), 1))], 1)
    coef, *_ = np.linalg.lstsq(design, targets, rcond=None)
    residual = targets - design @ coef
    return float(1 - residual.var(0).sum() / targets.var(0).sum())


def main(argv=None):
    import keras
    import likelihood
    import numpy as np

    from kerpix.data import natural_patches
    from kerpix.models import RIDE

    keras.utils.set_random_seed(0)
    train = natural_patches("train", 32, num_images=2000)
    model = RIDE((32, 32, 1), num_levels=256, num_layers=1, num_hiddens=64)
    model.adapt(train)
    y = model.to_values(train[:300], seed=keras.random.SeedGenerator(0))
    z = model.normalize(y)
    x = np.asarray(
        model.backbone.preconditioner.whiten_inputs(
            model.backbone.neighborhood(z)
        )
    )
    h = np.asarray(model.backbone.features_and_targets(z)[0])
    regions = {
        "all pixels": (0, 32),
        "top-left 4×4 (short history)": (0, 4),
        "lower-right 16×16 (long history)": (16, 32),
    }
    result = {
        "r_squared": {
            name: round(
                r_squared(
                    x[:, a:b, a:b].reshape(-1, x.shape[-1]),
                    h[:, a:b, a:b].reshape(-1, h.shape[-1]),
                ),
                3,
            )
            for name, (a, b) in regions.items()
        },
        "hidden_state_std": round(float(h.std()), 3),
        "hardware": likelihood.hardware(),
        "commit": likelihood.commit(),
        "command": "python benchmarks/ride_state_readout.py",
    }
    for name, value in result["r_squared"].items():
        print(f"R² of the whitened neighbourhood from h, {name}: {value}")
    path = os.path.join(HERE, "results", "ride_state_readout.json")
    likelihood.write_result(path, result)
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
