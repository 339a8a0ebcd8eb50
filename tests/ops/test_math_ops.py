"""Tests for elementwise math, casts, matmul/tensordot, argmax/argmin and Tensor operator overloads (tests.harness)."""
import math

import numpy as np
import pytest

import graphflow as gf
from graphflow.ops import math_ops
from tests.harness import check_gradients, check_op, check_static_matches, run_graph

RNG = np.random.default_rng(1234)


def _normal(*shape):
    return RNG.standard_normal(shape)


def _positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def _away_from_zero(*shape):
    return RNG.uniform(0.3, 2.0, shape) * RNG.choice([-1.0, 1.0], shape)


def _erf(x):
    return np.vectorize(math.erf)(x)


# (builder, input maker, numpy reference, differentiable)
UNARY = {
    "negative": (gf.negative, _normal, np.negative, True),
    "abs": (gf.abs, _away_from_zero, np.abs, True),
    "sign": (gf.sign, _away_from_zero, np.sign, False),
    "square": (gf.square, _normal, np.square, True),
    "sqrt": (gf.sqrt, _positive, np.sqrt, True),
    "rsqrt": (gf.rsqrt, _positive, lambda x: 1 / np.sqrt(x), True),
    "exp": (gf.exp, _normal, np.exp, True),
    "expm1": (gf.expm1, _normal, np.expm1, True),
    "log": (gf.log, _positive, np.log, True),
    "log1p": (gf.log1p, _positive, np.log1p, True),
    "sin": (gf.sin, _normal, np.sin, True),
    "cos": (gf.cos, _normal, np.cos, True),
    "tan": (gf.tan, lambda *s: RNG.uniform(-1.2, 1.2, s), np.tan, True),
    "asin": (gf.asin, lambda *s: RNG.uniform(-0.9, 0.9, s), np.arcsin, True),
    "acos": (gf.acos, lambda *s: RNG.uniform(-0.9, 0.9, s), np.arccos, True),
    "atan": (gf.atan, _normal, np.arctan, True),
    "sinh": (gf.sinh, _normal, np.sinh, True),
    "cosh": (gf.cosh, _normal, np.cosh, True),
    "tanh": (gf.tanh, _normal, np.tanh, True),
    "sigmoid": (gf.sigmoid, _normal, lambda x: 1 / (1 + np.exp(-x)), True),
    "log_sigmoid": (gf.log_sigmoid, _normal, lambda x: -np.log1p(np.exp(-x)), True),
    "reciprocal": (gf.reciprocal, _away_from_zero, np.reciprocal, True),
    "erf": (gf.erf, _normal, _erf, True),
    "floor": (gf.floor, _normal, np.floor, False),
    "ceil": (gf.ceil, _normal, np.ceil, False),
    "round": (gf.round, lambda *s: np.array([-2.5, -1.5, -0.4, 0.5, 1.5, 2.6]).reshape(2, 3), np.round, False),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(2, 3), ()])
def test_unary(name, shape):
    build, make, reference, differentiable = UNARY[name]
    x = make(*shape) if name != "round" or shape else np.float64(-2.5)
    check_op(lambda a: build(a), [x], reference, grad=differentiable)


@pytest.mark.parametrize("name", ["negative", "abs", "sign", "square", "sqrt", "exp", "log", "tanh", "sigmoid"])
def test_unary_float32(name):
    build, make, reference, _ = UNARY[name]
    x = make(4).astype(np.float32)
    check_op(lambda a: build(a), [x], lambda a: reference(a.astype(np.float64)).astype(np.float32), grad=False)


@pytest.mark.parametrize("build,reference", [(gf.negative, np.negative), (gf.abs, np.abs), (gf.sign, np.sign),
                                             (gf.square, np.square)])
def test_unary_integers(build, reference):
    x = np.array([-3, 0, 2, 7], dtype=np.int32)
    check_op(lambda a: build(a), [x], reference, grad=False)


def test_sigmoid_and_log_sigmoid_stable_at_extremes():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        (s, ls, ds), _ = run_graph(lambda a: [gf.sigmoid(a), gf.log_sigmoid(a), gf.gradients(gf.sigmoid(a), a)[0]],
                                   [x])
    np.testing.assert_allclose(s, [0.0, 1.9287e-22, 0.5, 1.0, 1.0], rtol=1e-3)
    np.testing.assert_allclose(ls, [-1000.0, -50.0, -np.log(2), 0.0, 0.0], atol=1e-6)
    assert np.all(np.isfinite(ds))
    np.testing.assert_allclose(ds[2], 0.25)


def test_predicates():
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0])
    check_op(gf.is_nan, [x], np.isnan, grad=False)
    check_op(gf.is_inf, [x], np.isinf, grad=False)
    check_op(gf.is_finite, [x], np.isfinite, grad=False)


# ---------------------------------------------------------------------------------------------------------------------
# Binary ops with broadcasting
# ---------------------------------------------------------------------------------------------------------------------
SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (2, 3)), ((3, 1), (1, 3)), ((2, 3), ())]

BINARY = {
    "add": (gf.add, np.add, _normal, _normal),
    "subtract": (gf.subtract, np.subtract, _normal, _normal),
    "multiply": (gf.multiply, np.multiply, _normal, _normal),
    "divide": (gf.divide, np.true_divide, _normal, _away_from_zero),
    "truediv": (gf.truediv, np.true_divide, _normal, _away_from_zero),
    "realdiv": (gf.realdiv, np.true_divide, _normal, _away_from_zero),
    "pow": (gf.pow, np.power, _positive, _normal),
    "maximum": (gf.maximum, np.maximum, _normal, _normal),
    "minimum": (gf.minimum, np.minimum, _normal, _normal),
    "squared_difference": (gf.squared_difference, lambda a, b: (a - b) ** 2, _normal, _normal),
    "scalar_mul": (gf.scalar_mul, np.multiply, _normal, _normal),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary_differentiable(name, shapes):
    build, reference, make_a, make_b = BINARY[name]
    a, b = make_a(*shapes[0]), make_b(*shapes[1])
    check_op(lambda x, y: build(x, y), [a, b], reference)


@pytest.mark.parametrize("build,reference", [(gf.floordiv, np.floor_divide), (gf.floor_div, np.floor_divide),
                                             (gf.mod, np.mod), (gf.floormod, np.mod), (gf.div, np.floor_divide)])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_floor_division_and_mod(build, reference, dtype):
    a = np.array([[7, -7, 6, -1], [0, 5, -9, 13]], dtype=dtype)
    b = np.array([2, 3, -4, -5], dtype=dtype)
    check_op(lambda x, y: build(x, y), [a, b], reference, grad=False)


def test_float_floordiv_mod_and_div():
    a, b = _normal(3, 4) * 5, _away_from_zero(4)
    check_op(gf.floordiv, [a, b], np.floor_divide, grad=False)
    check_op(gf.mod, [a, b], np.mod, grad=False)
    check_op(gf.div, [a, b], np.true_divide)


@pytest.mark.parametrize("dtype,expected", [(np.int32, np.float64), (np.int64, np.float64), (np.int16, np.float32),
                                            (np.int8, np.float32)])
def test_truediv_of_integers_is_floating(dtype, expected):
    a, b = np.array([7, -3, 1], dtype=dtype), np.array([2, 2, 3], dtype=dtype)
    check_op(gf.truediv, [a, b], lambda x, y: (x / y).astype(expected), grad=False)


def test_integer_pow_and_binary_integers():
    a, b = np.array([2, 3, -4], dtype=np.int32), np.array([3, 2, 1], dtype=np.int32)
    for build, reference in [(gf.pow, np.power), (gf.add, np.add), (gf.multiply, np.multiply),
                             (gf.maximum, np.maximum), (gf.minimum, np.minimum), (gf.subtract, np.subtract)]:
        check_op(build, [a, b], reference, grad=False)


def test_pow_gradient_with_respect_to_negative_base():
    a, b = np.array([-1.5, -0.5, 2.0]), np.array([2.0, 3.0, 2.0])
    check_op(gf.pow, [a, b], np.power, grad_inputs=[0])


@pytest.mark.parametrize("build,reference", [(gf.equal, np.equal), (gf.not_equal, np.not_equal), (gf.less, np.less),
                                             (gf.less_equal, np.less_equal), (gf.greater, np.greater),
                                             (gf.greater_equal, np.greater_equal)])
def test_comparisons(build, reference):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = np.array([2.0, 2.0, 2.0])
    check_op(build, [a, b], reference, grad=False)
    check_op(build, [a.astype(np.int64), b.astype(np.int64)], reference, grad=False)


@pytest.mark.parametrize("build,reference", [(gf.logical_and, np.logical_and), (gf.logical_or, np.logical_or),
                                             (gf.logical_xor, np.logical_xor)])
def test_logical_binary(build, reference):
    a = np.array([[True, True, False, False]])
    b = np.array([[True], [False]])
    check_op(build, [a, b], reference, grad=False)


def test_logical_not_and_type_errors():
    check_op(gf.logical_not, [np.array([True, False])], np.logical_not, grad=False)
    with gf.Graph().as_default():
        with pytest.raises(TypeError, match="LogicalAnd"):
            gf.logical_and(gf.constant([1.0]), gf.constant([0.0]))
        with pytest.raises(TypeError, match="Sqrt"):
            gf.sqrt(gf.constant([4], dtype=gf.int32))


def test_mismatched_dtypes_and_shapes_are_errors():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [3, 4])
        with pytest.raises(TypeError, match="float32.*int32|int32.*float32"):
            gf.add(x, gf.constant([1, 2, 3, 4], dtype=gf.int32))
        with pytest.raises(ValueError, match=r"\(3, 4\).*\(3,\)"):
            gf.multiply(x, gf.placeholder(gf.float32, [3]))


def test_add_n_and_accumulate_n():
    xs = [_normal(2, 3) for _ in range(4)]
    check_op(lambda *t: gf.add_n(list(t)), xs, lambda *a: sum(a))
    check_op(lambda *t: gf.accumulate_n(list(t)), xs[:2], lambda *a: sum(a))
    check_op(lambda a: gf.add_n([a]), xs[:1], lambda a: a)
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="add_n"):
            gf.add_n([])
        with pytest.raises(ValueError, match="AddN"):
            gf.add_n([gf.placeholder(gf.float32, [2]), gf.placeholder(gf.float32, [3])])


def test_clip_by_value():
    x = np.array([[-3.0, -0.5, 0.2], [0.9, 1.7, 4.0]])
    check_op(lambda a: gf.clip_by_value(a, -1.0, 1.0), [x], lambda a: np.clip(a, -1, 1))
    (g,), _ = run_graph(lambda a: gf.gradients(gf.clip_by_value(a, -1.0, 1.0), a), [x])
    np.testing.assert_array_equal(g, [[0, 1, 1], [1, 0, 0]])


def test_cast():
    x = np.array([-1.7, -0.2, 0.0, 2.9])
    check_op(lambda a: gf.cast(a, gf.int32), [x], lambda a: a.astype(np.int32), grad=False)
    check_op(lambda a: gf.cast(a, gf.float32), [x], lambda a: a.astype(np.float32), grad=False)
    check_op(lambda a: gf.to_float(a), [np.array([1, 2], dtype=np.int64)], lambda a: a.astype(np.float32), grad=False)
    check_op(lambda a: gf.to_int32(a), [x], lambda a: a.astype(np.int32), grad=False)
    check_op(lambda a: gf.to_int64(a), [x], lambda a: a.astype(np.int64), grad=False)
    check_op(lambda a: gf.cast(a, gf.float64), [np.array([True, False])], lambda a: a.astype(np.float64), grad=False)
    # float → float casts pass the gradient through; the double cast keeps the check in float64
    check_op(lambda a: gf.cast(gf.cast(a, gf.float32), gf.float64) * a, [x],
             lambda a: a.astype(np.float32).astype(np.float64) * a, grad=False)
    (g,), _ = run_graph(lambda a: gf.gradients(gf.cast(a, gf.float32), a), [x])
    np.testing.assert_array_equal(g, np.ones(4))
    with gf.Graph().as_default():
        t = gf.placeholder(gf.float32, [2])
        assert gf.cast(t, gf.float32) is t


# ---------------------------------------------------------------------------------------------------------------------
# matmul, tensordot, argmax/argmin, cumsum, count_nonzero
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_matmul_transposes(ta, tb):
    a = _normal(4, 3) if ta else _normal(3, 4)
    b = _normal(2, 4) if tb else _normal(4, 2)
    check_op(lambda x, y: gf.matmul(x, y, transpose_a=ta, transpose_b=tb), [a, b],
             lambda x, y: (x.T if ta else x) @ (y.T if tb else y))


@pytest.mark.parametrize("a_shape,b_shape", [((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
                                             ((2, 3, 4), (2, 4, 2))], ids=str)
@pytest.mark.parametrize("adj", [(False, False), (True, False), (False, True), (True, True)], ids=str)
def test_batched_matmul_broadcasting(a_shape, b_shape, adj):
    ta, tb = adj
    swap = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    a, b = _normal(*a_shape), _normal(*b_shape)
    a = swap(a).copy() if ta else a
    b = swap(b).copy() if tb else b
    check_op(lambda x, y: gf.matmul(x, y, adjoint_a=ta, adjoint_b=tb), [a, b],
             lambda x, y: (swap(x) if ta else x) @ (swap(y) if tb else y))


def test_matmul_errors_name_the_dimensions():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="inner dimensions"):
            gf.matmul(gf.placeholder(gf.float32, [2, 3]), gf.placeholder(gf.float32, [4, 5]))
        with pytest.raises(TypeError, match="dtypes differ"):
            gf.matmul(gf.placeholder(gf.float32, [2, 3]), gf.placeholder(gf.float64, [3, 5]))


@pytest.mark.parametrize("a_shape,b_shape,axes", [((3, 4), (4, 5), 1), ((2, 3, 4), (3, 4, 5), 2),
                                                  ((2, 3, 4), (4, 3), [[1, 2], [1, 0]]), ((3,), (2,), 0),
                                                  ((2, 3, 4), (5, 2), [[0], [1]])], ids=str)
def test_tensordot(a_shape, b_shape, axes):
    a, b = _normal(*a_shape), _normal(*b_shape)
    build = lambda x, y: gf.tensordot(x, y, axes)  # noqa: E731
    # tensordot needs static shapes, so the harness' unknown-shape rerun does not apply
    values, tensors = run_graph(build, [a, b])
    check_static_matches(tensors, values)
    np.testing.assert_allclose(values[0], np.tensordot(a, b, axes))
    check_gradients(build, [a, b])
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="tensordot"):
            gf.tensordot(gf.placeholder(gf.float32, None), gf.placeholder(gf.float32, [2]), 1)


@pytest.mark.parametrize("fn,reference", [(gf.argmax, np.argmax), (gf.argmin, np.argmin)])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_argmax_argmin(fn, reference, axis):
    x = _normal(3, 5)
    check_op(lambda a: fn(a, axis=axis), [x], lambda a: reference(a, axis=axis).astype(np.int64), grad=False)
    check_op(lambda a: fn(a, axis=axis, output_type=gf.int32), [x.astype(np.float32)],
             lambda a: reference(a, axis=axis).astype(np.int32), grad=False)


def test_argmax_defaults_and_ties():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    check_op(lambda a: gf.argmax(a, 1), [x], lambda a: np.array([1, 0]), grad=False)
    check_op(lambda a: gf.argmin(a), [x], lambda a: np.array([0, 1, 1]), grad=False)
    check_op(lambda a: gf.argmax(a, dimension=1), [x], lambda a: np.array([1, 0]), grad=False)
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="ArgMax"):
            gf.argmax(gf.placeholder(gf.float32, [2, 3]), axis=2)


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum(exclusive, reverse):
    x = _normal(3, 4)

    def reference(a, axis=1):
        y = np.flip(a, axis) if reverse else a
        out = np.cumsum(y, axis)
        if exclusive:
            out = np.concatenate([np.zeros_like(out[:, :1]), out[:, :-1]], axis)
        return np.flip(out, axis) if reverse else out
    check_op(lambda a: gf.cumsum(a, axis=1, exclusive=exclusive, reverse=reverse), [x], reference)


def test_count_nonzero():
    x = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    check_op(lambda a: gf.count_nonzero(a), [x], lambda a: np.int64(3), grad=False)
    check_op(lambda a: gf.count_nonzero(a, axis=1, keepdims=True), [x], lambda a: np.array([[2], [1]]), grad=False)


# ---------------------------------------------------------------------------------------------------------------------
# Operator overloads
# ---------------------------------------------------------------------------------------------------------------------
OVERLOADS = {
    "add": (lambda x, y: x + y, np.add),
    "sub": (lambda x, y: x - y, np.subtract),
    "mul": (lambda x, y: x * y, np.multiply),
    "truediv": (lambda x, y: x / y, np.true_divide),
    "pow": (lambda x, y: x ** y, np.power),
}


@pytest.mark.parametrize("name", sorted(OVERLOADS))
def test_overloads_tensor_tensor_scalar_and_reflected(name):
    op, reference = OVERLOADS[name]
    x, arr = _positive(2, 3), _positive(3)
    check_op(lambda a, b: op(a, b), [x, arr], reference)
    check_op(lambda a: op(a, 1.5), [x], lambda a: reference(a, 1.5))
    check_op(lambda a: op(1.5, a), [x], lambda a: reference(1.5, a))
    check_op(lambda a: op(arr, a), [x], lambda a: reference(arr, a))  # numpy array on the left defers to Tensor
    check_op(lambda a: op(a, arr), [x], lambda a: reference(a, arr))


def test_integer_overloads_floordiv_mod():
    x = np.array([7, -7, 9], dtype=np.int32)
    check_op(lambda a: a // 2, [x], lambda a: a // 2, grad=False)
    check_op(lambda a: 20 // a, [x], lambda a: 20 // a, grad=False)
    check_op(lambda a: a % 4, [x], lambda a: a % 4, grad=False)
    check_op(lambda a: 10 % a, [x], lambda a: 10 % a, grad=False)
    check_op(lambda a: np.array([3, 3, 3], dtype=np.int32) % a, [x], lambda a: 3 % a, grad=False)
    check_op(lambda a: a / 2, [x], lambda a: a / 2, grad=False)


def test_matmul_overload_and_reflected():
    a, b = _normal(3, 4), _normal(4, 2)
    check_op(lambda x, y: x @ y, [a, b], lambda x, y: x @ y)
    check_op(lambda y: a @ y, [b], lambda y: a @ y)


def test_unary_overloads_and_comparisons():
    x = _away_from_zero(2, 3)
    check_op(lambda a: -a, [x], np.negative)
    check_op(lambda a: abs(a), [x], np.abs)
    for op, reference in [(lambda a, b: a < b, np.less), (lambda a, b: a <= b, np.less_equal),
                          (lambda a, b: a > b, np.greater), (lambda a, b: a >= b, np.greater_equal)]:
        check_op(lambda a: op(a, 0.5), [x], lambda a: reference(a, 0.5), grad=False)
        check_op(lambda a: op(0.5, a), [x], lambda a: reference(0.5, a), grad=False)
    b = np.array([True, False])
    check_op(lambda p, q: (p & q, p | q, p ^ q, ~p), [b, b[::-1].copy()],
             lambda p, q: (p & q, p | q, p ^ q, ~p), grad=False)


def test_scalar_operand_adopts_tensor_dtype():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [2])
        assert (x + 1).dtype == gf.float32
        assert (2 * x).dtype == gf.float32
        i = gf.placeholder(gf.int32, [2])
        assert (i * 3).dtype == gf.int32
        assert (i / 2).dtype == gf.float64


# ---------------------------------------------------------------------------------------------------------------------
# Gradients of broadcasting ops with unknown static shapes (the BroadcastGradientArgs path)
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_broadcast_gradient_with_unknown_shapes(shapes):
    a, b = _normal(*shapes[0]), _normal(*shapes[1])
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, None)
        y = gf.placeholder(gf.float64, [None] * b.ndim)
        dx, dy = gf.gradients(gf.reduce_sum(x * y + x - y), [x, y])
        with gf.Session() as sess:
            gx, gy = sess.run([dx, dy], {x: a, y: b})
    ones = np.ones(np.broadcast_shapes(a.shape, b.shape))
    assert gx.shape == a.shape and gy.shape == b.shape
    np.testing.assert_allclose(gx, _sum_to(ones * (b + 1), a.shape))
    np.testing.assert_allclose(gy, _sum_to(ones * (a - 1), b.shape))


# (x's fed shape, y's shape, BroadcastGradientArgs ops expected): x has an unknown batch size and y a known shape.
# Axes are fixed at graph-build time unless a side's shape is partly unknown and not provably x's own.
PARTLY_KNOWN = [((5, 4, 3), (3,), 0), ((5, 4, 3), (4, 1), 0), ((5, 4, 3), (1, 1, 3), 0), ((5, 3), (1, 3), 0),
                ((2, 1, 3), (4, 1), 1), ((5, 4, 3), (5, 4, 3), 1)]


@pytest.mark.parametrize("x_shape, y_shape, dynamic", PARTLY_KNOWN, ids=str)
def test_broadcast_gradient_with_unknown_batch_size(x_shape, y_shape, dynamic):
    a, b = _normal(*x_shape), _normal(*y_shape)
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [None, *x_shape[1:]])
        y = gf.placeholder(gf.float64, y_shape)
        dx, dy = gf.gradients(gf.reduce_sum(x * y), [x, y])
        with gf.Session() as sess:
            gx, gy = sess.run([dx, dy], {x: a, y: b})
    assert [op.type for op in graph.get_operations()].count("BroadcastGradientArgs") == dynamic
    ones = np.ones(np.broadcast_shapes(a.shape, b.shape))
    assert gx.shape == a.shape and gy.shape == b.shape
    np.testing.assert_allclose(gx, _sum_to(ones * b, a.shape))
    np.testing.assert_allclose(gy, _sum_to(ones * a, b.shape))


def test_bias_gradient_sums_once_with_constant_axes():
    # activations + bias: the activations' gradient is dy itself, and the bias's a Sum over fixed leading axes
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [None, 6, 4])
        bias = gf.placeholder(gf.float64, [4])
        dx, dbias = gf.gradients(gf.reduce_sum(gf.square(x + bias)), [x, bias])
        a, b = _normal(3, 6, 4), _normal(4)
        sums = [op for op in graph.get_operations() if op.type == "Sum" and op.name.startswith("gradients")]
        with gf.Session() as sess:
            gx, gb, axes = sess.run([dx, dbias, sums[0].inputs[1]], {x: a, bias: b})
    assert len(sums) == 1 and sums[0].inputs[1].op.type == "Const" and axes.tolist() == [0, 1]
    np.testing.assert_allclose(gx, 2 * (a + b))
    np.testing.assert_allclose(gb, (2 * (a + b)).sum(axis=(0, 1)))


def _sum_to(g, shape):
    """Independent numpy undo of broadcasting: sum leading axes, then axes where `shape` has 1."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def test_every_public_math_name_exists_at_top_level():
    missing = [name for name in math_ops.__all__ if not hasattr(gf, name)]
    assert not missing
