"""MaxPool/AvgPool ops and their gradient ops: values against direct loops, TF's tie and padding rules, errors."""
import itertools

import numpy as np
import pytest

import graphflow as gf
from graphflow.ops.pool_ops import avg_pool, avg_pool2d, max_pool, max_pool2d
from tests.harness import check_op, run_graph

RNG = np.random.default_rng(99)


def _pads(size, k, stride, padding):
    if padding == "VALID":
        return 0, 0
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        return total // 2, total - total // 2
    return padding


def _windows(shape, ksize, strides, padding):
    """Yields (output index (r, c), list of the real input positions (h, w) of its window, row-major)."""
    _, h, w, _ = shape
    pads = [_pads(size, k, s, p) for size, k, s, p in
            zip((h, w), ksize, strides, (padding, padding) if isinstance(padding, str) else padding)]
    out_h = (h + sum(pads[0]) - ksize[0]) // strides[0] + 1
    out_w = (w + sum(pads[1]) - ksize[1]) // strides[1] + 1
    for r, c in itertools.product(range(out_h), range(out_w)):
        top, left = r * strides[0] - pads[0][0], c * strides[1] - pads[1][0]
        yield (r, c), [(i, j) for i in range(top, top + ksize[0]) for j in range(left, left + ksize[1])
                       if 0 <= i < h and 0 <= j < w]


def _out_hw(shape, ksize, strides, padding):
    last = list(_windows(shape, ksize, strides, padding))[-1][0]
    return last[0] + 1, last[1] + 1


def reference_pool(x, ksize, strides, padding, reduce):
    y = np.zeros((x.shape[0], *_out_hw(x.shape, ksize, strides, padding), x.shape[3]))
    for (r, c), cells in _windows(x.shape, ksize, strides, padding):
        rows, cols = zip(*cells)
        y[:, r, c] = reduce(x[:, list(rows), list(cols)], axis=1)
    return y


def reference_max_pool_grad(x, dy, ksize, strides, padding):
    """Each dy goes to the first (row-major) element of its window equal to the window's maximum, as TF does."""
    dx = np.zeros_like(x, dtype=np.float64)
    for (r, c), cells in _windows(x.shape, ksize, strides, padding):
        for n, ch in itertools.product(range(x.shape[0]), range(x.shape[3])):
            values = [x[n, i, j, ch] for i, j in cells]
            i, j = cells[int(np.argmax(values))]  # argmax returns the first maximum
            dx[n, i, j, ch] += dy[n, r, c, ch]
    return dx


def _distinct(shape):
    """Values at least 0.1 apart, so a max pool has no near-ties that finite differences could cross."""
    return RNG.permutation(int(np.prod(shape))).reshape(shape) * 0.1


def _nchw(a):
    return a.transpose(0, 3, 1, 2)


EXPLICIT = ((1, 0), (2, 1))


@pytest.mark.parametrize("kind,padding,stride,ksize,data_format",
                         list(itertools.product(["max", "avg"], ["SAME", "VALID"], [1, 2], [2, 3],
                                                ["NHWC", "NCHW"])))
def test_pool_matches_direct_loops(kind, padding, stride, ksize, data_format):
    x = RNG.standard_normal((2, 7, 6, 3)).astype(np.float32)
    expected = reference_pool(x.astype(np.float64), (ksize, ksize), (stride, stride), padding,
                              np.max if kind == "max" else np.mean)
    pool = max_pool if kind == "max" else avg_pool
    if data_format == "NCHW":
        x, expected = _nchw(x), _nchw(expected)
    check_op(lambda a: pool(a, ksize, stride, padding, data_format=data_format), [x], lambda a: expected,
             rtol=1e-6, atol=1e-6, grad=False)


@pytest.mark.parametrize("kind,padding,stride,ksize,data_format",
                         [("max", "SAME", 2, 3, "NHWC"), ("max", "VALID", 1, 2, "NCHW"), ("avg", "SAME", 2, 3, "NCHW"),
                          ("avg", "VALID", 2, 2, "NHWC"), ("max", EXPLICIT, 2, 3, "NHWC")])
def test_pool_gradients(kind, padding, stride, ksize, data_format):
    x = _distinct((2, 5, 6, 2))
    expected = reference_pool(x, (ksize, ksize), (stride, stride), padding, np.max if kind == "max" else np.mean)
    pool = max_pool if kind == "max" else avg_pool
    if not isinstance(padding, str):
        padding = [[0, 0], list(padding[0]), list(padding[1]), [0, 0]]
    if data_format == "NCHW":
        x, expected = _nchw(x), _nchw(expected)
    check_op(lambda a: pool(a, ksize, stride, padding, data_format=data_format), [x], lambda a: expected,
             rtol=1e-12, atol=1e-12)


def test_max_pool_grad_routes_ties_to_the_first_maximum():
    x = np.ones((1, 4, 4, 1))
    x[0, 3, 3, 0] = 0.0
    dy = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    (dx,), _ = run_graph(lambda a, d: gf.gradients(max_pool(a, 2, 2, "VALID"), a, grad_ys=d), [x, dy])
    expected = np.zeros((1, 4, 4, 1))
    expected[0, 0, 0, 0], expected[0, 0, 2, 0], expected[0, 2, 0, 0], expected[0, 2, 2, 0] = 1, 2, 3, 4
    np.testing.assert_array_equal(dx, expected)
    # overlapping SAME windows over constant input: each output's gradient goes to its window's first real element
    x = np.full((1, 3, 3, 1), 2.0)
    dy = RNG.standard_normal((1, 3, 3, 1))
    (dx,), _ = run_graph(lambda a, d: gf.gradients(max_pool(a, 3, 1, "SAME"), a, grad_ys=d), [x, dy])
    np.testing.assert_allclose(dx, reference_max_pool_grad(x, dy, (3, 3), (1, 1), "SAME"))
    assert dx[0, 0, 0, 0] == pytest.approx(dy[0, 0, 0, 0] + dy[0, 0, 1, 0] + dy[0, 1, 0, 0] + dy[0, 1, 1, 0])
    assert dx[0, 2, 2, 0] == 0.0


def test_same_avg_pool_excludes_padding():
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    (y,), _ = run_graph(lambda a: avg_pool(a, 2, 1, "SAME"), [x])
    # SAME with k=2, stride 1 pads one row/column after: the last window per row covers 2 real elements, not 4
    expected = np.array([[2.0, 3.0, 3.5], [5.0, 6.0, 6.5], [6.5, 7.5, 8.0]])
    np.testing.assert_allclose(y[0, :, :, 0], expected)
    (ones,), _ = run_graph(lambda a: avg_pool(a, 3, 1, "SAME"), [np.ones((1, 3, 3, 1))])
    np.testing.assert_allclose(ones, 1.0)


def test_second_order_gradients_of_pools():
    """MaxPoolGrad's gradient (MaxPoolGradGrad) and AvgPoolGrad's (AvgPool), checked w.r.t. the incoming grad."""
    x = _distinct((1, 5, 5, 2))
    dy_max = RNG.standard_normal((1, 3, 3, 2))
    check_op(lambda a, d: gf.gradients(max_pool(a, 3, 2, "SAME"), a, grad_ys=d)[0], [x, dy_max],
             lambda a, d: reference_max_pool_grad(a, d, (3, 3), (2, 2), "SAME"), rtol=1e-12, atol=1e-12,
             grad_inputs=[1])
    dy_avg = RNG.standard_normal((1, 2, 2, 2))

    def avg_grad_reference(a, d):
        dx = np.zeros_like(a)
        for (r, c), cells in _windows(a.shape, (3, 3), (2, 2), "VALID"):
            for i, j in cells:
                dx[:, i, j] += d[:, r, c] / len(cells)
        return dx
    check_op(lambda a, d: gf.gradients(avg_pool(a, 3, 2, "VALID"), a, grad_ys=d)[0], [x, dy_avg],
             avg_grad_reference, rtol=1e-12, atol=1e-12, grad_inputs=[1])


def test_integer_max_pool():
    x = RNG.integers(-100, 100, (2, 4, 4, 3)).astype(np.int32)
    check_op(lambda a: max_pool2d(a, [2, 2], [2, 2], "SAME"), [x],
             lambda a: reference_pool(a, (2, 2), (2, 2), "SAME", np.max).astype(np.int32), grad=False)


def test_pool2d_aliases_and_static_shapes():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, 7, 9, 3])
        assert max_pool2d(x, 2, 2, "SAME").shape.dims == (None, 4, 5, 3)
        assert avg_pool2d(x, [3, 2], [2, 3], "VALID").shape.dims == (None, 3, 3, 3)
        assert max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID").shape.dims == (None, 3, 4, 3)
        nchw = gf.placeholder(gf.float32, [None, 3, 7, 9])
        assert avg_pool(nchw, 2, 2, "SAME", data_format="NCHW").shape.dims == (None, 3, 4, 5)
        assert max_pool(gf.placeholder(gf.float32, [None, None, None, 3]), 2, 2, "SAME").shape.dims == (
            None, None, None, 3)
        grad = gf.gradients(gf.reduce_sum(max_pool(x, 2, 2, "SAME")), x)[0]
        assert grad.shape.dims == (None, 7, 9, 3)
        node = max_pool(x, 2, 2, "SAME").op.node_def
        assert node.op == "MaxPool" and list(node.attr["ksize"].list.i) == [1, 2, 2, 1]


def test_global_average_pooling_via_reduce_mean():
    x = RNG.standard_normal((2, 4, 3, 5))
    check_op(lambda a: gf.reduce_mean(a, [1, 2]), [x], lambda a: a.mean(axis=(1, 2)), rtol=1e-12, atol=1e-12)
    check_op(lambda a: avg_pool(a, [4, 3], 1, "VALID"), [x], lambda a: a.mean(axis=(1, 2), keepdims=True),
             rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("build,message", [
    (lambda x: max_pool(x, [2, 2, 2, 1], 1, "SAME"), "ksize on the batch and channel"),
    (lambda x: avg_pool(x, 2, [1, 1, 1, 2], "SAME"), "strides on the batch and channel"),
    (lambda x: max_pool(x, 2, 1, "FULL"), "unknown padding 'FULL'"),
    (lambda x: avg_pool(x, 6, 1, "VALID"), "larger than the VALID input"),
    (lambda x: max_pool(x, 2, [1, 2, 2], "SAME"), "strides must be an int"),
    (lambda x: avg_pool(x, 2, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]), "explicit padding is not supported"),
])
def test_errors_at_build_time(build, message):
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [2, 5, 5, 3])
        with pytest.raises(ValueError, match=message) as info:
            build(x)
    assert "Pool" in str(info.value) and "5, 5" in str(info.value)


def test_rank_and_dtype_errors():
    graph = gf.Graph()
    with graph.as_default():
        with pytest.raises(ValueError, match=r"MaxPool: input must be rank 4; got shape \(5, 5, 3\)"):
            max_pool(gf.placeholder(gf.float32, [5, 5, 3]), 2, 2, "SAME")
        with pytest.raises(TypeError, match="AvgPool does not support dtype int32"):
            avg_pool(gf.placeholder(gf.int32, [1, 5, 5, 3]), 2, 2, "SAME")
