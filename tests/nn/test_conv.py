"""Conv2D, depthwise and transposed convolution ops: values against direct loops, gradients, static shapes, errors."""
import itertools

import numpy as np
import pytest

import graphflow as gf
from graphflow.ops.conv_ops import (conv2d, conv2d_backprop_filter, conv2d_backprop_input, conv2d_transpose,
                                    depthwise_conv2d, depthwise_conv2d_native)
from tests.harness import check_op, run_graph

RNG = np.random.default_rng(1234)


def _pads(size, k, stride, dilation, padding):
    """(before, after) by TF's rule, written out independently of conv_math."""
    if padding == "VALID":
        return 0, 0
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
        return total // 2, total - total // 2
    return padding


def reference_conv(x, w, strides=(1, 1), dilations=(1, 1), padding="VALID", depthwise=False):
    """Direct loops over every output element of an NHWC input and HWIO (or depthwise HWCM) filter.

    padding: "SAME", "VALID" or ((top, bottom), (left, right)). Groups = Cin / filter in-channels.
    """
    n_, h, wd, c = x.shape
    kh, kw, ci, co = w.shape
    (top, bottom), (left, right) = [_pads(size, k, s, d, p) for size, k, s, d, p in
                                    zip((h, wd), (kh, kw), strides, dilations,
                                        (padding, padding) if isinstance(padding, str) else padding)]
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_h = (h + top + bottom - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    out_w = (wd + left + right - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    out_c = c * co if depthwise else co
    y = np.zeros((n_, out_h, out_w, out_c))
    groups = c // ci
    for n, r, q, o in itertools.product(range(n_), range(out_h), range(out_w), range(out_c)):
        total = 0.0
        for i, j in itertools.product(range(kh), range(kw)):
            pixel = xp[n, r * strides[0] + i * dilations[0], q * strides[1] + j * dilations[1]]
            if depthwise:
                total += pixel[o // co] * w[i, j, o // co, o % co]
            else:
                g = o // (co // groups)
                total += pixel[g * ci:(g + 1) * ci] @ w[i, j, :, o]
        y[n, r, q, o] = total
    return y


def reference_conv_transpose(dy, w, input_shape, strides, padding):
    """Scatter every dy element through the filter into the (padded) input: the adjoint of reference_conv."""
    n_, h, wd, c = input_shape
    kh, kw, _, co = w.shape
    (top, bottom), (left, right) = [_pads(size, k, s, 1, padding) for size, k, s in zip((h, wd), (kh, kw), strides)]
    dx = np.zeros((n_, h + top + bottom, wd + left + right, c))
    for n, r, q in itertools.product(range(dy.shape[0]), range(dy.shape[1]), range(dy.shape[2])):
        for i, j in itertools.product(range(kh), range(kw)):
            dx[n, r * strides[0] + i, q * strides[1] + j] += w[i, j] @ dy[n, r, q]
    return dx[:, top:top + h, left:left + wd]


def _nchw(a):
    return a.transpose(0, 3, 1, 2)


def _nhwc(a):
    return a.transpose(0, 2, 3, 1)


def _explicit_list(pads, data_format):
    (top, bottom), (left, right) = pads
    if data_format == "NHWC":
        return [[0, 0], [top, bottom], [left, right], [0, 0]]
    return [[0, 0], [0, 0], [top, bottom], [left, right]]


EXPLICIT = ((1, 2), (0, 1))


@pytest.mark.parametrize("padding,stride,dilation,data_format",
                         list(itertools.product(["SAME", "VALID", EXPLICIT], [1, 2], [1, 2], ["NHWC", "NCHW"])))
def test_conv2d_matches_direct_loops(padding, stride, dilation, data_format):
    x = RNG.standard_normal((2, 7, 6, 3)).astype(np.float32)
    w = RNG.standard_normal((3, 2, 3, 4)).astype(np.float32)
    expected = reference_conv(x.astype(np.float64), w.astype(np.float64), (stride, stride), (dilation, dilation),
                              padding)
    gf_padding = padding if isinstance(padding, str) else _explicit_list(padding, data_format)
    if data_format == "NHWC":
        check_op(lambda a, b: conv2d(a, b, stride, gf_padding, dilations=dilation), [x, w], lambda a, b: expected,
                 rtol=1e-5, atol=1e-5, grad=False)
    else:
        check_op(lambda a, b: conv2d(a, b, [1, 1, stride, stride], gf_padding, data_format="NCHW",
                                     dilations=[1, 1, dilation, dilation]),
                 [_nchw(x), w], lambda a, b: _nchw(expected), rtol=1e-5, atol=1e-5, grad=False)


@pytest.mark.parametrize("padding,stride,dilation,data_format",
                         [("SAME", 2, 1, "NHWC"), ("VALID", 1, 2, "NCHW"), (EXPLICIT, 2, 2, "NHWC"),
                          ("SAME", 1, 1, "NCHW")])
def test_conv2d_gradients(padding, stride, dilation, data_format):
    x = RNG.standard_normal((2, 5, 6, 2))
    w = RNG.standard_normal((2, 3, 2, 3))
    expected = reference_conv(x, w, (stride, stride), (dilation, dilation), padding)
    gf_padding = padding if isinstance(padding, str) else _explicit_list(padding, data_format)
    if data_format == "NCHW":
        x, expected = _nchw(x), _nchw(expected)
    check_op(lambda a, b: conv2d(a, b, stride, gf_padding, data_format=data_format, dilations=dilation), [x, w],
             lambda a, b: expected, rtol=1e-10, atol=1e-10)


def test_grouped_conv2d_forward_and_gradients():
    x = RNG.standard_normal((2, 5, 5, 4))
    w = RNG.standard_normal((3, 3, 2, 6))  # 4 input channels / 2 filter in-channels = 2 groups of 3 outputs
    expected = reference_conv(x, w, (1, 1), (1, 1), "SAME")
    check_op(lambda a, b: conv2d(a, b, 1, "SAME"), [x, w], lambda a, b: expected, rtol=1e-10, atol=1e-10)
    # each group sees only its own input channels
    assert not np.allclose(expected[..., :3], reference_conv(x[..., ::-1].copy(), w, padding="SAME")[..., :3])


def test_pointwise_conv_is_a_matmul_over_pixels():
    x = RNG.standard_normal((2, 3, 4, 5))
    w = RNG.standard_normal((1, 1, 5, 2))
    check_op(lambda a, b: conv2d(a, b, 1, "VALID"), [x, w], lambda a, b: a @ b[0, 0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("padding,stride,rate,data_format",
                         [("SAME", 1, 1, "NHWC"), ("VALID", 2, 1, "NHWC"), ("SAME", 1, 2, "NCHW"),
                          (EXPLICIT, 2, 1, "NCHW")])
def test_depthwise_conv2d(padding, stride, rate, data_format):
    x = RNG.standard_normal((2, 6, 5, 3))
    w = RNG.standard_normal((3, 2, 3, 2))  # channel multiplier 2
    expected = reference_conv(x, w, (stride, stride), (rate, rate), padding, depthwise=True)
    gf_padding = padding if isinstance(padding, str) else _explicit_list(padding, data_format)
    if data_format == "NCHW":
        x, expected = _nchw(x), _nchw(expected)
    strides = [1, stride, stride, 1] if data_format == "NHWC" else [1, 1, stride, stride]
    check_op(lambda a, b: depthwise_conv2d(a, b, strides, gf_padding, rate=[rate, rate], data_format=data_format),
             [x, w], lambda a, b: expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("padding,stride", [("SAME", 2), ("VALID", 2), ("SAME", 1)])
def test_conv2d_transpose_matches_scatter_reference(padding, stride):
    input_shape = (2, 7, 6, 3)  # the shape conv2d_transpose produces
    w = RNG.standard_normal((3, 3, 3, 4))  # (kH, kW, output channels, value channels)
    out_h = -(-7 // stride) if padding == "SAME" else (7 - 3) // stride + 1
    out_w = -(-6 // stride) if padding == "SAME" else (6 - 3) // stride + 1
    value = RNG.standard_normal((2, out_h, out_w, 4))
    expected = reference_conv_transpose(value, w, input_shape, (stride, stride), padding)
    check_op(lambda v, f: conv2d_transpose(v, f, list(input_shape), [1, stride, stride, 1], padding), [value, w],
             lambda v, f: expected, rtol=1e-10, atol=1e-10)


def test_conv2d_transpose_is_the_adjoint_of_conv2d():
    """<conv2d(x, w), v> == <x, conv2d_transpose(v, w)> for any x, v."""
    x = RNG.standard_normal((1, 6, 6, 2))
    w = RNG.standard_normal((3, 3, 2, 3))
    v = RNG.standard_normal((1, 3, 3, 3))
    (y, dx), _ = run_graph(lambda a, b, c: [conv2d(a, b, 2, "SAME"), conv2d_transpose(c, b, [1, 6, 6, 2], 2)],
                           [x, w, v])
    np.testing.assert_allclose(np.sum(y * v), np.sum(x * dx), rtol=1e-10)


def test_backprop_filter_op_and_its_gradients():
    x = RNG.standard_normal((2, 5, 5, 2))
    dy = RNG.standard_normal((2, 3, 3, 3))

    def reference(a, d):
        # dw[i, j, ch, o] = sum over outputs of x_pad * dy, with SAME stride 2 pads of 1 on each side
        padded = np.pad(a, ((0, 0), (1, 1), (1, 1), (0, 0)))
        dw = np.zeros((3, 3, 2, 3))
        for i, j in itertools.product(range(3), range(3)):
            dw[i, j] = np.einsum("nrqc,nrqo->co", padded[:, i:i + 5:2, j:j + 5:2], d)
        return dw
    check_op(lambda a, d: conv2d_backprop_filter(a, [3, 3, 2, 3], d, [1, 2, 2, 1], "SAME"), [x, dy], reference,
             rtol=1e-10, atol=1e-10)


def test_second_order_gradient_of_conv2d():
    """d/dx of sum((d loss/d w)^2) exercises the gradients of Conv2DBackpropFilter and Conv2DBackpropInput."""
    x = RNG.standard_normal((1, 4, 4, 2))
    w = RNG.standard_normal((2, 2, 2, 2))

    def build(a, b):
        y = conv2d(a, b, 1, "SAME")
        dw, dx = gf.gradients(gf.reduce_sum(y * y * y), [b, a])
        return gf.reduce_sum(dw * dw) + gf.reduce_sum(dx * dx)

    def reference(a, b):
        y = reference_conv(a, b, padding="SAME")
        dy = 3 * y * y
        dx = reference_conv_transpose(dy, b, a.shape, (1, 1), "SAME")
        padded = np.pad(a, ((0, 0), (0, 1), (0, 1), (0, 0)))
        dw = np.stack([np.stack([np.einsum("nrqc,nrqo->co", padded[:, i:i + 4, j:j + 4], dy) for j in range(2)])
                       for i in range(2)])
        return np.sum(dw * dw) + np.sum(dx * dx)
    check_op(build, [x, w], reference, rtol=1e-9, atol=1e-9, grad_rtol=1e-4, grad_atol=1e-5)


def test_static_shapes_with_unknown_dims():
    graph = gf.Graph()
    with graph.as_default():
        w = gf.constant(np.zeros((3, 3, 3, 4), np.float32))
        x = gf.placeholder(gf.float32, [None, 7, 9, 3])
        assert conv2d(x, w, 2, "SAME").shape.dims == (None, 4, 5, 4)
        assert conv2d(x, w, 1, "VALID", dilations=2).shape.dims == (None, 3, 5, 4)
        assert conv2d(x, w, 2, [[0, 0], [1, 0], [2, 2], [0, 0]]).shape.dims == (None, 3, 6, 4)
        spatial = gf.placeholder(gf.float32, [None, None, None, 3])
        assert conv2d(spatial, w, 1, "SAME").shape.dims == (None, None, None, 4)
        assert conv2d(gf.placeholder(gf.float32), w, 1, "SAME").shape.dims == (None, None, None, 4)
        nchw = gf.placeholder(gf.float32, [None, 3, 7, 9])
        assert conv2d(nchw, w, [1, 1, 2, 2], "SAME", data_format="NCHW").shape.dims == (None, 4, 4, 5)
        dw = depthwise_conv2d(x, gf.constant(np.zeros((3, 3, 3, 2), np.float32)), [1, 1, 1, 1], "VALID")
        assert dw.shape.dims == (None, 5, 7, 6)
        assert conv2d(x, w, 2, "SAME").dtype == gf.float32
        grads = gf.gradients(gf.reduce_sum(conv2d(x, w, 2, "SAME")), [x, w])
        assert grads[0].shape.dims == (None, 7, 9, 3) and grads[1].shape.dims == (3, 3, 3, 4)


def test_unknown_batch_runs_with_any_batch():
    w = RNG.standard_normal((3, 3, 2, 2)).astype(np.float32)
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, None, None, 2])
        y = conv2d(x, w, 2, "SAME")
        with gf.Session() as sess:
            for shape in [(1, 5, 5, 2), (3, 4, 7, 2)]:
                a = RNG.standard_normal(shape).astype(np.float32)
                np.testing.assert_allclose(sess.run(y, {x: a}), reference_conv(a, w, (2, 2), padding="SAME"),
                                           rtol=1e-5, atol=1e-5)


def test_graph_def_attrs_are_tensorflows():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [1, 5, 5, 3])
        y = conv2d(x, np.zeros((3, 3, 3, 4), np.float32), [1, 1, 1, 1], [[0, 0], [1, 1], [2, 2], [0, 0]])
        attrs = y.op.node_def.attr
    assert y.op.type == "Conv2D"
    assert set(attrs) == {"T", "strides", "use_cudnn_on_gpu", "padding", "explicit_paddings", "data_format",
                          "dilations"}
    assert attrs["padding"].s == b"EXPLICIT" and list(attrs["explicit_paddings"].list.i) == [0, 0, 1, 1, 2, 2, 0, 0]
    assert list(attrs["strides"].list.i) == [1, 1, 1, 1] and attrs["data_format"].s == b"NHWC"


@pytest.mark.parametrize("build,message", [
    (lambda x: conv2d(x, np.zeros((3, 3, 3), np.float32), 1, "SAME"), "filter must be rank 4"),
    (lambda x: conv2d(x, np.zeros((3, 3, 2, 4), np.float32), 1, "SAME"), "input channels 3 must be a multiple"),
    (lambda x: conv2d(x, np.zeros((7, 3, 3, 4), np.float32), 1, "VALID"), "larger than the VALID input"),
    (lambda x: conv2d(x, np.zeros((3, 3, 3, 4), np.float32), 1, "FULL"), "unknown padding 'FULL'"),
    (lambda x: conv2d(x, np.zeros((3, 3, 3, 4), np.float32), [1, 1, 1], "SAME"), "strides must be an int"),
    (lambda x: conv2d(x, np.zeros((3, 3, 3, 4), np.float32), [2, 1, 1, 1], "SAME"), "batch and channel"),
    (lambda x: conv2d(x, np.zeros((3, 3, 3, 4), np.float32), [1, 1, 1, 2], "SAME"), "batch and channel"),
    (lambda x: conv2d(x, np.zeros((3, 3, 3, 4), np.float32), 1, [[1, 1], [1, 1], [1, 1], [0, 0]]),
     "batch and channel"),
    (lambda x: conv2d(x, np.zeros((3, 3, 3, 4), np.float32), 1, "SAME", data_format="NWHC"), "data_format"),
    (lambda x: depthwise_conv2d_native(x, np.zeros((3, 3, 2, 1), np.float32), [1, 1, 1, 1], "SAME"),
     "input channels 3 must equal the filter's in-channels 2"),
    (lambda x: conv2d_transpose(np.zeros((1, 2, 2, 4), np.float32), np.zeros((3, 3, 3, 4), np.float32),
                                [1, 5, 5, 3], 1, "VALID"), "out_backprop has shape"),
])
def test_errors_at_build_time_name_the_op_and_shapes(build, message):
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [2, 5, 5, 3])
        with pytest.raises(ValueError, match=message) as info:
            build(x)
    text = str(info.value)
    assert "Conv2D" in text or "conv2d" in text or "Depthwise" in text
    assert "5, 5" in text


def test_mixed_dtypes_are_rejected():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [1, 5, 5, 3])
        w = gf.placeholder(gf.float64, [3, 3, 3, 4])
        with pytest.raises(TypeError, match="dtype"):
            conv2d(x, w, 1, "SAME")


def test_backprop_input_op_checks_its_out_backprop():
    graph = gf.Graph()
    with graph.as_default():
        w = gf.placeholder(gf.float32, [3, 3, 3, 4])
        dy = gf.placeholder(gf.float32, [1, 5, 5, 4])
        assert conv2d_backprop_input([1, 5, 5, 3], w, dy, 1, "SAME").shape.dims == (1, 5, 5, 3)
        with pytest.raises(ValueError, match="Conv2DBackpropInput"):
            conv2d_backprop_input([1, 9, 9, 3], w, dy, 1, "SAME")
