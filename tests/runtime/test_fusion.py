"""Plan fusion: a producer's kernel absorbing the single-reader ops after it (OpDef.fuse), with values unchanged."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.backends import intra_op
from graphflow.ops import conv_math

RNG = np.random.default_rng(7)


@pytest.fixture
def graph():
    g = gf.Graph()
    with g.as_default():
        yield g


def _last_plan(sess):
    return list(sess._plans.values())[-1][0]


def _fused(sess):
    return [(head.type, [f.type for f in followers]) for head, followers in _last_plan(sess).fused]


def _conv_bias_relu(dtype, bias_op="add"):
    """x, conv2d(x), conv2d(x) + bias, relu of that, and the bias's value."""
    x = gf.placeholder(dtype, [None, 9, 7, 3])
    w = gf.constant(RNG.standard_normal((3, 3, 3, 5)), dtype=dtype)
    bias = RNG.standard_normal(5).astype(dtype.numpy)
    conv = gf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME")
    pre = gf.nn.bias_add(conv, gf.constant(bias)) if bias_op == "bias_add" else conv + gf.constant(bias)
    return x, conv, pre, gf.nn.relu(pre), bias


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("dtype, bias_op", [(gf.float32, "add"), (gf.float64, "add"), (gf.float32, "bias_add")])
def test_conv_bias_relu_run_as_one_kernel_with_unchanged_values(graph, monkeypatch, dtype, bias_op, threads):
    monkeypatch.setattr(conv_math, "CPU_BLOCK_ELEMENTS", 200)  # many blocks, each getting the epilogue
    monkeypatch.setattr(intra_op._POOL, "_requested", threads)
    x, conv, pre, out, bias = _conv_bias_relu(dtype, bias_op)
    images = RNG.standard_normal((4, 9, 7, 3)).astype(dtype.numpy)
    with gf.Session() as sess:
        fused = sess.run(out, {x: images})
        assert _fused(sess) == [("Conv2D", ["BiasAdd" if bias_op == "bias_add" else "Add", "Relu"])]
        # fetching the pre-activation keeps it a tensor of its own: nothing fuses past it
        separate, conv_value, pre_value = sess.run([out, conv, pre], {x: images})
        assert _fused(sess) == []
    np.testing.assert_array_equal(fused, separate)
    np.testing.assert_array_equal(pre_value, conv_value + bias)
    np.testing.assert_array_equal(separate, np.maximum(pre_value, 0))


def test_no_fusion_past_a_second_reader_a_control_dependency_or_nchw(graph):
    x, conv, pre, out, _ = _conv_bias_relu(gf.float32)
    images = RNG.standard_normal((2, 9, 7, 3)).astype(np.float32)
    doubled = conv * 2.0  # a second reader of the convolution's output
    with gf.Session() as sess:
        sess.run([out, doubled], {x: images})
        assert _fused(sess) == []
        with gf.control_dependencies([pre.op]):
            marker = gf.identity(gf.constant(1.0))
        sess.run([out, marker], {x: images})
        # an op waited on ends the chain (its line runs where it stood), so the Relu stays apart
        assert _fused(sess) == [("Conv2D", ["Add"])]
    nchw = gf.nn.relu(gf.nn.conv2d(gf.transpose(x, [0, 3, 1, 2]), gf.constant(np.ones((3, 3, 3, 2), np.float32)),
                                   [1, 1, 1, 1], "SAME", data_format="NCHW"))
    with gf.Session() as sess:
        sess.run(nchw, {x: images})
        assert _fused(sess) == []


def test_a_bias_that_varies_beyond_the_channel_axis_is_not_fused(graph):
    x = gf.placeholder(gf.float32, [2, 4, 4, 3])
    conv = gf.nn.conv2d(x, gf.constant(np.ones((1, 1, 3, 2), np.float32)), 1, "VALID")
    shift = RNG.standard_normal((4, 1, 2)).astype(np.float32)  # varies along height
    out = gf.nn.relu(conv + gf.constant(shift))
    images = RNG.standard_normal((2, 4, 4, 3)).astype(np.float32)
    with gf.Session() as sess:
        value = sess.run(out, {x: images})
        assert _fused(sess) == []
    np.testing.assert_allclose(value, np.maximum(images.sum(axis=3, keepdims=True) + shift, 0), rtol=1e-6)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf * 0 in the kernels
@pytest.mark.parametrize("window, stride, padding", [(2, 2, "SAME"), (3, 1, "SAME"), (3, 2, "VALID")])
def test_max_pool_gradient_absorbs_the_relu_gradient(graph, window, stride, padding):
    """dy * (y > 0) routed by MaxPoolGrad equals ReluGrad of the routed dy, ties, zeros and non-finite dy included."""
    h = gf.placeholder(gf.float64, [2, 6, 6, 2])
    r = gf.nn.relu(h)
    pooled = gf.nn.max_pool(r, [1, window, window, 1], [1, stride, stride, 1], padding)
    upstream = gf.placeholder(gf.float64, pooled.shape)
    (dh,) = gf.gradients(pooled, [h], grad_ys=upstream)
    relu_grad = dh.op
    assert relu_grad.type == "ReluGrad" and relu_grad.inputs[1] is r  # read from the Relu's output, as TF does
    routed = relu_grad.inputs[0]
    values = RNG.integers(-2, 3, (2, 6, 6, 2)).astype(np.float64)  # many ties and zeros
    dy = RNG.standard_normal(pooled.shape.as_list())
    dy.flat[[0, 5, 9]] = [np.inf, np.nan, -np.inf]
    with gf.Session() as sess:
        fused = sess.run(dh, {h: values, upstream: dy})
        assert _fused(sess) == [("MaxPoolGrad", ["ReluGrad"])]
        separate, routed_value = sess.run([dh, routed], {h: values, upstream: dy})
        assert _fused(sess) == []
    np.testing.assert_array_equal(fused, separate)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(separate, routed_value * (values > 0))


def test_traced_fused_run_reports_the_producer(graph):
    x, _, _, out, _ = _conv_bias_relu(gf.float32)
    options = gf.RunOptions(trace_level=gf.RunOptions.FULL_TRACE)
    metadata = gf.RunMetadata()
    with gf.Session() as sess:
        sess.run(out, {x: np.zeros((1, 9, 7, 3), np.float32)}, options=options, run_metadata=metadata)
    names = [n.node_name for d in metadata.step_stats.dev_stats for n in d.node_stats]
    assert "Conv2D" in names and "Add" not in names and "Relu" not in names
