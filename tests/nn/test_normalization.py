"""moments, batch_normalization, fused_batch_norm and LRN against numpy formulas, with numeric gradients."""
import numpy as np
import pytest

import graphflow as gf
from tests.harness import check_op, run_graph


@pytest.fixture
def rng():
    return np.random.default_rng(2)


@pytest.mark.parametrize("shape,axes,keepdims", [((4, 3), [0], False), ((2, 3, 4), [0, 1], False),
                                                 ((2, 3, 4), [1], True), ((5,), [0], False)])
def test_moments(rng, shape, axes, keepdims):
    x = rng.standard_normal(shape)
    check_op(lambda t: list(gf.nn.moments(t, axes, keepdims=keepdims)), [x],
             lambda a: [a.mean(axis=tuple(axes), keepdims=keepdims), a.var(axis=tuple(axes), keepdims=keepdims)])


def test_moments_float16_keeps_dtype():
    x = np.arange(6, dtype=np.float16).reshape(2, 3)
    (mean, var), _ = run_graph(lambda t: list(gf.nn.moments(t, [0])), [x])
    assert mean.dtype == np.float16 and var.dtype == np.float16
    np.testing.assert_allclose(var, [2.25, 2.25, 2.25])


def test_batch_normalization(rng):
    x = rng.standard_normal((4, 3))
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    beta, gamma = rng.standard_normal(3), rng.standard_normal(3)
    check_op(lambda t, m, v, b, g: gf.nn.batch_normalization(t, m, v, b, g, 1e-3), [x, mean, var, beta, gamma],
             lambda t, m, v, b, g: g * (t - m) / np.sqrt(v + 1e-3) + b)


def test_batch_normalization_without_offset_and_scale(rng):
    x, mean, var = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    check_op(lambda t, m, v: gf.nn.batch_normalization(t, m, v, None, None, 1e-3), [x, mean, var],
             lambda t, m, v: (t - m) / np.sqrt(v + 1e-3))


def np_fused_training(x, scale, offset, eps, axis):
    axes = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    m, v = x.mean(axis=axes), x.var(axis=axes)
    n = x.size // x.shape[axis]
    y = (x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + eps) * scale.reshape(shape) + offset.reshape(shape)
    return y, m, v * n / (n - 1)


@pytest.mark.parametrize("data_format,shape", [("NHWC", (2, 3, 3, 4)), ("NCHW", (2, 4, 3, 2)),
                                               ("NDHWC", (2, 2, 2, 2, 3))])
def test_fused_batch_norm_training(rng, data_format, shape):
    axis = 1 if data_format.startswith("NC") else len(shape) - 1
    x = rng.standard_normal(shape) * 2 + 1
    scale, offset = rng.standard_normal(shape[axis]), rng.standard_normal(shape[axis])
    check_op(lambda t, s, o: list(gf.nn.fused_batch_norm(t, s, o, epsilon=1e-3, data_format=data_format)),
             [x, scale, offset], lambda t, s, o: list(np_fused_training(t, s, o, 1e-3, axis)), grad=False)
    check_op(lambda t, s, o: gf.nn.fused_batch_norm(t, s, o, epsilon=1e-3, data_format=data_format)[0],
             [x, scale, offset], lambda t, s, o: np_fused_training(t, s, o, 1e-3, axis)[0])


def test_fused_batch_norm_training_returns_bessel_corrected_variance():
    x = np.array([1.0, 2.0, 3.0, 6.0], np.float32).reshape(1, 2, 2, 1)
    (y, m, v), _ = run_graph(lambda t: list(gf.nn.fused_batch_norm(t, [1.0], [0.0], epsilon=1e-3)), [x])
    np.testing.assert_allclose(m, [3.0])
    np.testing.assert_allclose(v, [14.0 / 3.0], rtol=1e-6)  # squared deviations 4+1+0+9 = 14 over n - 1 = 3
    np.testing.assert_allclose(y.reshape(-1), (x.reshape(-1) - 3) / np.sqrt(3.5 + 1e-3), rtol=1e-5)


def test_fused_batch_norm_inference(rng):
    x = rng.standard_normal((2, 2, 2, 3))
    scale, offset = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)

    def build(t, s, o, m, v):
        return list(gf.nn.fused_batch_norm(t, s, o, m, v, epsilon=1e-3, is_training=False))

    def reference(t, s, o, m, v):
        return [(t - m) / np.sqrt(v + 1e-3) * s + o, m, v]
    check_op(build, [x, scale, offset, mean, var], reference, grad=False)
    check_op(lambda *a: build(*a)[0], [x, scale, offset, mean, var], lambda *a: reference(*a)[0],
             grad_inputs=[0, 1, 2])


def test_fused_batch_norm_exponential_average(rng):
    x = rng.standard_normal((3, 1, 1, 2))
    old_mean, old_var = np.array([1.0, -1.0]), np.array([2.0, 0.5])

    def reference(t, m0, v0):
        y, m, v = np_fused_training(t, np.ones(2), np.zeros(2), 1e-3, 3)
        return [y, 0.7 * m0 + 0.3 * m, 0.7 * v0 + 0.3 * v]
    check_op(lambda t, m0, v0: list(gf.nn.fused_batch_norm(t, np.ones(2), np.zeros(2), m0, v0, epsilon=1e-3,
                                                           exponential_avg_factor=0.3)),
             [x, old_mean, old_var], reference, grad=False)


def test_fused_batch_norm_errors():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [2, 3, 3, 4])
        with pytest.raises(ValueError, match=r"scale of shape \(3,\).*4 channels"):
            gf.nn.fused_batch_norm(x, gf.ones([3]), gf.zeros([3]))
        with pytest.raises(ValueError, match="needs mean and variance"):
            gf.nn.fused_batch_norm(x, gf.ones([4]), gf.zeros([4]), is_training=False)
        with pytest.raises(ValueError, match="4-D or 5-D"):
            gf.nn.fused_batch_norm(gf.placeholder(gf.float32, [2, 4]), gf.ones([4]), gf.zeros([4]))


def test_fused_batch_norm_uses_tf_op_types():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [2, 2, 2, 3])
        y, _, _ = gf.nn.fused_batch_norm(x, gf.ones([3]), gf.zeros([3]))
        assert y.op.type == "FusedBatchNormV3"
        assert gf.gradients(y, x)[0].op.type == "FusedBatchNormGradV3"


def np_lrn(x, r, bias, alpha, beta):
    depth = x.shape[-1]
    sq = np.stack([np.sum(x[..., max(0, d - r):d + r + 1] ** 2, axis=-1) for d in range(depth)], axis=-1)
    return x / (bias + alpha * sq) ** beta


@pytest.mark.parametrize("r,bias,alpha,beta", [(5, 1.0, 1.0, 0.5), (1, 2.0, 0.3, 0.75), (0, 1.0, 0.5, 1.0)])
def test_lrn(rng, r, bias, alpha, beta):
    x = rng.standard_normal((2, 2, 2, 7))
    check_op(lambda t: gf.nn.local_response_normalization(t, r, bias, alpha, beta), [x],
             lambda a: np_lrn(a, r, bias, alpha, beta))


def test_lrn_alias_and_rank_error():
    assert gf.nn.lrn is gf.nn.local_response_normalization
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="4-D"):
            gf.nn.lrn(gf.placeholder(gf.float32, [2, 3]))
