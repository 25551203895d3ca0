import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="kerpix")
class WhiteningPreconditioner(keras.layers.Layer):
    """RIDE's data-fitted preconditioner of (neighbourhood, pixel) pairs.

    For a pixel value `z` with causal neighbourhood `x` (`d` values):

    - inputs are whitened, `x' = W (x - m_x)` with `W = C_xx^{-1/2}`;
    - the output is decorrelated from its neighbourhood and scaled,
      `z' = (z - m_z - p·(x - m_x)) / s`, `p` the least-squares linear
      prediction of `z` from `x`, `s` the residual's standard deviation.

    Given `x`, `z -> z'` is affine with slope `1 / s`, so a density model
    of `z'` given the past is one of `z` after adding `log_jacobian` =
    `-log s` per pixel (exact; the map reads only the causal past). As in
    the RIDE reference code (CMT's `WhiteningPreconditioner`), the
    statistics are fitted once to training data with `adapt` and then kept
    fixed (non-trainable weights: saved, loaded and copied with the
    model). Before `adapt` the map is the identity.

    Args:
        epsilon: float. Added to the covariance's diagonal (and floor of
            `s`). Defaults to `1e-6`.

    Call arguments:
        inputs: `(..., d)` neighbourhoods.
        outputs: `(...)` pixel values.

    Returns:
        `(whitened inputs (..., d), whitened outputs (...))`.

    Example:

    >>> layer = kerpix.layers.WhiteningPreconditioner()
    >>> x = np.random.default_rng(0).normal(size=(500, 3))
    >>> z = x @ np.array([1.0, -2.0, 0.5]) + 0.1
    >>> layer.adapt(x, z)
    >>> xw, zw = layer(x.astype("float32"), z.astype("float32"))
    >>> bool(np.allclose(np.cov(np.asarray(xw).T), np.eye(3), atol=1e-2))
    True
    """

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        if not epsilon > 0:
            raise ValueError(
                "Invalid value for argument `epsilon`. Expected a positive "
                f"float. Received: epsilon={epsilon!r}"
            )
        self.epsilon = float(epsilon)

    def build(self, inputs_shape, outputs_shape=None):
        d = inputs_shape[-1]

        def weight(name, shape, initializer):
            return self.add_weight(
                name=name,
                shape=shape,
                initializer=initializer,
                trainable=False,
            )

        self.input_mean = weight("input_mean", (d,), "zeros")
        self.whitening = weight("whitening", (d, d), "identity")
        self.predictor = weight("predictor", (d,), "zeros")
        self.output_mean = weight("output_mean", (), "zeros")
        self.output_scale = weight("output_scale", (), "ones")
        self.built = True

    def whiten_inputs(self, inputs):
        """`W (x - m_x)`, `(..., d)`."""
        return ops.matmul(inputs - self.input_mean, self.whitening)

    def call(self, inputs, outputs):
        return self.whiten_inputs(inputs), self.whiten_outputs(inputs, outputs)

    def whiten_outputs(self, inputs, outputs):
        """`z' = (z - m_z - p·(x - m_x)) / s`."""
        return (outputs - self._prediction(inputs)) / self.output_scale

    def unwhiten_outputs(self, inputs, whitened):
        """The inverse of `whiten_outputs` given the same `inputs`."""
        return whitened * self.output_scale + self._prediction(inputs)

    @property
    def log_jacobian(self):
        """`log |dz'/dz|` per pixel, a scalar: `-log s`."""
        return -ops.log(self.output_scale)

    def _prediction(self, inputs):
        centred = inputs - self.input_mean
        return self.output_mean + ops.sum(centred * self.predictor, axis=-1)

    def adapt(self, inputs, outputs):
        """Fit the statistics to `inputs` `(M, d)` and `outputs` `(M,)`
        (NumPy; float64 sums)."""
        x = np.asarray(inputs, "float64")
        z = np.asarray(outputs, "float64").reshape(-1)
        if x.ndim != 2 or len(x) != len(z) or len(x) < 2:
            raise ValueError(
                "Invalid value for arguments `inputs`/`outputs`. Expected "
                "(M, d) neighbourhoods and M >= 2 values. Received: "
                f"inputs.shape={x.shape}, outputs.shape={z.shape}"
            )
        if not self.built:
            self.build(x.shape)
        if x.shape[1] != self.input_mean.shape[0]:
            raise ValueError(
                "Invalid value for argument `inputs`. Expected "
                f"{self.input_mean.shape[0]} values per row. Received: "
                f"inputs.shape={x.shape}"
            )
        m_x, m_z = x.mean(0), z.mean()
        xc, zc = x - m_x, z - m_z
        cov = xc.T @ xc / len(x) + self.epsilon * np.eye(x.shape[1])
        eigenvalues, eigenvectors = np.linalg.eigh(cov)
        # Symmetric (ZCA) whitening; row vectors times W.
        whitening = eigenvectors @ np.diag(eigenvalues**-0.5) @ eigenvectors.T
        predictor = np.linalg.solve(cov, xc.T @ zc / len(x))
        residual = zc - xc @ predictor
        scale = max(float(np.sqrt(np.mean(residual**2))), self.epsilon)
        self.input_mean.assign(m_x.astype("float32"))
        self.whitening.assign(whitening.astype("float32"))
        self.predictor.assign(predictor.astype("float32"))
        self.output_mean.assign(np.float32(m_z))
        self.output_scale.assign(np.float32(scale))

    def compute_output_shape(self, inputs_shape, outputs_shape=None):
        return tuple(inputs_shape), tuple(inputs_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config
