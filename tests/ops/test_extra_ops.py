"""GatherNd, ScatterNd, Atan2, Cumprod and nn.l2_normalize: forward against numpy, shapes, gradients, errors."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.ops.gather_ops import gather_nd, scatter_nd
from graphflow.ops.linalg_ops import cumprod
from graphflow.ops.math_ops import atan2
from graphflow.ops.nn_ops import l2_normalize
from tests.harness import check_op, run_graph

RNG = np.random.default_rng(7)


def _gather_nd_ref(params, indices):
    return params[tuple(np.moveaxis(indices, -1, 0))]


def test_gather_nd_elements_and_slices():
    params = RNG.standard_normal((3, 4, 2)).astype(np.float32)
    elements = np.array([[0, 1, 1], [2, 3, 0], [0, 1, 1]], dtype=np.int32)  # a repeat: its gradients add up
    check_op(gather_nd, [params, elements], _gather_nd_ref)
    rows = np.array([[[2], [0]], [[1], [1]]], dtype=np.int64)
    check_op(gather_nd, [params, rows], _gather_nd_ref)


def test_gather_nd_matches_hand_example():
    values, _ = run_graph(lambda: gather_nd([["a0", "a1"], ["b0", "b1"]], [[1, 0], [0, 1]]), [])
    assert values[0].tolist() == [b"b0", b"a1"] or values[0].tolist() == ["b0", "a1"]


def test_gather_nd_static_shape_and_errors():
    with gf.Graph().as_default():
        params = gf.placeholder(gf.float32, [5, 6, 7])
        assert gather_nd(params, gf.placeholder(gf.int32, [2, 3, 2])).shape.as_list() == [2, 3, 7]
        assert gather_nd(params, gf.placeholder(gf.int32, [4, None])).shape.rank is None
        with pytest.raises(ValueError, match="GatherNd: index depth 4 exceeds the rank 3"):
            gather_nd(params, gf.placeholder(gf.int32, [2, 4]))
        with pytest.raises(TypeError, match="GatherNd: indices must be integers"):
            gather_nd(params, gf.placeholder(gf.float32, [2, 1]))
        with pytest.raises(ValueError, match="batch_dims"):
            gather_nd(params, [[0]], batch_dims=1)
    with pytest.raises(gf.errors.InvalidArgumentError, match="GatherNd.*index 3 is not in \\[0, 3\\)"):
        run_graph(gather_nd, [np.zeros((3, 2), np.float32), np.array([[3]], np.int32)])


def _scatter_nd_ref(shape):
    def ref(indices, updates):
        out = np.zeros(shape, updates.dtype)
        np.add.at(out, tuple(np.moveaxis(indices, -1, 0)), updates)
        return out
    return ref


def test_scatter_nd_sums_duplicates_and_scatters_slices():
    indices = np.array([[4], [3], [1], [7], [3]], dtype=np.int32)
    updates = RNG.standard_normal(5)
    check_op(lambda i, u: scatter_nd(i, u, [8]), [indices, updates], _scatter_nd_ref((8,)))
    slices = np.array([[0], [2]], dtype=np.int64)
    block = RNG.standard_normal((2, 3, 2)).astype(np.float32)
    check_op(lambda i, u: scatter_nd(i, u, np.array([4, 3, 2], np.int64)), [slices, block],
             _scatter_nd_ref((4, 3, 2)))
    values, _ = run_graph(lambda: scatter_nd([[1], [1]], [2.0, 5.0], [3]), [])
    np.testing.assert_array_equal(values[0], [0.0, 7.0, 0.0])


def test_scatter_nd_errors():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="ScatterNd: updates shape \\(3,\\) must be"):
            scatter_nd([[0], [1]], [1.0, 2.0, 3.0], [4])
        with pytest.raises(ValueError, match="index depth 2 exceeds the rank 1"):
            scatter_nd([[0, 1]], [1.0], [4])
    with pytest.raises(gf.errors.InvalidArgumentError, match="ScatterNd.*index 9 is not in \\[0, 4\\)"):
        run_graph(lambda i, u: scatter_nd(i, u, [4]), [np.array([[9]], np.int32), np.ones(1, np.float32)])


def test_atan2_all_quadrants_and_gradient():
    y = np.array([[1.0, -2.0, 0.5], [-0.3, 2.0, -1.5]])
    x = np.array([[2.0, 1.5, -1.0], [-0.7, -0.2, 0.8]])
    check_op(atan2, [y, x], np.arctan2)
    check_op(atan2, [y.astype(np.float32), np.float32(-1.25)], np.arctan2)  # broadcasting
    assert gf.atan2 is atan2


def test_atan2_rejects_integers():
    with gf.Graph().as_default():
        with pytest.raises(TypeError, match="Atan2 does not support dtype int32"):
            atan2(gf.constant([1]), gf.constant([2]))


def _cumprod_ref(axis, exclusive, reverse):
    def ref(x):
        y = np.flip(x, axis) if reverse else x
        out = np.cumprod(y, axis=axis)
        if exclusive:
            out = np.concatenate([np.ones_like(np.take(out, [0], axis)),
                                  np.take(out, np.arange(out.shape[axis] - 1), axis)], axis)
        return np.flip(out, axis) if reverse else out
    return ref


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumprod_variants(exclusive, reverse):
    x = RNG.uniform(0.5, 1.5, (3, 4)) * RNG.choice([-1.0, 1.0], (3, 4))  # nonzero: TF's gradient needs it
    for axis in (0, 1, -1):
        check_op(lambda t: cumprod(t, axis, exclusive=exclusive, reverse=reverse), [x],
                 _cumprod_ref(axis, exclusive, reverse))


def test_cumprod_hand_values_and_bad_axis():
    values, _ = run_graph(lambda: [cumprod([2.0, 3.0, 4.0]), cumprod([2.0, 3.0, 4.0], exclusive=True, reverse=True)],
                          [])
    np.testing.assert_array_equal(values[0], [2.0, 6.0, 24.0])
    np.testing.assert_array_equal(values[1], [12.0, 4.0, 1.0])
    assert gf.cumprod is cumprod
    with pytest.raises(gf.errors.InvalidArgumentError, match="Cumprod: axis 2 is out of range"):
        run_graph(lambda t: cumprod(t, 2), [np.ones((2, 2), np.float32)])


def test_l2_normalize_matches_tf_formula():
    x = RNG.standard_normal((3, 4))

    def ref(axis):
        axes = tuple(axis) if isinstance(axis, list) else axis
        return lambda a: a / np.sqrt(np.maximum(np.sum(a * a, axis=axes, keepdims=True), 1e-12))
    for axis in (None, 0, 1, [0, 1]):
        check_op(lambda t: l2_normalize(t, axis=axis), [x], ref(axis))
    check_op(lambda t: l2_normalize(t, dim=1), [x.astype(np.float32)], ref(1))
    assert gf.nn.l2_normalize is l2_normalize


def test_l2_normalize_zero_vector_stays_finite():
    values, _ = run_graph(lambda t: l2_normalize(t, axis=1, epsilon=1e-4), [np.array([[0.0, 0.0], [3.0, 4.0]])])
    np.testing.assert_allclose(values[0], [[0.0, 0.0], [0.6, 0.8]])
    values, _ = run_graph(lambda t: l2_normalize(t, epsilon=1.0), [np.array([0.3, 0.4])])
    np.testing.assert_allclose(values[0], [0.3, 0.4])  # squared norm 0.25 < epsilon: divide by sqrt(1)
