"""conv1d, separable_conv2d and atrous_conv2d against direct-loop references, with numeric gradients."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.ops.conv_math import conv_output_size
from tests.harness import check_op


def reference_conv1d(x, w, stride, padding, dilation=1):
    """y[n, o, k] = sum_{t, c} x_pad[n, o*stride + t*dilation, c] * w[t, c, k]."""
    out, before, after = conv_output_size(x.shape[1], w.shape[0], stride, dilation, padding)
    padded = np.pad(x, ((0, 0), (before, after), (0, 0)))
    y = np.zeros((x.shape[0], out, w.shape[2]))
    for o in range(out):
        for t in range(w.shape[0]):
            y[:, o, :] += padded[:, o * stride + t * dilation, :] @ w[t]
    return y


def reference_conv2d(x, w, padding, dilation=1):
    """Stride-1 NHWC convolution, looping over output pixels and taps."""
    out_h, top, bottom = conv_output_size(x.shape[1], w.shape[0], 1, dilation, padding)
    out_w, left, right = conv_output_size(x.shape[2], w.shape[1], 1, dilation, padding)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    y = np.zeros((x.shape[0], out_h, out_w, w.shape[3]))
    for r in range(out_h):
        for c in range(out_w):
            for i in range(w.shape[0]):
                for j in range(w.shape[1]):
                    y[:, r, c, :] += padded[:, r + i * dilation, c + j * dilation, :] @ w[i, j]
    return y


@pytest.mark.parametrize("stride, padding, dilation", [(1, "VALID", 1), (2, "SAME", 1), (1, "SAME", 2)])
def test_conv1d_nwc_and_ncw(stride, padding, dilation):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 9, 3)), rng.standard_normal((3, 3, 4))
    expected = reference_conv1d(x, w, stride, padding, dilation)
    check_op(lambda a, b: gf.nn.conv1d(a, b, stride, padding, dilations=dilation), [x, w],
             lambda a, b: expected, rtol=1e-10, atol=1e-10)
    channels_first = np.ascontiguousarray(x.transpose(0, 2, 1))
    check_op(lambda a, b: gf.nn.conv1d(a, b, stride, padding, data_format="NCW", dilations=dilation),
             [channels_first, w], lambda a, b: expected.transpose(0, 2, 1), rtol=1e-10, atol=1e-10, grad=False)


def test_separable_conv2d_is_depthwise_then_pointwise():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 6, 3))
    depthwise = rng.standard_normal((3, 3, 3, 2))
    pointwise = rng.standard_normal((1, 1, 6, 4))

    def reference(x, depthwise, pointwise):
        per_channel = np.concatenate([reference_conv2d(x[..., c:c + 1], depthwise[:, :, c:c + 1, :], "SAME")
                                      for c in range(3)], axis=-1)  # channel-major order, as TF
        return per_channel @ pointwise[0, 0]

    check_op(lambda a, b, c: gf.nn.separable_conv2d(a, b, c, [1, 1, 1, 1], "SAME"), [x, depthwise, pointwise],
             reference, rtol=1e-10, atol=1e-10)


def test_atrous_conv2d_dilates():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 7, 7, 2)), rng.standard_normal((3, 3, 2, 3))
    check_op(lambda a, b: gf.nn.atrous_conv2d(a, b, rate=2, padding="SAME"), [x, w],
             lambda a, b: reference_conv2d(a, b, "SAME", dilation=2), rtol=1e-10, atol=1e-10)


def test_errors_name_the_problem():
    g = gf.Graph()
    with g.as_default():
        x = gf.placeholder(gf.float32, [1, 5, 5, 3])
        with pytest.raises(ValueError, match="pointwise filter"):
            gf.nn.separable_conv2d(x, np.ones((3, 3, 3, 1), np.float32), np.ones((2, 2, 3, 4), np.float32),
                                   [1, 1, 1, 1], "SAME")
        with pytest.raises(ValueError, match="rate"):
            gf.nn.atrous_conv2d(x, np.ones((3, 3, 3, 2), np.float32), rate=0, padding="SAME")
        with pytest.raises(ValueError, match="data_format"):
            gf.nn.conv1d(gf.placeholder(gf.float32, [1, 5, 3]), np.ones((2, 3, 2), np.float32), 1, "SAME",
                         data_format="NHWC")
        with pytest.raises(ValueError, match="rank-3"):
            gf.nn.conv1d(x, np.ones((2, 3, 2), np.float32), 1, "SAME")
