"""Initializers: exact values for deterministic ones, distribution bounds and moments for random ones."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.ops.init_ops import compute_fans


@pytest.fixture(autouse=True)
def fresh_default_graph():
    gf.reset_default_graph()


def _run(tensor):
    with gf.Session() as sess:
        return sess.run(tensor)


def test_zeros_ones_constant():
    np.testing.assert_array_equal(_run(gf.initializers.zeros()([2, 3])), np.zeros((2, 3), np.float32))
    ones = _run(gf.initializers.ones(dtype=gf.int64)([4]))
    assert ones.dtype == np.int64 and ones.tolist() == [1, 1, 1, 1]
    np.testing.assert_array_equal(_run(gf.initializers.constant(2.5)([2, 2])), np.full((2, 2), 2.5, np.float32))
    np.testing.assert_array_equal(_run(gf.initializers.constant([1, 2, 3, 4])([2, 2], dtype=gf.float64)),
                                  [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="3 values cannot fill shape"):
        gf.initializers.constant([1, 2, 3])([2, 2])
    with pytest.raises(TypeError, match="expected shape"):
        gf.initializers.constant([1, 2, 3, 4], verify_shape=True)([2, 2])


def test_compute_fans():
    assert compute_fans([]) == (1.0, 1.0)
    assert compute_fans([7]) == (7.0, 7.0)
    assert compute_fans([3, 5]) == (3.0, 5.0)
    assert compute_fans([3, 3, 4, 8]) == (36.0, 72.0)


def test_glorot_uniform_bounds_and_variance():
    gf.set_random_seed(0)
    values = _run(gf.initializers.glorot_uniform()([200, 300]))
    limit = np.sqrt(6.0 / 500)
    assert values.dtype == np.float32 and np.abs(values).max() <= limit
    assert np.abs(values).max() > 0.99 * limit
    np.testing.assert_allclose(values.var(), limit ** 2 / 3, rtol=0.03)


@pytest.mark.parametrize("make, std", [
    (lambda: gf.initializers.he_normal(seed=1), np.sqrt(2.0 / 144)),
    (lambda: gf.initializers.glorot_normal(seed=1), np.sqrt(2.0 / (144 + 288))),
    (lambda: gf.initializers.variance_scaling(3.0, "fan_out", "untruncated_normal", seed=1), np.sqrt(3.0 / 288)),
])
def test_normal_variance_scaling_std(make, std):
    values = _run(make()([3, 3, 16, 32]))
    np.testing.assert_allclose(values.std(), std, rtol=0.05)
    np.testing.assert_allclose(values.mean(), 0.0, atol=0.05 * std)


def test_he_uniform_and_truncation():
    values = _run(gf.initializers.he_uniform(seed=2)([100, 50]))
    assert np.abs(values).max() <= np.sqrt(6.0 / 100)
    truncated = _run(gf.initializers.truncated_normal(mean=1.0, stddev=0.5, seed=3)([5000]))
    assert truncated.min() >= 0.0 and truncated.max() <= 2.0


def test_random_normal_uniform_moments_and_seeds():
    normal = gf.initializers.random_normal(mean=2.0, stddev=3.0, seed=5)
    a, b = _run([normal([20000]), normal([20000])])
    np.testing.assert_allclose([a.mean(), a.std()], [2.0, 3.0], rtol=0.05)
    uniform = _run(gf.initializers.random_uniform(-2.0, 4.0, seed=4)([20000]))
    assert uniform.min() >= -2.0 and uniform.max() < 4.0
    np.testing.assert_allclose(uniform.mean(), 1.0, atol=0.05)
    gf.reset_default_graph()
    again = _run(gf.initializers.random_normal(mean=2.0, stddev=3.0, seed=5)([20000]))
    np.testing.assert_array_equal(again, a)  # same op seed in a rebuilt graph: same numbers


def test_invalid_arguments():
    with pytest.raises(ValueError, match="mode"):
        gf.initializers.variance_scaling(mode="fan_sideways")
    with pytest.raises(ValueError, match="positive"):
        gf.initializers.variance_scaling(scale=0.0)
    with pytest.raises(ValueError, match="floating"):
        gf.initializers.glorot_uniform()([2, 2], dtype=gf.int32)


def test_config_round_trip():
    init = gf.initializers.variance_scaling(2.0, "fan_avg", "uniform", seed=7)
    clone = type(init).from_config(init.get_config())
    assert (clone.scale, clone.mode, clone.distribution, clone.seed) == (2.0, "fan_avg", "uniform", 7)


def test_tf1_top_level_names():
    # TF1 scripts call these as tf.<name>: the package must export graphflow.ops.init_ops at top level
    for name in ["zeros_initializer", "ones_initializer", "constant_initializer", "random_normal_initializer",
                 "truncated_normal_initializer", "random_uniform_initializer", "glorot_uniform_initializer",
                 "glorot_normal_initializer", "variance_scaling_initializer"]:
        assert getattr(gf, name) is getattr(gf.ops.init_ops, name)
