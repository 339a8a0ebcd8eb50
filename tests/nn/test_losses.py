"""Cross-entropy losses of gf.nn: values vs numpy, numeric gradients, stability for huge logits, shape errors."""
import numpy as np
import pytest

import graphflow as gf
from tests.harness import check_op, run_graph


def np_log_softmax(a, axis=-1):
    s = a - a.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def distribution(rng, shape, axis=-1):
    p = rng.uniform(0.1, 1, shape)
    return p / p.sum(axis=axis, keepdims=True)


@pytest.fixture
def rng():
    return np.random.default_rng(1)


@pytest.mark.parametrize("shape,axis", [((4,), -1), ((3, 5), -1), ((2, 3, 4), -1), ((3, 5), 0), ((2, 3, 4), 1)])
def test_softmax_cross_entropy_v2(rng, shape, axis):
    logits, labels = rng.standard_normal(shape), distribution(rng, shape, axis)
    check_op(lambda z, x: gf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x, axis=axis), [labels, logits],
             lambda z, x: -(z * np_log_softmax(x, axis)).sum(axis=axis))


def test_softmax_cross_entropy_op_outputs_including_backprop(rng):
    logits, labels = rng.standard_normal((3, 4)), distribution(rng, (3, 4))
    e = np.exp(logits - logits.max(-1, keepdims=True))
    check_op(lambda x, z: list(gf.get_default_graph().create_op("SoftmaxCrossEntropyWithLogits", [x, z]).outputs),
             [logits, labels],
             lambda x, z: [-(z * np_log_softmax(x)).sum(-1), e / e.sum(-1, keepdims=True) - z])


def test_softmax_cross_entropy_v1_stops_label_gradient(rng):
    with gf.Graph().as_default():
        z, x = gf.placeholder(gf.float64, [2, 3]), gf.placeholder(gf.float64, [2, 3])
        loss = gf.nn.softmax_cross_entropy_with_logits(labels=z, logits=x)
        gz, gx = gf.gradients(loss, [z, x])
        assert gz is None and gx is not None
    logits, labels = rng.standard_normal((2, 3)), distribution(rng, (2, 3))
    check_op(lambda x, z: gf.nn.softmax_cross_entropy_with_logits(labels=z, logits=x), [logits, labels],
             lambda x, z: -(z * np_log_softmax(x)).sum(-1), grad_inputs=[0])


def test_softmax_cross_entropy_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    labels = np.array([[1, 0, 0], [0.5, 0.25, 0.25]], dtype=np.float32)
    with gf.Graph().as_default() as g:
        x, z = gf.constant(logits), gf.constant(labels)
        loss = gf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x)
        grad = gf.gradients(loss, x)[0]
        with gf.Session(graph=g) as sess:
            lv, gv = sess.run([loss, grad])
    np.testing.assert_allclose(lv, [0.0, 0.5 * 2e4 + np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(gv, [[0, 0, 0], [-0.5, 0.25, 0.25]], atol=1e-6)


def test_softmax_cross_entropy_shape_mismatch():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match=r"same shape.*\(2, 3\).*\(2, 4\)"):
            gf.nn.softmax_cross_entropy_with_logits_v2(labels=gf.placeholder(gf.float32, [2, 4]),
                                                       logits=gf.placeholder(gf.float32, [2, 3]))


def test_v1_requires_named_arguments():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="named arguments"):
            gf.nn.softmax_cross_entropy_with_logits(gf.constant([1.0]), gf.constant([1.0]))


@pytest.mark.parametrize("shape,dtype", [((4, 5), np.int32), ((2, 3, 4), np.int64), ((6,), np.int32)])
def test_sparse_softmax_cross_entropy(rng, shape, dtype):
    logits = rng.standard_normal(shape)
    labels = rng.integers(0, shape[-1], shape[:-1]).astype(dtype)
    check_op(lambda x, z: gf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=x), [logits, labels],
             lambda x, z: -np.take_along_axis(np_log_softmax(x), z[..., None].astype(np.int64), -1)[..., 0])


def test_sparse_op_backprop_output_and_second_order(rng):
    logits, labels = rng.standard_normal((3, 4)), np.array([0, 3, 1], np.int32)
    e = np.exp(logits)
    probs = e / e.sum(-1, keepdims=True)
    check_op(lambda x, z: list(gf.get_default_graph().create_op("SparseSoftmaxCrossEntropyWithLogits",
                                                               [x, z]).outputs),
             [logits, labels], lambda x, z: [-np.log(probs[np.arange(3), z]), probs - np.eye(4)[z]])


def test_sparse_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    (loss,), _ = run_graph(lambda x: gf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 2], logits=x),
                           [logits])
    np.testing.assert_allclose(loss, [2e4, np.log(2)], rtol=1e-6)


def test_sparse_out_of_range_label_is_invalid_argument():
    logits = np.zeros((2, 3), np.float32)
    for bad in ([0, 3], [-1, 0]):
        with pytest.raises(gf.errors.InvalidArgumentError, match=r"label value of -?\d.*\[0, 3\)") as info:
            run_graph(lambda x, z: gf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=x),
                      [logits, np.array(bad, np.int32)])
        assert info.value.op.type == "SparseSoftmaxCrossEntropyWithLogits"
        assert "SparseSoftmaxCrossEntropyWithLogits" in str(info.value)


def test_sparse_shape_mismatch():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match=r"labels \(received \(3,\)\).*\(4, 5\)"):
            gf.nn.sparse_softmax_cross_entropy_with_logits(labels=gf.placeholder(gf.int32, [3]),
                                                           logits=gf.placeholder(gf.float32, [4, 5]))


def np_sigmoid_xent(z, x):
    return -z * np.log(1 / (1 + np.exp(-x))) - (1 - z) * np.log(1 - 1 / (1 + np.exp(-x)))


@pytest.mark.parametrize("shape", [(5,), (3, 4)])
def test_sigmoid_cross_entropy(rng, shape):
    logits, labels = rng.standard_normal(shape) * 2, rng.uniform(0, 1, shape)
    check_op(lambda z, x: gf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x), [labels, logits],
             np_sigmoid_xent)


def test_sigmoid_cross_entropy_huge_logits():
    logits = np.array([1e4, -1e4, 1e4, -1e4], np.float32)
    labels = np.array([1, 0, 0, 1], np.float32)
    (loss,), _ = run_graph(lambda z, x: gf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x),
                           [labels, logits])
    np.testing.assert_allclose(loss, [0, 0, 1e4, 1e4], rtol=1e-6)


def test_sigmoid_cross_entropy_shape_mismatch():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match=r"same shape \(\(2, 3\) vs \(3,\)\)"):
            gf.nn.sigmoid_cross_entropy_with_logits(labels=gf.placeholder(gf.float32, [3]),
                                                    logits=gf.placeholder(gf.float32, [2, 3]))


@pytest.mark.parametrize("pos_weight", [0.5, 3.0])
def test_weighted_cross_entropy(rng, pos_weight):
    logits, labels = rng.standard_normal((3, 4)) * 2, rng.uniform(0, 1, (3, 4))

    def reference(z, x):
        p = 1 / (1 + np.exp(-x))
        return -pos_weight * z * np.log(p) - (1 - z) * np.log(1 - p)
    check_op(lambda z, x: gf.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=pos_weight),
             [labels, logits], reference)


def test_weighted_cross_entropy_huge_logits_and_targets_alias():
    logits = np.array([1e4, -1e4, 1e4, -1e4], np.float32)
    labels = np.array([1, 0, 0, 1], np.float32)
    (loss,), _ = run_graph(lambda z, x: gf.nn.weighted_cross_entropy_with_logits(targets=z, logits=x, pos_weight=2.0),
                           [labels, logits])
    np.testing.assert_allclose(loss, [0, 0, 1e4, 2e4], rtol=1e-6)
