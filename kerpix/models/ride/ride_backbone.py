import keras
from keras import ops

from kerpix.layers.causal_neighborhood import CausalNeighborhood
from kerpix.layers.spatial_lstm import SpatialLSTM
from kerpix.layers.whitening_preconditioner import WhiteningPreconditioner
from kerpix.models.state_layout import StateLayout
from kerpix.ops.pixels import update_column
from kerpix.ops.pixels import window
from kerpix.utils.validation import validate_image_shape
from kerpix.utils.validation import validate_positive_int


@keras.saving.register_keras_serializable(package="kerpix")
class RIDEBackbone(keras.Model):
    """RIDE's features: causal neighbourhood -> preconditioner -> spatial
    LSTMs (Theis & Bethge 2015).

    Maps normalised grey values `z` `(N, H, W, 1)` to the last spatial
    LSTM's states `h` `(N, H, W, num_hiddens)` (with `num_layers=0`: the
    whitened neighbourhoods, the plain MCGSM's input); `h_ij` depends only
    on pixels before `(i, j)`. `features_and_targets(z)` also returns the
    MCGSM's targets: each pixel minus its linear prediction from the
    neighbourhood, scaled (`WhiteningPreconditioner`).

    Step interface: the one of every `kerpix.models.Backbone`
    (`initial_state`, `step`, `commit`). The state is the map of `z` seen
    so far (with the neighbourhood's zero padding) and each LSTM's `h`
    and `c` caches; `step` reads the neighbourhood of `(i, j)` from the
    map, `commit(state, z, i, j)` writes the pixel's value into it. (A
    subclassed `keras.Model`: Keras turns the functional `Backbone` base
    class into `Functional`, which subclassed models cannot share.)

    Args:
        image_shape: `(H, W, 1)`.
        num_layers: int >= 0. Spatial LSTM layers. Defaults to `1`.
        num_hiddens: int. Units per LSTM. Defaults to `64`.

    Example:

    >>> backbone = kerpix.models.RIDEBackbone((5, 6, 1), num_hiddens=3)
    >>> tuple(backbone(np.zeros((2, 5, 6, 1))).shape)
    (2, 5, 6, 3)
    """

    conditional_dims = None  # unconditional

    def __init__(self, image_shape, num_layers=1, num_hiddens=64, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = validate_image_shape(image_shape)
        if not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(
                "Invalid value for argument `num_layers`. Expected an "
                "integer >= 0 (0: the plain MCGSM). Received: "
                f"num_layers={num_layers!r}"
            )
        validate_positive_int("num_hiddens", num_hiddens)
        self.num_layers = num_layers
        self.num_hiddens = num_hiddens
        self.neighborhood = CausalNeighborhood(name="neighborhood")
        self.preconditioner = WhiteningPreconditioner(name="preconditioner")
        self.lstms = [
            SpatialLSTM(num_hiddens, name=f"slstm_{k}")
            for k in range(num_layers)
        ]

    def build(self, input_shape):
        features = self.neighborhood.compute_output_shape(input_shape)
        self.preconditioner.build(features)
        for lstm in self.lstms:
            lstm.build(features)
            features = lstm.compute_output_shape(features)
        self.built = True

    def compute_output_shape(self, input_shape):
        if self.lstms:
            return tuple(input_shape[:-1]) + (self.num_hiddens,)
        return self.neighborhood.compute_output_shape(input_shape)

    def call(self, z):
        return self.features_and_targets(z)[0]

    def features_and_targets(self, z):
        """The head's features `h` and targets `t` `(N, H, W)` (the
        preconditioned pixel values) of normalised values `z`."""
        x = self.neighborhood(z)
        h = self.preconditioner.whiten_inputs(x)
        for lstm in self.lstms:
            h = lstm(h)
        return h, self.preconditioner.whiten_outputs(x, z[..., 0])

    def adapt(self, z):
        """Fit the preconditioner to the neighbourhoods and values of
        normalised values `z` (NumPy `(N, H, W, 1)`)."""
        x = ops.convert_to_numpy(self.neighborhood(z))
        self.preconditioner.adapt(
            x.reshape(-1, x.shape[-1]), ops.convert_to_numpy(z).reshape(-1)
        )

    # === Step interface ===

    # State: the normalised values of the neighbourhood's `rows` rows above
    # (`above`, read-only along a row), of the current row (`row`, written
    # pixel by pixel, never read in the same step, so a compiled loop
    # writes it in place) and of the `left` pixels to the left (`left`),
    # columns padded by `left` and `right`; then each spatial LSTM's
    # caches (`lstm_k`). Nothing grows with the image height; `start_row`
    # moves everything up a row.

    starts_rows = True

    @property
    def state_layout(self):
        return StateLayout(
            [("above", None), ("row", None), ("left", None)]
            + [
                (f"lstm_{k}", lstm.cache_size)
                for k, lstm in enumerate(self.lstms)
            ]
        )

    def initial_state(self, batch_size):
        n = self.neighborhood
        width = self.image_shape[1] + n.left + n.right
        dtype = self.compute_dtype
        named = {
            "above": ops.zeros((batch_size, n.rows, width, 1), dtype),
            "row": ops.zeros((batch_size, width, 1), dtype),
            "left": ops.zeros((batch_size, n.left, 1), dtype),
        }
        for k, lstm in enumerate(self.lstms):
            named[f"lstm_{k}"] = lstm.initial_cache(
                batch_size, self.image_shape[1]
            )
        return self.state_layout.pack(named)

    def start_row(self, state, i, conditional_input=None):
        """The state before row `i`: the last row joins the rows above."""
        named = self.state_layout.unpack(state)
        named["above"] = ops.concatenate(
            [named["above"][:, 1:], named["row"][:, None]], axis=1
        )
        named["left"] = ops.zeros_like(named["left"])
        for k, lstm in enumerate(self.lstms):
            named[f"lstm_{k}"] = lstm.start_row(named[f"lstm_{k}"], i)
        return self.state_layout.pack(named)

    def neighbors(self, state, i, j):
        """The causal neighbourhood `(N, 12)` of `(i, j)` in the state, in
        the order of `CausalNeighborhood.offsets`."""
        n = self.neighborhood
        named = self.state_layout.unpack(state)
        span = n.left + n.right + 1
        above = window(named["above"], (0, j), (n.rows, span))
        return ops.concatenate(
            [
                ops.reshape(above, (-1, n.rows * span)),
                ops.reshape(named["left"], (-1, n.left)),
            ],
            axis=-1,
        )

    def step(self, state, pixel, i, j, conditional_input=None):
        """Features `h` `(N, F)` at `(i, j)`; `pixel` is not read (the
        values in the state hold everything before it)."""
        return self.step_from_neighbors(
            state, self.neighbors(state, i, j), i, j
        )

    def step_from_neighbors(self, state, x, i, j):
        """`step` given the neighbourhood `x` of `(i, j)` (a sampler that
        also needs `x` reads it once)."""
        h = self.preconditioner.whiten_inputs(x)
        named = self.state_layout.unpack(state)
        for k, lstm in enumerate(self.lstms):
            h, named[f"lstm_{k}"] = lstm.step(named[f"lstm_{k}"], h, i, j)
        return h, self.state_layout.pack(named)

    def commit(self, state, pixel, i, j):
        """Write the pixel's normalised value `pixel` `(N, 1)`."""
        n = self.neighborhood
        named = self.state_layout.unpack(state)
        named["row"] = update_column(named["row"], j + n.left, pixel)
        named["left"] = ops.concatenate(
            [named["left"][:, 1:], pixel[:, None]], axis=1
        )
        return self.state_layout.pack(named)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        config.update(
            image_shape=self.image_shape,
            num_layers=self.num_layers,
            num_hiddens=self.num_hiddens,
        )
        return config
