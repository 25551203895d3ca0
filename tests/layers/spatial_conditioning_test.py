import keras
import numpy as np

from kerpix import layers
from kerpix import testing


class TestSpatialConditioning:
    def test_shapes_crop_and_serialization(self):
        for size, ups in [((7, 5), 2), ((8, 8), 3), ((3, 4), 0)]:
            m = layers.SpatialConditioning(size, filters=3, num_upsamplings=ups)
            out = m(np.ones((2, 4), "float32"))
            assert tuple(out.shape) == (2,) + size + (3,)
            assert m.compute_output_shape((2, 4)) == (2,) + size + (3,)
            testing.run_serialization_test(m)

    def test_upsampling_is_a_2x2_stride_2_transposed_convolution(self):
        m = layers.SpatialConditioning((4, 4), filters=2, num_upsamplings=1)
        h = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
        out = keras.ops.convert_to_numpy(m(h))
        base = keras.ops.convert_to_numpy(m.dense(h)).reshape(3, 2, 2, 2)
        kernel = keras.ops.convert_to_numpy(m.kernels[0])
        bias = keras.ops.convert_to_numpy(m.biases[0])
        want = np.zeros((3, 4, 4, 2))
        for i in range(2):
            for j in range(2):
                for a in range(2):
                    for b in range(2):
                        want[:, 2 * i + a, 2 * j + b] = (
                            np.maximum(base[:, i, j], 0) @ kernel[a, b] + bias
                        )
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
