"""gf.nn activations, softmax, bias_add and l2_loss against numpy references, with numeric gradients."""
import numpy as np
import pytest

import graphflow as gf
from tests.harness import check_op, run_graph

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def away_from(values, points, margin=0.05):
    """Pushes values away from the kinks at `points`, so central differences stay on one side."""
    out = values.copy()
    for p in points:
        close = np.abs(out - p) < margin
        out[close] = p + margin * np.where(out[close] >= p, 1, -1) * 2
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_relu(rng, shape):
    x = away_from(rng.standard_normal(shape), [0])
    check_op(gf.nn.relu, [x], lambda a: np.maximum(a, 0))


def test_relu6(rng):
    x = away_from(rng.uniform(-3, 9, (4, 5)), [0, 6])
    check_op(gf.nn.relu6, [x], lambda a: np.minimum(np.maximum(a, 0), 6))


@pytest.mark.parametrize("alpha", [0.2, 0.01])
def test_leaky_relu(rng, alpha):
    x = away_from(rng.standard_normal((3, 4)), [0])
    check_op(lambda t: gf.nn.leaky_relu(t, alpha=alpha), [x], lambda a: np.where(a > 0, a, alpha * a))


def test_leaky_relu_records_alpha_attr():
    with gf.Graph().as_default():
        y = gf.nn.leaky_relu(gf.placeholder(gf.float32, [2]), alpha=0.3)
        assert y.op.type == "LeakyRelu" and y.op.get_attr("alpha") == pytest.approx(0.3)


def test_elu(rng):
    x = away_from(rng.standard_normal((3, 4)) * 2, [0])
    check_op(gf.nn.elu, [x], lambda a: np.where(a > 0, a, np.exp(a) - 1))


def test_selu(rng):
    x = away_from(rng.standard_normal((3, 4)) * 2, [0])
    check_op(gf.nn.selu, [x], lambda a: SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * (np.exp(a) - 1)))


def test_softplus(rng):
    x = rng.standard_normal((3, 4)) * 3
    check_op(gf.nn.softplus, [x], lambda a: np.log(1 + np.exp(a)))


def test_softplus_is_stable_for_large_inputs():
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=np.float32)
    (y,), _ = run_graph(gf.nn.softplus, [x])
    np.testing.assert_allclose(y, [0.0, np.exp(-50.0), np.log(2.0), 50.0, 1e4], rtol=1e-6)


def test_softsign(rng):
    x = rng.standard_normal((3, 4)) * 3
    check_op(gf.nn.softsign, [x], lambda a: a / (1 + np.abs(a)))


def test_sigmoid_and_tanh_reexported():
    assert gf.nn.sigmoid is gf.sigmoid and gf.nn.tanh is gf.tanh


def np_softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("shape,axis", [((4,), -1), ((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1), ((2, 3, 4), -3)])
def test_softmax(rng, shape, axis):
    x = rng.standard_normal(shape)
    check_op(lambda t: gf.nn.softmax(t, axis=axis), [x], lambda a: np_softmax(a, axis))


@pytest.mark.parametrize("shape,axis", [((3, 5), -1), ((2, 3, 4), 0)])
def test_log_softmax(rng, shape, axis):
    x = rng.standard_normal(shape)
    check_op(lambda t: gf.nn.log_softmax(t, axis=axis), [x], lambda a: np.log(np_softmax(a, axis)))


def test_softmax_huge_logits_are_finite():
    x = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]], dtype=np.float32)
    (p, lp), _ = run_graph(lambda t: [gf.nn.softmax(t), gf.nn.log_softmax(t)], [x])
    np.testing.assert_allclose(p, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-7)
    np.testing.assert_allclose(lp, [[0, -2e4, -1e4], [-np.log(2), -np.log(2), -2e4 - np.log(2)]], rtol=1e-6)



@pytest.mark.parametrize("shape,data_format", [((3, 4), "NHWC"), ((2, 3, 3, 4), "NHWC"), ((2, 4, 3, 3), "NCHW"),
                                               ((2, 4, 5), "NCHW")])
def test_bias_add(rng, shape, data_format):
    x = rng.standard_normal(shape)
    axis = 1 if data_format == "NCHW" else -1
    b = rng.standard_normal(shape[axis])
    bshape = [1] * len(shape)
    bshape[axis] = shape[axis]
    check_op(lambda t, u: gf.nn.bias_add(t, u, data_format=data_format), [x, b], lambda a, c: a + c.reshape(bshape))


def test_bias_add_gradient_ops_and_second_order(rng):
    x, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    check_op(lambda t, u: gf.gradients(gf.reduce_sum(gf.nn.bias_add(t, u) ** 2), [u])[0], [x, b],
             lambda a, c: (2 * (a + c)).sum(axis=0))
    with gf.Graph().as_default():
        v, c = gf.placeholder(gf.float32, [2, 3]), gf.placeholder(gf.float32, [3])
        grad = gf.gradients(gf.nn.bias_add(v, c), [c])[0]
        assert grad.op.type == "BiasAddGrad"


def test_bias_add_wrong_bias_size_names_shapes():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [2, 5])
        with pytest.raises(ValueError, match=r"bias of shape \(3,\).*channel dimension \(5\)"):
            gf.nn.bias_add(x, gf.placeholder(gf.float32, [3]))
        with pytest.raises(ValueError, match="rank 1"):
            gf.nn.bias_add(x, gf.placeholder(gf.float32, [1, 5]))


def test_bias_add_wrong_size_at_run_time_names_op():
    x, b = np.zeros((2, 5), np.float32), np.zeros(3, np.float32)
    with pytest.raises(gf.errors.InvalidArgumentError, match=r"BiasAdd.*\(3,\).*5"):
        run_graph(gf.nn.bias_add, [x, b], unknown_shapes=True)


@pytest.mark.parametrize("shape", [(5,), (3, 4)])
def test_l2_loss(rng, shape):
    x = rng.standard_normal(shape)
    check_op(gf.nn.l2_loss, [x], lambda a: np.sum(a * a) / 2)


def test_relu_second_order(rng):
    x = away_from(rng.standard_normal((3, 4)), [0])
    check_op(lambda t: gf.gradients(gf.reduce_sum(gf.nn.relu(t) ** 2), [t])[0], [x], lambda a: 2 * np.maximum(a, 0))
