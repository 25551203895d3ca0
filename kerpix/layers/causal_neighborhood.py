import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerpix")
class CausalNeighborhood(keras.layers.Layer):
    """The causal neighbourhood of every pixel, as features (RIDE's input).

    For pixel `(i, j)`: the `rows` rows above it, `left + 1 + right`
    columns wide (columns `j - left .. j + right`), and the `left` pixels
    to its left in its own row; zeros outside the image. The RIDE
    reference uses `rows=2, left=2, right=2`: a 3×5 window without the
    pixel and what follows it, 12 values per channel. The pixel itself is
    never included.

    Args:
        rows: int. Rows above. Defaults to `2`.
        left: int. Columns to the left. Defaults to `2`.
        right: int. Columns to the right (rows above only). Defaults to
            `2`.

    Call arguments:
        inputs: `(N, H, W, C)`.

    Output:
        `(N, H, W, C * (rows * (left + 1 + right) + left))`, neighbour by
        neighbour in raster order, channels innermost.

    Example:

    >>> tuple(kerpix.layers.CausalNeighborhood()(np.zeros((2, 5, 6, 1))).shape)
    (2, 5, 6, 12)
    """

    def __init__(self, rows=2, left=2, right=2, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("rows", rows), ("left", left), ("right", right)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"Invalid value for argument `{name}`. Expected an "
                    f"integer >= 0. Received: {name}={value!r}"
                )
        if rows == 0 and left == 0:
            raise ValueError(
                "Invalid value for arguments `rows` and `left`: the "
                "neighbourhood would be empty. Received: rows=0, left=0"
            )
        self.rows = rows
        self.left = left
        self.right = right

    @property
    def offsets(self):
        """`(di, dj)` of every neighbour, in raster order."""
        above = [
            (di, dj)
            for di in range(-self.rows, 0)
            for dj in range(-self.left, self.right + 1)
        ]
        return above + [(0, dj) for dj in range(-self.left, 0)]

    def call(self, inputs):
        height, width, channels = inputs.shape[1:]
        batch = ops.shape(inputs)[0]
        padded = ops.pad(
            inputs,
            ((0, 0), (self.rows, 0), (self.left, self.right), (0, 0)),
        )
        return ops.concatenate(
            [
                ops.slice(
                    padded,
                    (0, self.rows + di, self.left + dj, 0),
                    (batch, height, width, channels),
                )
                for di, dj in self.offsets
            ],
            axis=-1,
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] * len(self.offsets),)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"rows": self.rows, "left": self.left, "right": self.right}
        )
        return config
