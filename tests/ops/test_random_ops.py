"""Tests for random ops: TF1 seeding rules, reproducibility across Sessions, distribution moments, dtypes and shapes."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.ops import random_ops


def _run(build, graph_seed=None, sessions=1, runs=1):
    """Builds `build()` in a fresh graph; returns [[values of run r] for each session]."""
    graph = gf.Graph()
    with graph.as_default():
        if graph_seed is not None:
            gf.set_random_seed(graph_seed)
        out = build()
    results = []
    for _ in range(sessions):
        with gf.Session(graph=graph) as sess:
            results.append([sess.run(out) for _ in range(runs)])
    return results


@pytest.mark.parametrize("build", [
    lambda: gf.random_normal([3, 4], seed=7),
    lambda: gf.random_uniform([5], seed=7),
    lambda: gf.random_uniform([6], minval=-3, maxval=9, dtype=gf.int32, seed=7),
    lambda: gf.truncated_normal([4, 2], seed=7),
    lambda: gf.random_shuffle(np.arange(10), seed=7),
])
def test_same_op_seed_same_numbers_in_new_session_and_new_runs_differ(build):
    (first_a, first_b), (second_a, second_b) = _run(build, sessions=2, runs=2)
    np.testing.assert_array_equal(first_a, second_a)
    np.testing.assert_array_equal(first_b, second_b)
    assert not np.array_equal(first_a, first_b)


def test_same_seeds_same_numbers_in_rebuilt_graph():
    build = lambda: [gf.random_normal([4], seed=3), gf.random_uniform([4], seed=3)]  # noqa: E731
    a = _run(build)[0][0]
    b = _run(build)[0][0]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_graph_seed_alone_makes_ops_reproducible_and_distinct():
    build = lambda: [gf.random_normal([6]), gf.random_normal([6])]  # noqa: E731
    (x1, y1), = _run(build, graph_seed=42)[0]
    (x2, y2), = _run(build, graph_seed=42)[0]
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, y1)  # op seeds come from the op count, so two ops differ
    (x3, _), = _run(build, graph_seed=43)[0]
    assert not np.array_equal(x1, x3)


def test_unseeded_ops_are_nondeterministic():
    build = lambda: gf.random_normal([8])  # noqa: E731
    (a,), (b,) = _run(build, sessions=2)
    assert not np.array_equal(a, b)


def test_get_seed_rules():
    graph = gf.Graph()
    with graph.as_default():
        assert random_ops.get_seed(None) == (None, None)
        assert random_ops.get_seed(5) == (random_ops.DEFAULT_GRAPH_SEED, 5)
        gf.set_random_seed(11)
        gf.constant(1.0)
        seed, seed2 = random_ops.get_seed(None)
        assert seed == 11 and seed2 == graph._last_id
        assert random_ops.get_seed(9) == (11, 9)
        gf.set_random_seed(0)
        assert random_ops.get_seed(0) == (0, 2 ** 31 - 1)  # (0, 0) would mean "nondeterministic"
        x = gf.random_normal([2], seed=4)
        rnd = x.op.inputs[0].op.inputs[0].op
        assert rnd.type == "RandomStandardNormal"
        assert (rnd.attrs["seed"], rnd.attrs["seed2"]) == (0, 4)


def test_random_ops_are_stateful_and_not_differentiable():
    for op_type in ("RandomStandardNormal", "RandomUniform", "TruncatedNormal", "RandomUniformInt", "RandomShuffle"):
        opdef = gf.framework.registry.get_opdef(op_type)
        assert opdef.stateful and opdef.grad is None


@pytest.mark.parametrize("dtype", [gf.float16, gf.float32, gf.float64])
def test_normal_moments_and_dtype(dtype):
    (x,), = _run(lambda: gf.random_normal([100_000], mean=2.0, stddev=3.0, dtype=dtype, seed=1))
    assert x.dtype == dtype.numpy and x.shape == (100_000,)
    x = x.astype(np.float64)
    assert abs(x.mean() - 2.0) < 0.05  # std error 3/sqrt(1e5) ≈ 0.0095
    assert abs(x.std() - 3.0) < 0.05


def test_uniform_moments_and_bounds():
    (x,), = _run(lambda: gf.random_uniform([100_000], minval=-1.0, maxval=3.0, seed=2))
    assert x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() < 3.0
    assert abs(x.mean() - 1.0) < 0.03
    assert abs(x.std() - 4 / np.sqrt(12)) < 0.03


def test_uniform_int_range_and_all_values_hit():
    (x,), = _run(lambda: gf.random_uniform([10_000], minval=-2, maxval=3, dtype=gf.int64, seed=2))
    assert x.dtype == np.int64
    assert set(np.unique(x).tolist()) == {-2, -1, 0, 1, 2}
    assert abs(x.mean()) < 0.1


def test_uniform_int_needs_maxval():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="maxval"):
            gf.random_uniform([3], dtype=gf.int32)


def test_uniform_int_empty_range_is_an_error_naming_the_op():
    build = lambda: gf.random_uniform([3], minval=4, maxval=4, dtype=gf.int32)  # noqa: E731
    with pytest.raises(Exception, match="RandomUniformInt|random_uniform"):
        _run(build)


def test_truncated_normal_bound_and_moments():
    (x,), = _run(lambda: gf.truncated_normal([100_000], mean=1.0, stddev=0.5, seed=3))
    assert np.all(np.abs(x - 1.0) <= 2 * 0.5 + 1e-6)
    x = x.astype(np.float64)
    assert abs(x.mean() - 1.0) < 0.01
    # std of N(0,1) truncated at ±2 is 0.8796
    assert abs(x.std() - 0.5 * 0.8796) < 0.01


def test_shuffle_is_a_permutation_of_rows():
    value = np.arange(20).reshape(10, 2)
    (x,), = _run(lambda: gf.random_shuffle(value, seed=5))
    assert x.shape == (10, 2)
    assert sorted(x[:, 0].tolist()) == list(range(0, 20, 2))
    np.testing.assert_array_equal(x[:, 1], x[:, 0] + 1)


def test_shape_from_tensor_static_and_dynamic():
    graph = gf.Graph()
    with graph.as_default():
        shape = gf.placeholder(gf.int32, [2])
        x = gf.random_normal(shape, seed=1)
        assert x.shape.as_list() == [None, None]
        y = gf.random_uniform(gf.constant([3, 2]), seed=1)
        assert y.shape.as_list() == [3, 2]
        z = gf.random_normal(gf.TensorShape([4, 1]), dtype=gf.float64, seed=1)
        assert z.shape.as_list() == [4, 1] and z.dtype == gf.float64
        with gf.Session() as sess:
            assert sess.run(x, {shape: [5, 2]}).shape == (5, 2)
            assert sess.run(y).shape == (3, 2)


def test_unsupported_dtype_is_an_error():
    with gf.Graph().as_default():
        with pytest.raises(TypeError, match="RandomStandardNormal"):
            gf.random_normal([2], dtype=gf.int32)


def test_gradient_flows_through_mean_and_stddev():
    graph = gf.Graph()
    with graph.as_default():
        mean = gf.placeholder(gf.float64, [])
        stddev = gf.placeholder(gf.float64, [])
        z = gf.random_normal([50], mean=mean, stddev=stddev, dtype=gf.float64, seed=9)
        d_mean, d_std = gf.gradients(gf.reduce_sum(z), [mean, stddev])
        with gf.Session() as sess:
            values, gm, gs = sess.run([z, d_mean, d_std], {mean: 1.0, stddev: 2.0})
    assert gm == pytest.approx(50.0)
    assert gs == pytest.approx(((values - 1.0) / 2.0).sum())


def test_get_seed_uses_the_given_graph_and_dropout_follows_the_same_rules():
    graph, other = gf.Graph(), gf.Graph()
    graph.seed = 2 ** 31 + 5  # TF truncates seeds modulo 2**31 - 1: 2**31 + 5 → 6
    with other.as_default():  # the default graph is unseeded; the graph passed in decides
        assert random_ops.get_seed(7, graph) == (6, 7)
    with graph.as_default():
        y = gf.nn.dropout(gf.constant(np.ones(4, np.float32)), keep_prob=0.5, seed=7)
        assert (y.op.attrs["seed"], y.op.attrs["seed2"]) == (6, 7)


def test_multinomial_frequencies_follow_softmax_and_seeds_repeat():
    probs = np.array([[0.2, 0.3, 0.5], [0.7, 0.1, 0.2]])

    def draw():
        graph = gf.Graph()
        with graph.as_default():
            gf.set_random_seed(5)
            samples = gf.multinomial(np.log(probs) + 4.0, 40000, seed=11, output_dtype=gf.int32)
            assert samples.dtype == gf.int32 and samples.shape.as_list() == [2, 40000]
            with gf.Session() as sess:
                return sess.run(samples), sess.run(samples)
    first, second = draw()
    assert first.dtype == np.int32 and not np.array_equal(first, second)  # the generator state advances
    np.testing.assert_array_equal(draw()[0], first)  # same seeds, new Session: same numbers
    for row, p in zip(first, probs):
        # 40000 draws: the standard error of each frequency is below 0.0025, the tolerance is ~4 of them
        np.testing.assert_allclose(np.bincount(row, minlength=3) / row.size, p, atol=0.01)


def test_multinomial_certain_class_unknown_batch_and_errors():
    with gf.Graph().as_default():
        logits = gf.placeholder(gf.float32, [None, 3])
        samples = gf.multinomial(logits, 5)
        assert samples.dtype == gf.int64 and samples.shape.as_list() == [None, 5]
        assert gf.gradients(gf.reduce_sum(gf.cast(samples, gf.float32)), logits) == [None]
        with gf.Session() as sess:
            out = sess.run(samples, {logits: np.array([[-50.0, 0.0, -50.0]] * 4, np.float32)})
        np.testing.assert_array_equal(out, np.ones((4, 5)))
        with pytest.raises(ValueError, match="Multinomial: logits must be \\[batch_size, num_classes\\]"):
            gf.multinomial(gf.placeholder(gf.float32, [3]), 2)
        with pytest.raises(TypeError, match="Multinomial: logits must be floating point"):
            gf.multinomial(gf.placeholder(gf.int32, [2, 3]), 2)
        with pytest.raises(TypeError, match="output_dtype must be int32 or int64"):
            gf.multinomial(logits, 2, output_dtype=gf.float32)
