import keras
from keras import ops

from kerpix.layers.causal_neighborhood import CausalNeighborhood
from kerpix.layers.spatial_lstm import SpatialLSTM
from kerpix.layers.whitening_preconditioner import WhiteningPreconditioner
from kerpix.ops.pixels import read_pixel
from kerpix.ops.pixels import ring_slot
from kerpix.ops.pixels import update_pixel
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

    # State: a row ring buffer of the normalised values (the neighbourhood's
    # `rows` rows above and the current one, image row `r` in slot
    # `r % (rows + 1)`, columns padded by `left` and `right`), then each
    # spatial LSTM's caches: nothing grows with the image height.

    def initial_state(self, batch_size):
        n = self.neighborhood
        width = self.image_shape[1]
        z_rows = ops.zeros(
            (batch_size, n.rows + 1, width + n.left + n.right, 1),
            self.compute_dtype,
        )
        state = [z_rows]
        for lstm in self.lstms:
            state.extend(lstm.initial_cache(batch_size, width))
        return tuple(state)

    def neighbors(self, state, i, j):
        """The causal neighbourhood `(N, 12)` of `(i, j)` in the state."""
        n = self.neighborhood
        return ops.concatenate(
            [
                read_pixel(
                    state[0], ring_slot(i + di, n.rows + 1), j + n.left + dj
                )
                for di, dj in n.offsets
            ],
            axis=-1,
        )

    def step(self, state, pixel, i, j, conditional_input=None):
        """Features `h` `(N, F)` at `(i, j)`; `pixel` is not read (the
        value map in the state holds everything before it)."""
        return self.step_from_neighbors(
            state, self.neighbors(state, i, j), i, j
        )

    def step_from_neighbors(self, state, x, i, j):
        """`step` given the neighbourhood `x` of `(i, j)` (a sampler that
        also needs `x` reads it once)."""
        h = self.preconditioner.whiten_inputs(x)
        caches = list(state[1:])
        for k, lstm in enumerate(self.lstms):
            h, caches[2 * k : 2 * k + 2] = lstm.step(
                tuple(caches[2 * k : 2 * k + 2]), h, i, j
            )
        return h, (state[0],) + tuple(caches)

    def commit(self, state, pixel, i, j):
        """Write the pixel's normalised value `pixel` `(N, 1)`."""
        n = self.neighborhood
        slot = ring_slot(i, n.rows + 1)
        z_rows = update_pixel(state[0], slot, j + n.left, pixel)
        return (z_rows,) + tuple(state[1:])

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        config.update(
            image_shape=self.image_shape,
            num_layers=self.num_layers,
            num_hiddens=self.num_hiddens,
        )
        return config
