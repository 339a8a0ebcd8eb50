"""Tests for graphflow.ops.conv_math: convolution and its gradients against direct-loop references."""

import itertools

import numpy as np
import pytest

from graphflow.backends import intra_op
from graphflow.ops import conv_math
from graphflow.ops.conv_math import (conv2d_backprop_filter_nhwc, conv2d_backprop_input_nhwc, conv2d_nhwc,
                                     conv_output_size, resolve_padding_2d)


def _reference_taps(x_shape, w_shape, strides, dilations, pads, groups):
    """Yield (r, c, o, i, j, h, w, channels) for every in-bounds product of a direct-loop convolution."""
    _, in_h, in_w, _ = x_shape
    kernel_h, kernel_w, group_in, out_channels = w_shape
    group_out = out_channels // groups
    (top, bottom), (left, right) = pads
    out_h = (in_h + top + bottom - (kernel_h - 1) * dilations[0] - 1) // strides[0] + 1
    out_w = (in_w + left + right - (kernel_w - 1) * dilations[1] - 1) // strides[1] + 1
    for r, c, o, i, j in itertools.product(range(out_h), range(out_w), range(out_channels), range(kernel_h),
                                           range(kernel_w)):
        h = r * strides[0] + i * dilations[0] - top
        w = c * strides[1] + j * dilations[1] - left
        if 0 <= h < in_h and 0 <= w < in_w:
            group = o // group_out
            yield r, c, o, i, j, h, w, slice(group * group_in, (group + 1) * group_in)


def _reference_out_hw(x_shape, w_shape, strides, dilations, pads):
    (top, bottom), (left, right) = pads
    return ((x_shape[1] + top + bottom - (w_shape[0] - 1) * dilations[0] - 1) // strides[0] + 1,
            (x_shape[2] + left + right - (w_shape[1] - 1) * dilations[1] - 1) // strides[1] + 1)


def reference_conv2d(x, w, strides, dilations, pads, groups):
    x, w = x.astype(np.float64), w.astype(np.float64)
    out_h, out_w = _reference_out_hw(x.shape, w.shape, strides, dilations, pads)
    y = np.zeros((x.shape[0], out_h, out_w, w.shape[3]))
    for r, c, o, i, j, h, ww, channels in _reference_taps(x.shape, w.shape, strides, dilations, pads, groups):
        y[:, r, c, o] += x[:, h, ww, channels] @ w[i, j, :, o]
    return y


def reference_backprop_input(dy, w, input_shape, strides, dilations, pads, groups):
    dy, w = dy.astype(np.float64), w.astype(np.float64)
    dx = np.zeros(input_shape)
    for r, c, o, i, j, h, ww, channels in _reference_taps(input_shape, w.shape, strides, dilations, pads, groups):
        dx[:, h, ww, channels] += dy[:, r, c, o][:, None] * w[i, j, :, o]
    return dx


def reference_backprop_filter(x, dy, filter_shape, strides, dilations, pads, groups):
    x, dy = x.astype(np.float64), dy.astype(np.float64)
    dw = np.zeros(filter_shape)
    for r, c, o, i, j, h, ww, channels in _reference_taps(x.shape, filter_shape, strides, dilations, pads, groups):
        dw[i, j, :, o] += x[:, h, ww, channels].T @ dy[:, r, c, o]
    return dw


# (in_channels, groups, out_channels, kernel_hw): plain, grouped, depthwise with multiplier 2, depthwise.
CHANNEL_CONFIGS = [(4, 1, 5, (3, 3)), (4, 2, 6, (3, 2)), (3, 3, 6, (2, 3)), (3, 3, 3, (3, 3))]
PADDINGS = ["SAME", "VALID", ((1, 2), (0, 1))]
STRIDES = [(1, 1), (2, 2), (3, 3), (1, 2)]
DILATIONS = [(1, 1), (2, 2)]
SIZES = [(7, 8), (6, 5)]
DTYPES = [np.float32, np.float64]

CASES = list(itertools.product(CHANNEL_CONFIGS, PADDINGS, STRIDES, DILATIONS, SIZES, DTYPES))


def _case_id(case):
    (channels, groups, out_channels, kernel), padding, strides, dilations, size, dtype = case
    padding = padding if isinstance(padding, str) else "explicit"
    return (f"c{channels}g{groups}o{out_channels}k{kernel[0]}{kernel[1]}-{padding}-s{strides[0]}{strides[1]}"
            f"-d{dilations[0]}{dilations[1]}-{size[0]}x{size[1]}-{np.dtype(dtype).name}")


def _setup(case, seed=0):
    """Random x, w, dy for a case and its resolved conv arguments."""
    (channels, groups, out_channels, kernel), padding, strides, dilations, size, dtype = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, *size, channels)).astype(dtype)
    w = rng.standard_normal((*kernel, channels // groups, out_channels)).astype(dtype)
    (out_h, out_w), pads = resolve_padding_2d(size, kernel, strides, dilations, padding)
    dy = rng.standard_normal((2, out_h, out_w, out_channels)).astype(dtype)
    return x, w, dy, dict(strides=strides, dilations=dilations, pads=pads, groups=groups)


def _tolerance(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_forward_matches_direct_loops(case, patch_layout):
    x, w, _, kwargs = _setup(case)
    y = conv2d_nhwc(x, w, **kwargs)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y, reference_conv2d(x, w, **kwargs), **_tolerance(x.dtype))


@pytest.fixture(params=["channels_innermost", "tap_major"])
def patch_layout(request, monkeypatch):
    """Run a test once with each patch-matrix layout (the tap-major one is used for few-channel, ungrouped convs)."""
    limit = 10**9 if request.param == "tap_major" else 0
    monkeypatch.setattr(conv_math, "MAX_CHANNELS_FOR_TAP_MAJOR_PATCHES", limit)
    return request.param


@pytest.fixture(params=["flipped_conv", "fold"])
def backprop_input_method(request, monkeypatch):
    """Run a test once with stride-1 backprop-input done as a flipped-filter conv, once with column folding."""
    threshold = 1 if request.param == "flipped_conv" else 10**9
    monkeypatch.setattr(conv_math, "MIN_CHANNELS_FOR_FLIPPED_CONV", threshold)
    return request.param


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_backprop_input_matches_direct_loops(case, backprop_input_method):
    x, w, dy, kwargs = _setup(case)
    dx = conv2d_backprop_input_nhwc(dy, w, x.shape, **kwargs)
    assert dx.dtype == x.dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, reference_backprop_input(dy, w, x.shape, **kwargs), **_tolerance(x.dtype))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_backprop_filter_matches_direct_loops(case, patch_layout):
    x, w, dy, kwargs = _setup(case)
    dw = conv2d_backprop_filter_nhwc(x, dy, w.shape, **kwargs)
    assert dw.dtype == x.dtype and dw.shape == w.shape
    np.testing.assert_allclose(dw, reference_backprop_filter(x, dy, w.shape, **kwargs), **_tolerance(x.dtype))


@pytest.mark.parametrize("case", [c for c in CASES if c[-1] == np.float64], ids=_case_id)
def test_adjoint_identity(case, backprop_input_method):
    """<conv(x, w), dy> == <x, backprop_input(dy, w)> == <w, backprop_filter(x, dy)>: the conv is bilinear."""
    x, w, dy, kwargs = _setup(case, seed=1)
    forward = np.vdot(conv2d_nhwc(x, w, **kwargs), dy)
    through_input = np.vdot(x, conv2d_backprop_input_nhwc(dy, w, x.shape, **kwargs))
    through_filter = np.vdot(w, conv2d_backprop_filter_nhwc(x, dy, w.shape, **kwargs))
    assert through_input == pytest.approx(forward, rel=1e-10, abs=1e-10)
    assert through_filter == pytest.approx(forward, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("case", [
    ((4, 1, 5, (3, 3)), "SAME", (2, 2), (1, 1), (7, 8), np.float64),
    ((4, 2, 6, (3, 2)), ((1, 2), (0, 1)), (1, 2), (2, 2), (6, 5), np.float64),
    ((3, 3, 6, (2, 3)), "VALID", (3, 3), (1, 1), (7, 8), np.float64),
], ids=_case_id)
def test_gradients_match_finite_differences(case):
    """Central differences of L = <conv(x, w), dy> at a few coordinates of x and w."""
    x, w, dy, kwargs = _setup(case, seed=2)
    dx = conv2d_backprop_input_nhwc(dy, w, x.shape, **kwargs)
    dw = conv2d_backprop_filter_nhwc(x, dy, w.shape, **kwargs)
    rng = np.random.default_rng(3)
    epsilon = 1e-6
    for array, analytic, loss in ((x, dx, lambda a: np.vdot(conv2d_nhwc(a, w, **kwargs), dy)),
                                  (w, dw, lambda a: np.vdot(conv2d_nhwc(x, a, **kwargs), dy))):
        for flat in rng.choice(array.size, size=8, replace=False):
            index = np.unravel_index(flat, array.shape)
            plus, minus = array.copy(), array.copy()
            plus[index] += epsilon
            minus[index] -= epsilon
            numeric = (loss(plus) - loss(minus)) / (2 * epsilon)
            assert analytic[index] == pytest.approx(numeric, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("stride", [1, 2])
def test_pointwise_and_strided_1x1(stride):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 6, 4))
    w = rng.standard_normal((1, 1, 4, 7))
    dy_shape = (3, -(-5 // stride), -(-6 // stride), 7)
    dy = rng.standard_normal(dy_shape)
    kwargs = dict(strides=(stride, stride), dilations=(1, 1), pads=((0, 0), (0, 0)), groups=1)
    np.testing.assert_allclose(conv2d_nhwc(x, w, **kwargs), reference_conv2d(x, w, **kwargs), rtol=1e-12)
    np.testing.assert_allclose(conv2d_backprop_input_nhwc(dy, w, x.shape, **kwargs),
                               reference_backprop_input(dy, w, x.shape, **kwargs), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv2d_backprop_filter_nhwc(x, dy, w.shape, **kwargs),
                               reference_backprop_filter(x, dy, w.shape, **kwargs), rtol=1e-12)


@pytest.mark.parametrize("channels", [(4, 2, 6, (3, 2)), (3, 3, 6, (2, 3)), (3, 3, 3, (3, 3))],
                         ids=["grouped", "depthwise_x2", "depthwise"])
@pytest.mark.parametrize("block_elements", [1, 200, 5000])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_blocking_across_images_and_rows(monkeypatch, threads, block_elements, channels, backprop_input_method):
    """Tiny blocks force both the whole-image grouping and the cutting of one image into runs of rows; with
    several intra-op threads, shares of blocks run concurrently and scattering kernels cut them between images."""
    monkeypatch.setattr(conv_math, "CPU_BLOCK_ELEMENTS", block_elements)
    monkeypatch.setattr(intra_op._POOL, "_requested", threads)
    case = (channels, "SAME", (2, 1), (1, 2), (7, 8), np.float64)
    x, w, dy, kwargs = _setup(case, seed=5)
    np.testing.assert_allclose(conv2d_nhwc(x, w, **kwargs), reference_conv2d(x, w, **kwargs), rtol=1e-10)
    np.testing.assert_allclose(conv2d_backprop_input_nhwc(dy, w, x.shape, **kwargs),
                               reference_backprop_input(dy, w, x.shape, **kwargs), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv2d_backprop_filter_nhwc(x, dy, w.shape, **kwargs),
                               reference_backprop_filter(x, dy, w.shape, **kwargs), rtol=1e-10)


@pytest.mark.parametrize("case", [c for c in CASES if c[0][1] == 1 and c[2] == (1, 1) and c[3] == (1, 1)],
                         ids=_case_id)
def test_column_pairs_match_direct_loops(case, monkeypatch):
    """Every stride-1 ungrouped case on the two-columns-per-GEMM-row path (odd output widths keep one column)."""
    monkeypatch.setattr(conv_math, "MIN_KERNEL_WIDTH_FOR_COLUMN_PAIRS", 1)
    monkeypatch.setattr(conv_math, "MIN_CHANNELS_FOR_FLIPPED_CONV", 1)
    x, w, dy, kwargs = _setup(case)
    geometry = conv_math.conv_geometry(x.shape, w.shape, kwargs["strides"], kwargs["dilations"], kwargs["pads"])
    assert conv_math._column_pairs(geometry, x) == (geometry.out_w % 2 == 0)
    np.testing.assert_allclose(conv2d_nhwc(x, w, **kwargs), reference_conv2d(x, w, **kwargs), **_tolerance(x.dtype))
    np.testing.assert_allclose(conv2d_backprop_input_nhwc(dy, w, x.shape, **kwargs),
                               reference_backprop_input(dy, w, x.shape, **kwargs), **_tolerance(x.dtype))


@pytest.mark.parametrize("block_elements", [1, 300, 5000])
@pytest.mark.parametrize("threads", [1, 3])
def test_column_pairs_by_default_for_wide_kernels_and_few_channels(monkeypatch, threads, block_elements):
    monkeypatch.setattr(conv_math, "CPU_BLOCK_ELEMENTS", block_elements)
    monkeypatch.setattr(intra_op._POOL, "_requested", threads)
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((3, 6, 8, 4)), rng.standard_normal((3, 5, 4, 6))
    kwargs = dict(strides=(1, 1), dilations=(1, 1), pads=((1, 1), (2, 2)), groups=1)
    geometry = conv_math.conv_geometry(x.shape, w.shape, **kwargs)
    assert conv_math._column_pairs(geometry, x)
    np.testing.assert_allclose(conv2d_nhwc(x, w, **kwargs), reference_conv2d(x, w, **kwargs), rtol=1e-10)
    # an input whose rows are not contiguous (an NCHW transpose, unpadded) takes the one-column path
    x_t = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    valid = dict(kwargs, pads=((0, 0), (0, 0)))
    assert not conv_math._column_pairs(conv_math.conv_geometry(x_t.shape, w.shape, **valid), x_t)
    np.testing.assert_allclose(conv2d_nhwc(x_t, w, **valid), reference_conv2d(x_t, w, **valid), rtol=1e-10)


@pytest.mark.parametrize("strides, dilations, pads", [((1, 1), (1, 1), ((2, 2), (2, 2))),
                                                      ((2, 1), (1, 2), ((1, 3), (0, 2))),
                                                      ((1, 1), (1, 1), ((0, 0), (0, 0)))])
def test_padded_rows_match_the_padded_input_for_every_block(strides, dilations, pads):
    """Blocks of whole images and runs of rows, in an order that grows, shrinks and regrows the reused buffer."""
    x = np.random.default_rng(9).standard_normal((3, 7, 6, 2))
    geometry = conv_math.conv_geometry(x.shape, (3, 3, 2, 4), strides, dilations, pads)
    padded = conv_math.pad_nhwc(np, x, geometry.pads)
    rows = conv_math.PaddedRows(np, x, geometry)
    out_h = geometry.out_h
    for n0, n1, r0, r1 in [(0, 3, 0, out_h), (1, 2, 1, 2), (2, 3, 0, out_h), (0, 1, out_h - 1, out_h),
                           (0, 2, 0, 1), (1, 3, 0, out_h)]:
        first = r0 * strides[0]
        stop = (r1 - 1) * strides[0] + 2 * dilations[0] + 1
        np.testing.assert_array_equal(rows(n0, n1, r0, r1), padded[n0:n1, first:stop])


def test_non_contiguous_input_such_as_an_nchw_transpose():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 6, 7)).transpose(0, 2, 3, 1)
    w = rng.standard_normal((3, 3, 3, 4))
    for pads in (((0, 0), (0, 0)), ((1, 1), (1, 1))):
        kwargs = dict(strides=(1, 1), dilations=(1, 1), pads=pads, groups=1)
        np.testing.assert_allclose(conv2d_nhwc(x, w, **kwargs), reference_conv2d(x, w, **kwargs), rtol=1e-12)


@pytest.mark.parametrize("in_size, k, stride, dilation, padding, expected", [
    (5, 3, 2, 1, "SAME", (3, 1, 1)),
    (4, 3, 2, 1, "SAME", (2, 0, 1)),     # odd total padding: the extra element goes after
    (6, 1, 2, 1, "SAME", (3, 0, 0)),
    (7, 3, 1, 2, "SAME", (7, 2, 2)),     # effective kernel 5
    (2, 5, 1, 1, "SAME", (2, 2, 2)),     # SAME never fails, even for a kernel bigger than the input
    (7, 3, 2, 2, "VALID", (2, 0, 0)),
    (8, 3, 3, 1, "VALID", (2, 0, 0)),
    (5, 5, 1, 1, "VALID", (1, 0, 0)),
    (5, 3, 2, 1, (1, 2), (3, 1, 2)),
    (None, 3, 2, 1, "SAME", (None, None, None)),
    (None, 3, 2, 1, "VALID", (None, 0, 0)),
])
def test_conv_output_size_follows_tensorflow(in_size, k, stride, dilation, padding, expected):
    assert conv_output_size(in_size, k, stride, dilation, padding) == expected


@pytest.mark.parametrize("args, message", [
    ((3, 5, 1, 1, "VALID"), "larger than the VALID input"),
    ((4, 3, 1, 2, "VALID"), "effective size 5"),
    ((1, 3, 1, 1, (0, 1)), "larger than the input padded"),
    ((5, 3, 1, 1, "same"), "padding must be 'SAME', 'VALID'"),
    ((5, 3, 1, 1, "FULL"), "padding must be 'SAME', 'VALID'"),
    ((5, 3, 1, 1, (-1, 0)), "padding must be"),
    ((5, 3, 0, 1, "SAME"), "stride must be a positive integer"),
    ((5, 0, 1, 1, "SAME"), "kernel size must be a positive integer"),
    ((5, 3, 1, 0, "SAME"), "dilation must be a positive integer"),
])
def test_conv_output_size_errors(args, message):
    with pytest.raises(ValueError, match=message):
        conv_output_size(*args)


def test_resolve_padding_2d_per_axis():
    assert resolve_padding_2d((5, 4), (3, 3), (2, 2), (1, 1), "SAME") == ((3, 2), ((1, 1), (0, 1)))
    assert resolve_padding_2d((5, 4), (3, 1), (1, 1), (1, 1), ((1, 1), (0, 2))) == ((5, 6), ((1, 1), (0, 2)))
    with pytest.raises(ValueError, match="padding must be"):
        resolve_padding_2d((5, 4), (3, 3), (1, 1), (1, 1), ((1, 1),))
    with pytest.raises(ValueError, match="strides must be a"):
        resolve_padding_2d((5, 4), (3, 3), (1, 1, 1, 1), (1, 1), "SAME")


def test_conv_errors_are_clear():
    x = np.zeros((1, 4, 4, 4))
    with pytest.raises(ValueError, match="larger than"):
        conv2d_nhwc(x, np.zeros((5, 3, 4, 2)))
    with pytest.raises(ValueError, match="divisible by groups"):
        conv2d_nhwc(x, np.zeros((3, 3, 1, 3)), groups=2)
    with pytest.raises(ValueError, match="must equal the input channels"):
        conv2d_nhwc(x, np.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match="rank-4"):
        conv2d_nhwc(x[0], np.zeros((3, 3, 4, 2)))
    with pytest.raises(ValueError, match="pads must be"):
        conv2d_nhwc(x, np.zeros((3, 3, 4, 2)), pads="SAME")
    with pytest.raises(ValueError, match="output gradient has shape"):
        conv2d_backprop_input_nhwc(np.zeros((1, 3, 3, 2)), np.zeros((3, 3, 4, 2)), x.shape)
    with pytest.raises(ValueError, match="output gradient has shape"):
        conv2d_backprop_filter_nhwc(x, np.zeros((1, 2, 2, 3)), (3, 3, 4, 2))
