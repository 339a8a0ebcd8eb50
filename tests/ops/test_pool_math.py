"""Tests for graphflow.ops.pool_math: max/average pooling and their gradients against direct-loop references."""

import itertools

import numpy as np
import pytest

from graphflow.backends import intra_op
from graphflow.ops import conv_math
from graphflow.ops.conv_math import resolve_padding_2d
from graphflow.ops.pool_math import (avg_pool_grad_nhwc, avg_pool_nhwc, max_pool_grad_nhwc, max_pool_nhwc,
                                     pool_geometry)


def _windows(input_shape, ksize, strides, padding):
    """Yield (r, c, [(h, w), ...]) per output: the window's in-bounds input positions in row-major order."""
    (out_h, out_w), ((top, _), (left, _)) = resolve_padding_2d(input_shape[1:3], ksize, strides, (1, 1), padding)
    for r, c in itertools.product(range(out_h), range(out_w)):
        rows = range(r * strides[0] - top, r * strides[0] - top + ksize[0])
        cols = range(c * strides[1] - left, c * strides[1] - left + ksize[1])
        yield r, c, [(h, w) for h in rows for w in cols if 0 <= h < input_shape[1] and 0 <= w < input_shape[2]]


def _out_shape(input_shape, ksize, strides, padding):
    (out_h, out_w), _ = resolve_padding_2d(input_shape[1:3], ksize, strides, (1, 1), padding)
    return (input_shape[0], out_h, out_w, input_shape[3])


def reference_max_pool(x, ksize, strides, padding):
    y = np.empty(_out_shape(x.shape, ksize, strides, padding), dtype=x.dtype)
    for r, c, positions in _windows(x.shape, ksize, strides, padding):
        y[:, r, c, :] = np.max([x[:, h, w, :] for h, w in positions], axis=0)
    return y


def reference_avg_pool(x, ksize, strides, padding):
    y = np.empty(_out_shape(x.shape, ksize, strides, padding))
    for r, c, positions in _windows(x.shape, ksize, strides, padding):
        y[:, r, c, :] = np.mean([x[:, h, w, :].astype(np.float64) for h, w in positions], axis=0)
    return y


def reference_max_pool_grad(x, dy, ksize, strides, padding):
    """Every dy goes to the first (row-major) maximum of its window, one element per (n, channel) at a time."""
    dx = np.zeros(x.shape)
    for r, c, positions in _windows(x.shape, ksize, strides, padding):
        for n, channel in itertools.product(range(x.shape[0]), range(x.shape[3])):
            values = [x[n, h, w, channel] for h, w in positions]
            h, w = positions[int(np.argmax(values))]  # np.argmax returns the first maximum
            dx[n, h, w, channel] += dy[n, r, c, channel]
    return dx


def reference_avg_pool_grad(input_shape, dy, ksize, strides, padding):
    dx = np.zeros(input_shape)
    for r, c, positions in _windows(input_shape, ksize, strides, padding):
        for h, w in positions:
            dx[:, h, w, :] += dy[:, r, c, :] / len(positions)
    return dx


PADDINGS = ["SAME", "VALID", ((1, 0), (1, 1))]
KSIZES = [(2, 2), (3, 3), (3, 2)]
STRIDES = [(1, 1), (2, 2), (3, 3), (2, 1)]
SIZES = [(7, 8), (6, 5)]
DTYPES = [np.float32, np.float64]
CASES = list(itertools.product(PADDINGS, KSIZES, STRIDES, SIZES, DTYPES))


def _case_id(case):
    padding, ksize, strides, size, dtype = case
    padding = padding if isinstance(padding, str) else "explicit"
    return f"{padding}-k{ksize[0]}{ksize[1]}-s{strides[0]}{strides[1]}-{size[0]}x{size[1]}-{np.dtype(dtype).name}"


def _setup(case, seed=0, ties=False):
    padding, ksize, strides, size, dtype = case
    rng = np.random.default_rng(seed)
    shape = (2, *size, 3)
    # Few distinct values make ties within windows common.
    x = rng.integers(0, 3, shape) if ties else rng.standard_normal(shape)
    dy = rng.standard_normal(_out_shape(shape, ksize, strides, padding))
    return x.astype(dtype), dy.astype(dtype), dict(ksize=ksize, strides=strides, padding=padding)


def _tolerance(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_max_pool_matches_direct_loops(case):
    x, _, kwargs = _setup(case)
    y = max_pool_nhwc(x, **kwargs)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, reference_max_pool(x, **kwargs))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_avg_pool_divides_by_non_padding_count(case):
    x, _, kwargs = _setup(case)
    y = avg_pool_nhwc(x, **kwargs)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y, reference_avg_pool(x, **kwargs), **_tolerance(x.dtype))


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_max_pool_grad_routes_to_first_maximum(case, ties):
    x, dy, kwargs = _setup(case, ties=ties)
    dx = max_pool_grad_nhwc(x, max_pool_nhwc(x, **kwargs), dy, **kwargs)
    assert dx.dtype == x.dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, reference_max_pool_grad(x, dy, **kwargs), **_tolerance(x.dtype))


@pytest.mark.parametrize("case", [c for c in CASES if c[-1] == np.float64], ids=_case_id)
def test_max_pool_grad_of_positive_maxima_only_is_the_relu_inputs_gradient(case):
    x, dy, kwargs = _setup(case, ties=True)
    x = x - 1.0  # maxima of -1, 0 and 1: some windows' gradients are dropped, some kept
    y = max_pool_nhwc(x, **kwargs)
    dx = max_pool_grad_nhwc(x, y, dy, positive_maxima_only=True, **kwargs)
    np.testing.assert_allclose(dx, reference_max_pool_grad(x, dy, **kwargs) * (x > 0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_avg_pool_grad_matches_direct_loops(case):
    x, dy, kwargs = _setup(case)
    dx = avg_pool_grad_nhwc(x.shape, dy, **kwargs)
    assert dx.dtype == x.dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, reference_avg_pool_grad(x.shape, dy, **kwargs), **_tolerance(x.dtype))


@pytest.mark.parametrize("case", [c for c in CASES if c[-1] == np.float64], ids=_case_id)
def test_avg_pool_adjoint_identity(case):
    """Average pooling is linear: <avg_pool(x), dy> == <x, avg_pool_grad(dy)>."""
    x, dy, kwargs = _setup(case, seed=1)
    assert np.vdot(x, avg_pool_grad_nhwc(x.shape, dy, **kwargs)) == pytest.approx(
        np.vdot(avg_pool_nhwc(x, **kwargs), dy), rel=1e-12)


@pytest.mark.parametrize("case", [("SAME", (3, 3), (2, 2), (7, 8), np.float64),
                                  ("VALID", (2, 2), (1, 1), (6, 5), np.float64),
                                  (((1, 0), (1, 1)), (3, 2), (2, 1), (6, 5), np.float64)], ids=_case_id)
def test_pool_grads_match_finite_differences(case):
    x, dy, kwargs = _setup(case, seed=2)
    dx_max = max_pool_grad_nhwc(x, max_pool_nhwc(x, **kwargs), dy, **kwargs)
    dx_avg = avg_pool_grad_nhwc(x.shape, dy, **kwargs)
    epsilon = 1e-6  # distinct random values: no window's argmax changes under this nudge
    for pool, analytic in ((max_pool_nhwc, dx_max), (avg_pool_nhwc, dx_avg)):
        for index in itertools.islice(np.ndindex(x.shape), 0, None, 7):
            plus, minus = x.copy(), x.copy()
            plus[index] += epsilon
            minus[index] -= epsilon
            numeric = (np.vdot(pool(plus, **kwargs), dy) - np.vdot(pool(minus, **kwargs), dy)) / (2 * epsilon)
            assert analytic[index] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("block_elements", [1, 40, 400])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_blocking_across_images_and_rows(monkeypatch, threads, block_elements):
    """Tiny blocks force both the whole-image grouping and the cutting of one image into runs of rows; with
    several intra-op threads, shares of blocks run concurrently and scattering kernels cut them between images."""
    monkeypatch.setattr(conv_math, "CPU_BLOCK_ELEMENTS", block_elements)
    monkeypatch.setattr(intra_op._POOL, "_requested", threads)
    x, dy, kwargs = _setup(("SAME", (3, 3), (2, 1), (7, 8), np.float64), ties=True)
    y = max_pool_nhwc(x, **kwargs)
    np.testing.assert_array_equal(y, reference_max_pool(x, **kwargs))
    np.testing.assert_allclose(avg_pool_nhwc(x, **kwargs), reference_avg_pool(x, **kwargs), rtol=1e-12)
    np.testing.assert_allclose(max_pool_grad_nhwc(x, y, dy, **kwargs), reference_max_pool_grad(x, dy, **kwargs),
                               rtol=1e-12)
    np.testing.assert_allclose(avg_pool_grad_nhwc(x.shape, dy, **kwargs),
                               reference_avg_pool_grad(x.shape, dy, **kwargs), rtol=1e-12)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("padding, size", [("SAME", (8, 6)), ("VALID", (8, 6)), ("VALID", (9, 7))])
def test_tiled_windows_write_every_gradient(monkeypatch, padding, size, threads):
    """Windows that tile the input (ksize == strides, no padding) write their gradients instead of adding them;
    inputs outside every window (the 9th row and 7th column under VALID) must still get zeros."""
    monkeypatch.setattr(conv_math, "CPU_BLOCK_ELEMENTS", 40)
    monkeypatch.setattr(intra_op._POOL, "_requested", threads)
    case = (padding, (2, 2), (2, 2), size, np.float32)
    x, dy, kwargs = _setup(case, ties=True)
    assert pool_geometry(x.shape, (2, 2), (2, 2), padding).tiled
    y = max_pool_nhwc(x, **kwargs)
    np.testing.assert_array_equal(max_pool_grad_nhwc(x, y, dy, **kwargs), reference_max_pool_grad(x, dy, **kwargs))
    np.testing.assert_allclose(avg_pool_grad_nhwc(x.shape, dy, **kwargs),
                               reference_avg_pool_grad(x.shape, dy, **kwargs), rtol=1e-6)


def test_max_pool_grad_tie_goes_to_first_element_only():
    x = np.ones((1, 4, 4, 1))
    y = max_pool_nhwc(x, (2, 2), (2, 2), "VALID")
    dx = max_pool_grad_nhwc(x, y, np.full(y.shape, 5.0), (2, 2), (2, 2), "VALID")
    expected = np.zeros((4, 4))
    expected[0::2, 0::2] = 5.0  # the top-left of each window
    np.testing.assert_array_equal(dx[0, :, :, 0], expected)


def test_max_pool_grad_overlapping_windows_with_ties():
    """Stride-1 3x3 windows over a constant: each output's gradient lands on its window's first real element."""
    x = np.zeros((1, 3, 3, 1))
    dy = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    dx = max_pool_grad_nhwc(x, max_pool_nhwc(x, (3, 3), (1, 1), "SAME"), dy, (3, 3), (1, 1), "SAME")
    # Output (r, c) covers rows r-1..r+1, cols c-1..c+1 clipped to the input: its first element is (max(r-1,0), ...).
    expected = np.zeros((3, 3))
    for r, c in itertools.product(range(3), range(3)):
        expected[max(r - 1, 0), max(c - 1, 0)] += dy[0, r, c, 0]
    np.testing.assert_array_equal(dx[0, :, :, 0], expected)


def test_max_pool_grad_never_routes_to_padding():
    """With a -inf input the padding (also -inf inside max_pool) ties the max, yet the gradient stays in the input."""
    x = np.full((1, 3, 3, 1), -np.inf)
    y = max_pool_nhwc(x, (2, 2), (2, 2), "SAME")
    dy = np.ones(y.shape)
    dx = max_pool_grad_nhwc(x, y, dy, (2, 2), (2, 2), "SAME")
    assert dx.sum() == dy.sum()


def test_max_pool_integer_input_pads_with_dtype_minimum():
    x = np.array([-5, -7, -2, -9], dtype=np.int32).reshape(1, 2, 2, 1)
    y = max_pool_nhwc(x, (3, 3), (1, 1), "SAME")
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y[0, :, :, 0], [[-2, -2], [-2, -2]])


def test_avg_pool_same_counts_only_real_elements():
    """TF divides a SAME window by its non-padding count: a constant input pools to the same constant."""
    x = np.full((1, 5, 4, 2), 3.0, dtype=np.float32)
    np.testing.assert_array_equal(avg_pool_nhwc(x, (3, 3), (2, 2), "SAME"), np.full((1, 3, 2, 2), 3.0))


@pytest.mark.parametrize("call, message", [
    (lambda: max_pool_nhwc(np.zeros((1, 2, 2, 1)), (3, 3), (1, 1), "VALID"), "larger than the VALID input"),
    (lambda: avg_pool_nhwc(np.zeros((1, 4, 4, 1)), (2, 2), (1, 1), "valid"), "padding must be 'SAME', 'VALID'"),
    (lambda: avg_pool_nhwc(np.zeros((4, 4, 1)), (2, 2), (1, 1), "SAME"), "rank-4"),
    (lambda: max_pool_nhwc(np.zeros((1, 4, 4, 1)), (2, 2, 1), (1, 1), "SAME"), "pairs"),
    (lambda: max_pool_nhwc(np.zeros((1, 4, 4, 1)), (2, 2), (0, 1), "SAME"), "stride must be a positive"),
    (lambda: max_pool_grad_nhwc(np.zeros((1, 4, 4, 1)), np.zeros((1, 2, 2, 1)), np.zeros((1, 3, 3, 1)),
                                (2, 2), (2, 2), "VALID"), "output gradient has shape"),
    (lambda: max_pool_grad_nhwc(np.zeros((1, 4, 4, 1)), np.zeros((1, 1, 1, 1)), np.zeros((1, 2, 2, 1)),
                                (2, 2), (2, 2), "VALID"), "pooled output has shape"),
    (lambda: avg_pool_grad_nhwc((1, 4, 4, 1), np.zeros((1, 3, 3, 1)), (2, 2), (2, 2), "SAME"),
     "output gradient has shape"),
])
def test_pool_errors_are_clear(call, message):
    with pytest.raises(ValueError, match=message):
        call()
