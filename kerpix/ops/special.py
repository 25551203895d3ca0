"""Special functions written with elementary `keras.ops` only, so that every
backend and every exported runtime computes them with the same code
(export graph rule `portable-special`, `kerpix/export/graph_rules.py`)."""

from keras import ops

# M. Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011):
# single-precision polynomials in w = -log(1 - x^2), one for the centre
# (w < 5) and one in sqrt(w) for the tails.
_CENTRE = (
    2.81022636e-08,
    3.43273939e-07,
    -3.5233877e-06,
    -4.39150654e-06,
    0.00021858087,
    -0.00125372503,
    -0.00417768164,
    0.246640727,
    1.50140941,
)
_TAIL = (
    -0.000200214257,
    0.000100950558,
    0.00134934322,
    -0.00367342844,
    0.00573950773,
    -0.0076224613,
    0.00943887047,
    1.00167406,
    2.83297682,
)


def erfinv(x):
    """The inverse error function on `(-1, 1)` (float32 accuracy, relative
    error below ~1e-6 against SciPy), elementwise."""
    x = ops.convert_to_tensor(x)
    w = -ops.log((1.0 - x) * (1.0 + x))
    # Both polynomials by Horner's rule at once, side by side on a last
    # axis of 2 (half the ops of two evaluations: an exported step runs
    # each op on its own), then the branch for each element.
    arguments = ops.stack([w - 2.5, ops.sqrt(ops.maximum(w, 5.0)) - 3.0], -1)
    coefficients = [
        ops.convert_to_tensor(pair, x.dtype) for pair in zip(_CENTRE, _TAIL)
    ]
    p = coefficients[1] + coefficients[0] * arguments
    for c in coefficients[2:]:
        p = c + p * arguments
    return ops.where(w < 5.0, p[..., 0], p[..., 1]) * x


def normal_quantile(u):
    """The standard normal inverse CDF `sqrt(2) erfinv(2u - 1)` of `u` in
    `(0, 1)`."""
    return 1.4142135623730951 * erfinv(2.0 * u - 1.0)
