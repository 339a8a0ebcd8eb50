"""Tensor.__getitem__ against numpy basic indexing: values, static shapes, gradients and error paths."""
import numpy as np
import pytest

import graphflow as gf
from tests.harness import check_op

A = np.random.default_rng(4).standard_normal((4, 5, 3))

# numpy basic-indexing expressions on a (4, 5, 3) array, written once and applied to both numpy and graphflow
KEYS = [
    np.s_[1],
    np.s_[-1],
    np.s_[1, 2],
    np.s_[-2, -1, 0],
    np.s_[1:3],
    np.s_[:, 1:4:2],
    np.s_[::2, ::-1],
    np.s_[::-2, 3:0:-1, -1],
    np.s_[-3:],
    np.s_[:-1, :, 1:],
    np.s_[10:],
    np.s_[-10:2],
    np.s_[None],
    np.s_[:, None, 1],
    np.s_[..., 1],
    np.s_[1, ...],
    np.s_[..., None],
    np.s_[None, ..., ::-1, None],
    np.s_[2, None, ..., 1:3],
    np.s_[...],
    np.s_[:, :, :],
    np.s_[3:1],
]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_getitem_matches_numpy(key):
    check_op(lambda x: x[key], [A], lambda x: x[key])


def test_tensor_scalar_indices():
    i = np.array(2, np.int32)
    j = np.array(-1, np.int64)
    check_op(lambda x, a, b: x[a, 1:, b], [A, i, j], lambda x, a, b: x[a, 1:, b])


def test_tensor_slice_bounds():
    n = np.array(3, np.int32)
    check_op(lambda x, k: x[1:k, ::-1], [A, n], lambda x, k: x[1:k, ::-1])


def test_static_shapes():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [None, 5, 3])
        assert x[0].shape.as_list() == [5, 3]
        assert x[:, 1:4:2].shape.as_list() == [None, 2, 3]
        assert x[..., None, 0].shape.as_list() == [None, 5, 1]
        assert x[gf.newaxis, :, -1].shape.as_list() == [1, None, 3]
        assert x[gf.placeholder(gf.int32, [])].shape.as_list() == [5, 3]
        y = gf.placeholder(gf.float32, None)
        assert y[0].shape.rank is None


def test_iteration_uses_getitem():
    with gf.Graph().as_default():
        x = gf.constant(A)
        rows = list(x)
        with gf.Session() as sess:
            values = sess.run(rows)
    assert len(values) == 4
    for v, r in zip(values, A):
        np.testing.assert_array_equal(v, r)


def test_hessian_uses_flat_indexing():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float64, [3])
        h = gf.hessians(gf.reduce_sum(x * x * x), x)[0]
        with gf.Session() as sess:
            value = sess.run(h, {x: np.array([1.0, 2.0, 3.0])})
    np.testing.assert_allclose(value, np.diag([6.0, 12.0, 18.0]))


def test_second_order_gradient_through_slice():
    # d/dx of sum((x[1:] * 2)^2) = 8 x on x[1:], and its Hessian diagonal is 8 there
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float64, [3])
        g = gf.gradients(gf.reduce_sum(gf.square(x[1:] * 2.0)), x)[0]
        gg = gf.gradients(gf.reduce_sum(g), x)[0]
        with gf.Session() as sess:
            gv, ggv = sess.run([g, gg], {x: np.array([1.0, 2.0, 3.0])})
    np.testing.assert_allclose(gv, [0.0, 16.0, 24.0])
    np.testing.assert_allclose(ggv, [0.0, 8.0, 8.0])


@pytest.mark.parametrize("key,error,pattern", [
    (np.s_[[0, 1]], TypeError, "integers, slices"),
    (np.s_[1.5], TypeError, "integers, slices"),
    (np.s_[True], TypeError, "bool"),
    (np.s_[::0], ValueError, "step cannot be zero"),
    (np.s_[0, 0, 0, 0], ValueError, "too many indices"),
    (np.s_[..., 0, ...], ValueError, "only one ellipsis"),
    (np.s_[4], ValueError, "index 4 is out of bounds"),
])
def test_index_errors(key, error, pattern):
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [4, 5, 3])
        with pytest.raises(error, match=pattern):
            x[key]


def test_float_tensor_index_is_rejected():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [4])
        with pytest.raises(TypeError, match="integer scalar"):
            x[gf.constant(1.0)]


def test_runtime_out_of_range_index():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [None])
        y = x[5]
        with gf.Session() as sess:
            with pytest.raises(gf.errors.InvalidArgumentError, match="StridedSlice"):
                sess.run(y, {x: np.zeros(3, np.float32)})
