"""RIDE texture synthesis and inpainting on a dead-leaves texture.

    python examples/ride_textures.py --minutes 4 \
        --output docs/images/ride_textures.png

Generates one large dead-leaves image (the "texture", 16 grey levels),
trains a RIDE on random 16×16 patches of its upper part for a wall-clock
budget, prints the NLL bound on patches of its held-out lower part, then

- synthesises `--size`×`--size` textures (larger than the training patches:
  RIDE's weights do not depend on the image size, `RIDE.resized`), and
- fills a square hole in held-out crops (`RIDE.complete`: each hidden pixel
  drawn given everything above and to its left, known pixels kept).

The PNG has four rows: synthesised textures, held-out crops, the same
crops with the hole (black), and their completions.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--num-train", type=int, default=8000)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--hiddens", type=int, default=64)
    parser.add_argument("--data-dir", default=None, help="unused (no data)")
    parser.add_argument("--output", default="saved_models/ride_textures.png")
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    from _common import test_nll
    from _common import train_for

    import kerpix

    keras.utils.set_random_seed(0)
    levels, patch = 16, 16
    texture = kerpix.data.dead_leaves(
        1,
        (320, 320, 1),
        seed=1,
        num_grey_levels=levels,
        min_radius=2,
        max_radius=40,
    )[0]
    texture = (texture.astype("int32") * levels) // 256  # levels 0..15
    rng = np.random.default_rng(0)

    def patches(rows, count, size=patch):
        i = rng.integers(rows[0], rows[1] - size, count)
        j = rng.integers(0, texture.shape[1] - size, count)
        return np.stack(
            [texture[a : a + size, b : b + size] for a, b in zip(i, j)]
        )

    x = patches((0, 240), args.num_train)
    x_test = patches((240, 320), args.num_test)
    model = kerpix.models.RIDE(
        (patch, patch, 1), num_levels=levels, num_hiddens=args.hiddens
    )
    model.adapt(x)  # the preconditioner, fitted to the training patches
    minutes = train_for(model, x, minutes=args.minutes, batch_size=32)
    nats, bits = test_nll(model, x_test)
    print(
        f"RIDE held-out patches: <= {nats:.2f} nats/patch = {bits:.4f} "
        f"bits/px (dequantized bound; {minutes:.1f} min of training)"
    )
    big = model.resized((args.size, args.size, 1))
    textures = big.sample(4, seed=0, verbose=0)
    crops = patches((240, 320), 4, args.size)
    mask = np.ones((args.size, args.size), bool)
    lo, hi = args.size // 4, args.size - args.size // 4
    mask[lo:hi, lo:hi] = False  # the hole
    filled = big.complete(crops, mask, seed=0, verbose=0)
    holes = crops * mask[None, :, :, None]
    grid = np.concatenate([textures, crops, holes, filled])
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    kerpix.utils.save_image_grid(args.output, grid, levels, columns=4)
    print(f"Textures and inpainting written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
