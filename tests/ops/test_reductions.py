"""Tests for reductions (sum, mean, max, min, prod, any, all, logsumexp, variance, std) over every axis form."""
import numpy as np
import pytest

import graphflow as gf
from tests.harness import check_op, run_graph

RNG = np.random.default_rng(99)

AXES = [None, 0, 1, -1, [0, 2], [-1, 0], [], (1, 2)]

FLOAT_REDUCTIONS = {
    "reduce_sum": (gf.reduce_sum, np.sum),
    "reduce_mean": (gf.reduce_mean, np.mean),
    "reduce_max": (gf.reduce_max, np.max),
    "reduce_min": (gf.reduce_min, np.min),
    "reduce_prod": (gf.reduce_prod, np.prod),
    "reduce_logsumexp": (gf.reduce_logsumexp,
                         lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
    "reduce_variance": (gf.reduce_variance, np.var),
    "reduce_std": (gf.reduce_std, np.std),
}


def _np_axis(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


@pytest.mark.parametrize("name", sorted(FLOAT_REDUCTIONS))
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_float_reductions(name, axis, keepdims):
    build, reference = FLOAT_REDUCTIONS[name]
    # values away from zero keep Prod's gradient (prod / x) well conditioned; no ties for Max/Min
    x = RNG.uniform(0.5, 1.5, (2, 3, 4)) * RNG.choice([-1.0, 1.0], (2, 3, 4))
    # std over no axes is sqrt(0), whose derivative is infinite (NaN in TF too): only its value is checked
    differentiable = not (name == "reduce_std" and axis == [])
    check_op(lambda a: build(a, axis=axis, keepdims=keepdims), [x],
             lambda a: reference(a, axis=_np_axis(axis), keepdims=keepdims), grad=differentiable)


@pytest.mark.parametrize("name", ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod"])
def test_reductions_of_scalars_and_vectors(name):
    build, reference = FLOAT_REDUCTIONS[name]
    check_op(lambda a: build(a), [np.float64(1.5)], lambda a: reference(a))
    check_op(lambda a: build(a, axis=0), [np.array([0.7, -1.2, 2.0])], lambda a: reference(a, axis=0))


@pytest.mark.parametrize("build,reference", [(gf.reduce_sum, np.sum), (gf.reduce_max, np.max),
                                             (gf.reduce_min, np.min), (gf.reduce_prod, np.prod)])
def test_integer_reductions_keep_dtype(build, reference):
    x = np.array([[1, -2, 3], [4, 5, -6]], dtype=np.int32)
    for axis in (None, 0, 1):
        check_op(lambda a: build(a, axis=axis), [x], lambda a: reference(a, axis=axis).astype(np.int32), grad=False)


def test_integer_mean_truncates_like_tf():
    x = np.array([[1, 2], [4, 4]], dtype=np.int32)
    check_op(lambda a: gf.reduce_mean(a, axis=1), [x], lambda a: np.array([1, 4], dtype=np.int32), grad=False)
    check_op(lambda a: gf.reduce_mean(a), [x], lambda a: np.int32(2), grad=False)


@pytest.mark.parametrize("build,reference", [(gf.reduce_any, np.any), (gf.reduce_all, np.all)])
@pytest.mark.parametrize("axis", [None, 0, -1, [0, 1]], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_boolean_reductions(build, reference, axis, keepdims):
    x = np.array([[True, False, True], [True, True, True]])
    check_op(lambda a: build(a, axis=axis, keepdims=keepdims), [x],
             lambda a: reference(a, axis=_np_axis(axis), keepdims=keepdims), grad=False)


def test_tf1_argument_names():
    x = RNG.standard_normal((3, 4))
    check_op(lambda a: gf.reduce_sum(a, reduction_indices=1, keep_dims=True), [x],
             lambda a: a.sum(axis=1, keepdims=True))
    check_op(lambda a: gf.reduce_mean(a, reduction_indices=[0]), [x], lambda a: a.mean(axis=0))


def test_axis_from_a_tensor():
    x = RNG.standard_normal((3, 4))
    graph = gf.Graph()
    with graph.as_default():
        a = gf.placeholder(gf.float64, [3, 4])
        axis = gf.placeholder(gf.int32, [])
        total = gf.reduce_sum(a, axis=axis)
        kept = gf.reduce_max(a, axis=axis, keepdims=True)
        assert total.shape.rank is None and kept.shape.as_list() == [None, None]
        grad, = gf.gradients(gf.reduce_sum(kept * 2.0), a)
        with gf.Session() as sess:
            for ax in (0, 1, -1):
                got_total, got_kept, got_grad = sess.run([total, kept, grad], {a: x, axis: ax})
                np.testing.assert_allclose(got_total, x.sum(axis=ax))
                np.testing.assert_allclose(got_kept, x.max(axis=ax, keepdims=True))
                np.testing.assert_allclose(got_grad, 2.0 * (x == x.max(axis=ax, keepdims=True)))


def test_logsumexp_is_stable_for_large_inputs():
    x = np.array([[1000.0, 1000.0, -1000.0], [-1000.0, -1001.0, -1002.0]])
    expected = np.array([1000.0 + np.log(2.0), -1000.0 + np.log(1 + np.exp(-1) + np.exp(-2))])
    check_op(lambda a: gf.reduce_logsumexp(a, axis=1), [x], lambda a: expected)
    (total, grad), _ = run_graph(lambda a: [gf.reduce_logsumexp(a), gf.gradients(gf.reduce_logsumexp(a), a)[0]],
                                 [x.astype(np.float32)])
    np.testing.assert_allclose(total, 1000.0 + np.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(grad, [[0.5, 0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)


def test_max_gradient_is_shared_among_ties():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])
    (g,), _ = run_graph(lambda a: gf.gradients(gf.reduce_max(a, axis=1), a), [x])
    np.testing.assert_allclose(g, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    (g,), _ = run_graph(lambda a: gf.gradients(gf.reduce_min(a), a), [np.array([2.0, 1.0, 1.0, 1.0])])
    np.testing.assert_allclose(g, [0.0, 1 / 3, 1 / 3, 1 / 3])


def test_out_of_range_axis_is_an_error_naming_it():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [2, 3])
        with pytest.raises(ValueError, match="axis 2"):
            gf.reduce_sum(x, axis=2)
        with pytest.raises(ValueError, match="axis -3"):
            gf.reduce_mean(x, axis=-3)
        with pytest.raises(TypeError, match="Any"):
            gf.reduce_any(x)
        with pytest.raises(TypeError, match="integers"):
            gf.reduce_sum(x, axis=gf.constant(1.0))


def test_static_shapes():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [2, None, 4])
        assert gf.reduce_sum(x, axis=1).shape.as_list() == [2, 4]
        assert gf.reduce_sum(x, axis=[0, -1], keepdims=True).shape.as_list() == [1, None, 1]
        assert gf.reduce_max(x).shape.as_list() == []
        unknown = gf.placeholder(gf.float32, None)
        assert gf.reduce_sum(unknown, axis=0).shape.rank is None


def test_logsumexp_takes_reduction_indices_and_all_minus_inf_slices():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    (total,), _ = run_graph(lambda a: [gf.reduce_logsumexp(a, reduction_indices=1)], [x])
    np.testing.assert_allclose(total, np.log(np.exp(x).sum(axis=1)))
    (kept,), _ = run_graph(lambda a: [gf.reduce_logsumexp(a, reduction_indices=[0], keep_dims=True)], [x])
    np.testing.assert_allclose(kept, np.log(np.exp(x).sum(axis=0, keepdims=True)))
    y = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for the all -inf row
        (out,), _ = run_graph(lambda a: [gf.reduce_logsumexp(a, axis=1)], [y])
    np.testing.assert_array_equal(out, [-np.inf, 0.0])  # log(0) and log(1), no NaN
