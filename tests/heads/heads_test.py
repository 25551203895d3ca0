import math

import keras
import numpy as np
import pytest

from kerpix import heads
from kerpix import testing


class CategoricalHeadTest:
    """Battery shared by every head; subclasses set `make_head`."""

    colors = 3
    num_levels = 5

    def make_head(self):
        return heads.CategoricalHead(
            num_channels=self.colors, num_levels=self.num_levels
        )

    def random_params(self, head, shape=(2, 3, 4)):
        rng = np.random.default_rng(0)
        return rng.normal(size=shape + (head.params_size,)).astype("float32")

    def test_params_shape(self):
        head = self.make_head()
        params = head(np.zeros((2, 3, 4, 6 * self.colors)))
        assert tuple(params.shape) == (2, 3, 4, head.params_size)
        assert head.compute_output_shape((2, 3, 4, 6)) == (
            2,
            3,
            4,
            head.params_size,
        )

    def test_probabilities_sum_to_one_over_all_values(self):
        head = self.make_head()
        params = self.random_params(head)
        levels = head.num_levels
        total = 0.0
        for value in range(levels):
            images = np.full((2, 3, 4, self.colors), value, "int32")
            total = total + np.exp(
                keras.ops.convert_to_numpy(head.log_prob(images, params))
            )
        np.testing.assert_allclose(total, 1.0, atol=1e-5)

    def test_zero_logits_give_log2_levels_bits(self):
        head = self.make_head()
        params = np.zeros((1, 2, 2, head.params_size), "float32")
        images = np.zeros((1, 2, 2, self.colors), "int32")
        lp = keras.ops.convert_to_numpy(head.log_prob(images, params))
        bits = -lp.sum() / (lp.size * math.log(2))
        assert bits == pytest.approx(math.log2(head.num_levels), abs=1e-6)

    def test_sample_range_dtype_and_noise_determinism(self):
        head = self.make_head()
        params = self.random_params(head)
        noise = np.random.default_rng(1).random((2, 3, 4, head.noise_dims))
        a = keras.ops.convert_to_numpy(head.sample(params, noise))
        b = keras.ops.convert_to_numpy(head.sample(params, noise))
        np.testing.assert_array_equal(a, b)
        assert a.shape == (2, 3, 4, self.colors)
        assert a.dtype == np.int32
        assert a.min() >= 0 and a.max() < head.num_levels

    def test_inverse_cdf_matches_probabilities(self):
        # The fraction of a fine noise grid mapped to each value is the
        # value's probability.
        head = self.make_head()
        params = self.random_params(head, shape=(1,))
        grid = (np.arange(20000) + 0.5) / 20000
        noise = np.repeat(grid[:, None], head.noise_dims, axis=1)
        values = keras.ops.convert_to_numpy(
            head.sample(np.repeat(params, len(grid), 0), noise)
        )
        for c in range(self.colors):
            for v in range(head.num_levels):
                images = np.full((1, self.colors), v, "int32")
                p = np.exp(
                    keras.ops.convert_to_numpy(head.log_prob(images, params))
                )[0, c]
                assert np.mean(values[:, c] == v) == pytest.approx(p, abs=2e-4)

    def test_temperature_zero_is_the_mode(self):
        head = self.make_head()
        params = self.random_params(head)
        noise = np.random.default_rng(1).random((2, 3, 4, head.noise_dims))
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(head.sample(params, noise, 0.0)),
            keras.ops.convert_to_numpy(head.mode(params)),
        )

    def test_colour_order_inside_a_pixel(self):
        # "Green pixel" check: params of colour c only see features of
        # colour groups <= c at the same pixel, and no other pixel.
        head = self.make_head()
        shape = (3, 3, self.colors)
        for c in range(self.colors):
            testing.assert_causal(
                lambda x: head(keras.ops.repeat(x, 4, axis=-1)),
                shape,
                (1, 1, c),
                expected=self.same_pixel_groups(shape, c),
                strict=False,
            )

    def same_pixel_groups(self, shape, c):
        expected = np.zeros(shape, bool)
        expected[1, 1, : c + 1] = True
        return expected

    def test_log_prob_depends_only_on_own_params(self):
        head = self.make_head()
        params = self.random_params(head, shape=(1, 2, 2))
        images = np.ones((1, 2, 2, self.colors), "int32")

        def fn(p):
            lp = head.log_prob(images, p)
            return keras.ops.sum(lp[0, 1, 0, self.colors - 1])

        grad = testing.input_gradient(lambda p: p, params, fn)
        block = head.params_size // self.colors
        nonzero = np.argwhere(grad != 0)
        assert len(nonzero)
        for _, i, j, k in nonzero:
            assert (i, j) == (1, 0)
            assert k // block == self.colors - 1

    def test_serialization_round_trip(self):
        head = self.make_head()
        again = testing.run_serialization_test(head)
        assert again.params_size == head.params_size

    def test_computes_in_float32_under_mixed_precision(self):
        keras.mixed_precision.set_global_policy("mixed_float16")
        try:
            head = self.make_head()
            params = head(np.zeros((1, 2, 2, 2 * self.colors), "float16"))
        finally:
            keras.mixed_precision.set_global_policy("float32")
        assert keras.backend.standardize_dtype(params.dtype) == "float32"


class TestCategoricalHeadRGB(CategoricalHeadTest):
    pass


class TestCategoricalHeadGrey(CategoricalHeadTest):
    colors = 1
    num_levels = 256


class TestBernoulliHead(CategoricalHeadTest):
    colors = 1

    def make_head(self):
        return heads.BernoulliHead(num_channels=self.colors)


class TestBernoulliHeadTwoChannels(TestBernoulliHead):
    colors = 2


def test_bad_head_arguments():
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `num_levels`\. Expected an "
        r"integer >= 2\. Received: num_levels=1",
    ):
        heads.CategoricalHead(num_levels=1)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `num_channels`\. Expected a "
        r"positive integer\. Received: num_channels=0",
    ):
        heads.CategoricalHead(num_channels=0)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `head`\. Expected one of "
        r"\['bernoulli', 'categorical', 'logistic_mixture', 'auto'\]\. "
        r"Received: head='gauss'",
    ):
        heads.get_head("gauss", 1, 256)
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `head`\. head=\"bernoulli\" "
        r"models binary images; use num_levels=2 or head=\"categorical\"\. "
        r"Received: num_levels=256",
    ):
        heads.get_head("bernoulli", 1, 256)
