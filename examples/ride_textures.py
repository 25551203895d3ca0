"""RIDE texture synthesis and inpainting, on a real texture or dead leaves.

    python examples/ride_textures.py --texture brick --minutes 5 \
        --output docs/images/ride_textures_brick.png
    python examples/ride_textures.py --texture dead_leaves --minutes 4 \
        --output docs/images/ride_textures.png

`--texture brick|grass|gravel`: the 512×512 grey photograph of that texture
that ships inside scikit-image (8 bits); `dead_leaves`: a generated 320×320
dead-leaves texture with 16 grey levels. A RIDE is trained on random 16×16
patches of the upper part (the upper half of a photograph) for a
wall-clock budget, the NLL bound on patches of the held-out lower part is
printed, then

- `--size`×`--size` textures are synthesised (larger than the training
  patches: RIDE's weights do not depend on the image size), and
- a square hole in held-out crops is filled twice: by raster completion
  (`RIDE.complete`: each hidden pixel drawn given what lies above and to
  its left) and by Markov chain Monte Carlo (`RIDE.inpaint`: block
  Metropolis-Hastings moves that also use the pixels below and to the
  right). The model's log-likelihood bound of the filled crops is
  printed for both.

The PNG has five rows: synthesised textures, held-out crops, the crops
with the hole (black), raster completions, MCMC inpaintings.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TEXTURES = ("dead_leaves", "brick", "grass", "gravel")


def load_texture(name):
    """`(texture (H, W) int32, levels)`."""
    import kerpix

    if name == "dead_leaves":
        texture = kerpix.data.dead_leaves(
            1,
            (320, 320, 1),
            seed=1,
            num_grey_levels=16,
            min_radius=2,
            max_radius=40,
        )[0, ..., 0]
        return (texture.astype("int32") * 16) // 256, 16  # levels 0..15
    from kerpix.data.natural_patches import grey_image

    return grey_image(name).astype("int32"), 256


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texture", default="dead_leaves", choices=TEXTURES)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--num-train", type=int, default=8000)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--hiddens", type=int, default=64)
    parser.add_argument("--sweeps", type=int, default=4)
    parser.add_argument("--block-size", type=int, default=5)
    parser.add_argument("--data-dir", default=None, help="unused (no data)")
    parser.add_argument("--output", default="saved_models/ride_textures.png")
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    from _common import test_nll
    from _common import train_for

    import kerpix

    keras.utils.set_random_seed(0)
    patch = 16
    texture, levels = load_texture(args.texture)
    split = (
        texture.shape[0] * 3 // 4
        if args.texture == "dead_leaves"
        else (texture.shape[0] // 2)
    )
    rng = np.random.default_rng(0)

    def patches(rows, count, size=patch):
        i = rng.integers(rows[0], rows[1] - size + 1, count)
        j = rng.integers(0, texture.shape[1] - size + 1, count)
        return np.stack(
            [texture[a : a + size, b : b + size] for a, b in zip(i, j)]
        )[..., None]

    x = patches((0, split), args.num_train)
    x_test = patches((split, texture.shape[0]), args.num_test)
    model = kerpix.models.RIDE(
        (patch, patch, 1), num_levels=levels, num_hiddens=args.hiddens
    )
    model.adapt(x)  # the preconditioner, fitted to the training patches
    minutes = train_for(model, x, minutes=args.minutes, batch_size=32)
    nats, bits = test_nll(model, x_test)
    print(
        f"RIDE on {args.texture}, held-out patches: <= {nats:.2f} "
        f"nats/patch = {bits:.4f} bits/px (dequantized bound; "
        f"{minutes:.1f} min of training)"
    )
    big = model.resized((args.size, args.size, 1))
    textures = big.sample(4, seed=0, verbose=0)
    crops = patches((split, texture.shape[0]), 4, args.size)
    mask = np.ones((args.size, args.size), bool)
    lo, hi = args.size // 4, args.size - args.size // 4
    mask[lo:hi, lo:hi] = False  # the hole
    raster = big.complete(crops, mask, seed=0, verbose=0)
    mcmc, log_probs, rates = big.inpaint(
        crops,
        mask,
        num_sweeps=args.sweeps,
        block_size=args.block_size,
        seed=0,
        return_log_prob=True,
        verbose=0,
    )
    for name, filled in (("raster completion", raster), ("MCMC", mcmc)):
        nats = float(np.mean(-big.log_prob(filled)))
        print(
            f"{name}: filled crops <= {nats:.2f} nats/crop (model's own "
            "bound, mean of 4)"
        )
    print(
        f"MCMC: {args.sweeps} sweeps, acceptance "
        f"{np.round(rates, 2).tolist()}; log density of the chain's state "
        f"(nats, mean): {np.round(log_probs.mean(1), 1).tolist()}"
    )
    holes = crops * mask[None, :, :, None]
    grid = np.concatenate([textures, crops, holes, raster, mcmc])
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    kerpix.utils.save_image_grid(args.output, grid, levels, columns=4)
    print(f"Textures and inpainting written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
