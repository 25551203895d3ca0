import keras


class Backbone(keras.Model):
    """Base class of causal feature extractors (functional `keras.Model`).

    A backbone maps preprocessed images `(N, H, W, C)` (floats in
    `[-1, 1]`) to features `(N, H, W, F)` such that features at pixel
    `(i, j)` in colour group `c` depend only on sub-pixels before `(i, j, c)`
    in raster-then-colour order. Subclasses build their graph in
    `__init__` and call `super().__init__(inputs=..., outputs=...)`, then
    store their constructor arguments; `get_config` returns exactly those
    arguments (keras-hub `Backbone`).

    Step interface (fast sampling; one per family, no exporter special
    cases). A backbone computes its features one pixel at a time from
    caches whose cost does not grow with the image:

    - `initial_state(batch_size)`: tuple of zero tensors (layer caches or
      recurrent states). The tuple is flat (samplers' programs and the
      exported `state_k` tensors carry it as it is); its entries have
      names, `state_layout` (a `kerpix.models.state_layout.StateLayout`),
      and a backbone reads and writes them by name (`unpack` / `pack`),
      a layer's cache tuple being one entry only that layer reads.
    - `step(state, pixel, i, j, conditional_input=None)`: features `(N, F)`
      at pixel `(i, j)` given the preprocessed pixel `(N, C)` there
      (sub-pixels not yet sampled may hold anything: the features of
      colour group `c` must not depend on them) and, for conditional
      models, the encoded conditioning vectors; returns the features and
      the updated state. Called once per colour pass.
    - `commit(state, pixel, i, j)`: the state once the pixel is complete,
      ready for position `(i, j) + 1`.
    - `start_image(state, conditional_input)` and `start_row(state, i,
      conditional_input)` (optional; flagged by `starts_images` and
      `starts_rows`): work done once per image (maps computed from the
      conditioning, then only read) and once per row (e.g. the Gated
      PixelCNN's vertical stack of the finished row above). Samplers run
      them outside their per-pixel loop; exported steps run them under a
      graph conditional at the first pixel of the image or row.

    `ImageDensityModel.pixel_step` drives these; a cached sampler must give
    the same images as the full-recompute one on the same noise.
    """

    # Size of the conditioning vector the backbone takes as a second input
    # ("conditional_input"), or None for an unconditional backbone.
    conditional_dims = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

    def initial_state(self, batch_size):
        raise NotImplementedError(
            f"{type(self).__name__} does not implement the step interface "
            '(initial_state/step/commit); use method="naive" sampling.'
        )

    # Whether `start_image` / `start_row` do any work.
    starts_images = False
    starts_rows = False
    # Whether exported steps pass only the state entries the starts
    # replace through their graph conditionals (`kerpix.ops.loops.
    # cond_update`; export graph rule `narrow-conditionals`).
    narrow_start_conditionals = True

    def start_image(self, state, conditional_input=None):
        """The state before pixel `(0, 0)` (unchanged by default)."""
        return tuple(state)

    def start_row(self, state, i, conditional_input=None):
        """The state before pixel `(i, 0)` (unchanged by default)."""
        return tuple(state)

    def step(self, state, pixel, i, j, conditional_input=None):
        raise NotImplementedError(
            f"{type(self).__name__} does not implement the step interface."
        )

    def commit(self, state, pixel, i, j):
        raise NotImplementedError(
            f"{type(self).__name__} does not implement the step interface."
        )

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
