"""gf.linalg and the matrix ops: inverse, determinant, Cholesky, transpose, eye, trace, norm."""
import numpy as np
import pytest

import graphflow as gf
from graphflow import linalg
from graphflow.ops.linalg_ops import (cholesky, eye, matrix_determinant, matrix_inverse, matrix_transpose, norm,
                                      trace)
from tests.harness import check_op, run_graph

RNG = np.random.default_rng(3)


def _well_conditioned(*batch, n=3):
    return RNG.standard_normal(batch + (n, n)) + 3 * np.eye(n)


def _spd(*batch, n=3):
    a = RNG.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def test_namespace_exposes_tf_names():
    assert (linalg.inv, linalg.det, linalg.cholesky) == (matrix_inverse, matrix_determinant, cholesky)
    for name in ("matmul", "matrix_transpose", "eye", "trace", "norm"):
        assert callable(getattr(linalg, name))


def test_matrix_inverse_single_batched_and_adjoint():
    check_op(matrix_inverse, [_well_conditioned()], np.linalg.inv)
    check_op(matrix_inverse, [_well_conditioned(2).astype(np.float32)], np.linalg.inv, rtol=1e-4)
    check_op(lambda a: matrix_inverse(a, adjoint=True), [_well_conditioned(2)],
             lambda a: np.linalg.inv(np.swapaxes(a, -1, -2)))


def test_matrix_inverse_errors():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="MatrixInverse: input must be square matrices, got shape \\(2, 3\\)"):
            matrix_inverse(gf.placeholder(gf.float32, [2, 3]))
        with pytest.raises(ValueError, match="MatrixInverse: input must have rank >= 2"):
            matrix_inverse(gf.placeholder(gf.float32, [3]))
        with pytest.raises(TypeError, match="MatrixInverse needs float32 or float64 input, got int32"):
            matrix_inverse(gf.constant([[1, 0], [0, 1]]))
    with pytest.raises(gf.errors.InvalidArgumentError, match="MatrixInverse: Singular matrix"):
        run_graph(matrix_inverse, [np.ones((2, 2))])


def test_matrix_determinant_and_its_gradient():
    check_op(matrix_determinant, [_well_conditioned()], np.linalg.det)
    check_op(matrix_determinant, [_well_conditioned(2, 2, n=2)], np.linalg.det)
    values, tensors = run_graph(matrix_determinant, [np.array([[2.0, 1.0], [1.0, 3.0]], np.float32)])
    assert tensors[0].dtype == gf.float32 and values[0] == pytest.approx(5.0)
    with gf.Graph().as_default():
        assert matrix_determinant(gf.placeholder(gf.float64, [4, None, 3])).shape.as_list() == [4]


def test_cholesky_forward_and_tf_gradient():
    # the symmetrisation inside the graph makes the finite differences see what TF's symmetric gradient assumes
    def sym_chol(a):
        return cholesky(0.5 * (a + gf.transpose(a, [1, 0])))
    check_op(sym_chol, [_spd()], np.linalg.cholesky)
    check_op(lambda a: cholesky(0.5 * (a + gf.transpose(a, [0, 2, 1]))), [_spd(2, n=4)], np.linalg.cholesky)
    hand, _ = run_graph(cholesky, [np.array([[4.0, 2.0], [2.0, 5.0]])])
    np.testing.assert_allclose(hand[0], [[2.0, 0.0], [1.0, 2.0]])


def test_cholesky_rejects_indefinite():
    with pytest.raises(gf.errors.InvalidArgumentError, match="Cholesky: Matrix is not positive definite"):
        run_graph(cholesky, [np.array([[1.0, 2.0], [2.0, 1.0]])])


def test_matrix_transpose():
    x = RNG.standard_normal((2, 3, 4))
    values, tensors = run_graph(matrix_transpose, [x])
    np.testing.assert_array_equal(values[0], np.swapaxes(x, -1, -2))
    assert tensors[0].shape.as_list() == [2, 4, 3]
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="matrix_transpose needs a tensor of known rank >= 2"):
            matrix_transpose(gf.placeholder(gf.float32, [3]))


def test_eye_static_batched_and_dynamic():
    values, tensors = run_graph(lambda: [eye(3), eye(2, 4, dtype=gf.int32), eye(2, batch_shape=[3])], [])
    np.testing.assert_array_equal(values[0], np.eye(3))
    np.testing.assert_array_equal(values[1], np.eye(2, 4, dtype=np.int32))
    assert values[1].dtype == np.int32 and tensors[0].dtype == gf.float32
    np.testing.assert_array_equal(values[2], np.broadcast_to(np.eye(2), (3, 2, 2)))
    values, tensors = run_graph(lambda n: [eye(n), eye(n, 2, batch_shape=[2], dtype=gf.float64)],
                                [np.array(3, np.int32)])
    np.testing.assert_array_equal(values[0], np.eye(3))
    np.testing.assert_array_equal(values[1], np.broadcast_to(np.eye(3, 2), (2, 3, 2)))


def test_trace():
    check_op(trace, [RNG.standard_normal((3, 3))], np.trace)
    check_op(trace, [RNG.standard_normal((2, 3, 4))], lambda a: np.trace(a, axis1=-2, axis2=-1))
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="trace needs a tensor of rank >= 2"):
            trace(gf.placeholder(gf.float32, [3]))


@pytest.mark.parametrize("ord_", ["euclidean", "fro", 1, 2, np.inf, 3])
def test_vector_norms(ord_):
    x = RNG.standard_normal((3, 4)) + 0.1
    np_ord = 2 if ord_ in ("euclidean", "fro") else ord_
    check_op(lambda t: norm(t, ord=ord_, axis=1), [x], lambda a: np.linalg.norm(a, ord=np_ord, axis=1))
    check_op(lambda t: norm(t, ord=ord_, axis=0, keepdims=True), [x],
             lambda a: np.linalg.norm(a, ord=np_ord, axis=0, keepdims=True))
    check_op(lambda t: norm(t, ord=ord_), [x], lambda a: np.linalg.norm(a.reshape(-1), ord=np_ord))


@pytest.mark.parametrize("ord_", ["fro", 1, np.inf])
def test_matrix_norms(ord_):
    x = RNG.standard_normal((2, 3, 4)) + 0.1
    check_op(lambda t: norm(t, ord=ord_, axis=[-2, -1]), [x], lambda a: np.linalg.norm(a, ord=ord_, axis=(-2, -1)))
    check_op(lambda t: norm(t, ord=ord_, axis=(1, 2), keep_dims=True), [x],
             lambda a: np.linalg.norm(a, ord=ord_, axis=(1, 2), keepdims=True))


def test_norm_rejects_unsupported_orders():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [3, 3])
        with pytest.raises(ValueError, match="ord=2 is not supported for matrix norms"):
            norm(x, ord=2, axis=[0, 1])
        with pytest.raises(ValueError, match="ord=-1 is not supported for vector norms"):
            norm(x, ord=-1)
        with pytest.raises(ValueError, match="axis must be None, an int or a pair"):
            norm(x, axis=[0, 1, 2])
