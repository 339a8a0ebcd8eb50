"""dropout statistics and seeding, embedding_lookup, in_top_k and top_k against numpy references."""
import numpy as np
import pytest

import graphflow as gf
from tests.harness import check_op, run_graph


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def test_dropout_statistics_and_scaling():
    x = np.ones((200, 250), np.float32)
    for kwargs, keep in (({"keep_prob": 0.7}, 0.7), ({"rate": 0.2}, 0.8)):
        (y,), _ = run_graph(lambda t: gf.nn.dropout(t, seed=1, **kwargs), [x])
        kept = y != 0
        # 50000 Bernoulli(keep) draws: the kept fraction is within 5 standard deviations (~0.01) of keep
        assert abs(kept.mean() - keep) < 5 * np.sqrt(keep * (1 - keep) / x.size)
        np.testing.assert_allclose(y[kept], 1 / keep, rtol=1e-6)


def test_dropout_identity_for_keep_prob_one():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [3])
        assert gf.nn.dropout(x, keep_prob=1) is x
        assert gf.nn.dropout(x, rate=0.0) is x


def test_dropout_same_seed_same_mask_in_new_session():
    x = np.arange(1, 401, dtype=np.float32)
    graph = gf.Graph()
    with graph.as_default():
        gf.set_random_seed(42)
        t = gf.placeholder(gf.float32, [400])
        y = gf.nn.dropout(t, keep_prob=0.5)
        with gf.Session(graph=graph) as sess:
            first, second = sess.run(y, {t: x}), sess.run(y, {t: x})
        with gf.Session(graph=graph) as sess:
            again = sess.run(y, {t: x})
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first != 0, second != 0)  # successive runs draw new masks

    def masks(op_seed):
        g = gf.Graph()
        with g.as_default():
            out = gf.nn.dropout(gf.constant(x), keep_prob=0.5, seed=op_seed)
            with gf.Session(graph=g) as sess:
                return sess.run(out) != 0
    np.testing.assert_array_equal(masks(7), masks(7))
    assert not np.array_equal(masks(7), masks(8))


def test_dropout_gradient_uses_the_mask():
    x = np.linspace(-1, 1, 300).astype(np.float64)
    x[10] = 0.0  # a kept zero input still passes gradient; the mask, not y / x, decides
    with gf.Graph().as_default() as g:
        t = gf.placeholder(gf.float64, [300])
        y = gf.nn.dropout(t, keep_prob=0.6, seed=3)
        mask = y.op.outputs[1]
        grad = gf.gradients(gf.reduce_sum(y * 3.0), t)[0]
        with gf.Session(graph=g) as sess:
            yv, mv, gv = sess.run([y, mask, grad], {t: x})
    np.testing.assert_allclose(yv, x * mv)
    np.testing.assert_allclose(gv, 3.0 * mv)
    assert set(np.unique(mv)) <= {0.0, 1 / 0.6}


def test_dropout_keep_prob_placeholder_and_noise_shape():
    x = np.ones((50, 4), np.float32)
    with gf.Graph().as_default() as g:
        t = gf.placeholder(gf.float32, [50, 4])
        keep = gf.placeholder(gf.float32, [])
        y = gf.nn.dropout(t, keep_prob=keep, noise_shape=[50, 1], seed=5)
        assert y.op.outputs[1].shape.as_list() == [50, 1]
        with gf.Session(graph=g) as sess:
            half = sess.run(y, {t: x, keep: 0.5})
            full = sess.run(y, {t: x, keep: 1.0})
            with pytest.raises(gf.errors.InvalidArgumentError, match="rate must be in"):
                sess.run(y, {t: x, keep: 0.0})
    assert np.all((half == 0).all(axis=1) | (half == 2).all(axis=1))  # whole rows dropped or kept
    np.testing.assert_array_equal(full, x)


def test_dropout_argument_errors():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [3])
        with pytest.raises(ValueError, match="exactly one"):
            gf.nn.dropout(x, keep_prob=0.5, rate=0.5)
        with pytest.raises(ValueError, match=r"keep_prob must be a scalar in \(0, 1\]"):
            gf.nn.dropout(x, keep_prob=1.5)
        with pytest.raises(ValueError, match="noise_shape"):
            gf.nn.dropout(x, keep_prob=0.5, noise_shape=[4])


@pytest.mark.parametrize("ids", [np.array([2, 0, 2], np.int32), np.array([[1, 3], [0, 0]], np.int64)])
def test_embedding_lookup(rng, ids):
    params = rng.standard_normal((4, 3))
    check_op(lambda p, i: gf.nn.embedding_lookup(p, i), [params, ids], lambda p, i: p[i])


@pytest.mark.parametrize("strategy", ["mod", "div"])
def test_embedding_lookup_sharded(rng, strategy):
    table = rng.standard_normal((7, 2))
    if strategy == "mod":
        shards = [table[0::3], table[1::3], table[2::3]]
    else:
        shards = [table[0:3], table[3:5], table[5:7]]
    ids = np.array([6, 0, 4, 3, 1], np.int32)
    (out,), _ = run_graph(lambda i: gf.nn.embedding_lookup([gf.constant(s) for s in shards], i,
                                                           partition_strategy=strategy), [ids])
    np.testing.assert_allclose(out, table[ids])


def test_embedding_lookup_max_norm():
    params = np.array([[3.0, 4.0], [0.3, 0.4]])
    (out,), _ = run_graph(lambda p: gf.nn.embedding_lookup(p, [0, 1], max_norm=1.0), [params])
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.3, 0.4]])


def test_embedding_lookup_out_of_range_id():
    with pytest.raises(gf.errors.InvalidArgumentError):
        run_graph(lambda p, i: gf.nn.embedding_lookup(p, i), [np.zeros((3, 2)), np.array([3], np.int32)])


def np_in_top_k(pred, targets, k):
    out = []
    for row, t in zip(pred, targets):
        out.append(0 <= t < len(row) and np.isfinite(row[t]) and np.sum(row > row[t]) < k)
    return np.array(out)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_in_top_k(rng, k):
    pred = rng.standard_normal((6, 4)).astype(np.float32)
    targets = rng.integers(0, 4, 6).astype(np.int32)
    check_op(lambda p, t: gf.nn.in_top_k(p, t, k), [pred, targets], lambda p, t: np_in_top_k(p, t, k), grad=False)


def test_in_top_k_ties_nonfinite_and_out_of_range():
    pred = np.array([[1, 2, 2, 0], [np.nan, 1, 2, 3], [1, 2, 3, 4], [5, 5, 5, 5]], np.float32)
    targets = np.array([1, 0, 7, 3], np.int32)
    (out,), _ = run_graph(lambda p, t: gf.nn.in_top_k(p, t, 1), [pred, targets])
    np.testing.assert_array_equal(out, [True, False, False, True])


@pytest.mark.parametrize("shape,k", [((6,), 3), ((3, 5), 2), ((2, 3, 4), 4), ((3, 5), 0)])
def test_top_k(rng, shape, k):
    x = rng.standard_normal(shape)

    def reference(a):
        order = np.argsort(-a, axis=-1, kind="stable")[..., :k]
        return [np.take_along_axis(a, order, -1), order.astype(np.int32)]
    check_op(lambda t: list(gf.nn.top_k(t, k)), [x], reference)


def test_top_k_ties_lower_index_first_and_int_input():
    x = np.array([[3, 1, 3, 2, 3]], np.int32)
    (values, indices), _ = run_graph(lambda t: list(gf.nn.top_k(t, k=4)), [x])
    np.testing.assert_array_equal(values, [[3, 3, 3, 2]])
    np.testing.assert_array_equal(indices, [[0, 2, 4, 3]])


def test_top_k_returns_values_indices_namedtuple():
    # TF1 scripts read tf.nn.top_k(x, k).indices / .values
    with gf.Graph().as_default():
        result = gf.nn.top_k(gf.constant([[1.0, 4.0, 2.0]]), 2)
        values, indices = result
        assert result.values is values and result.indices is indices
        with gf.Session() as sess:
            v, i = sess.run([result.values, result.indices])
    np.testing.assert_array_equal(v, [[4.0, 2.0]])
    np.testing.assert_array_equal(i, [[1, 2]])


def test_top_k_gradient_scatters_and_second_order(rng):
    x = rng.standard_normal((3, 5))
    check_op(lambda t: gf.gradients(gf.reduce_sum(gf.nn.top_k(t, 2)[0] ** 2), t)[0], [x],
             lambda a: np.where(a >= np.sort(a, -1)[:, -2:-1], 2 * a, 0.0))


def test_top_k_errors():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="at least k=4 columns"):
            gf.nn.top_k(gf.placeholder(gf.float32, [2, 3]), 4)
    with pytest.raises(gf.errors.InvalidArgumentError, match="at least k=4 columns"):
        run_graph(lambda t: list(gf.nn.top_k(t, 4)), [np.zeros((2, 3))], unknown_shapes=True)
