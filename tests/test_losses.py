"""gf.losses: values against numpy formulas, every reduction, label smoothing, collections and totals."""
import numpy as np
import pytest

import graphflow as gf


@pytest.fixture(autouse=True)
def fresh_default_graph():
    gf.reset_default_graph()


def _run(fetches):
    with gf.Session() as sess:
        return sess.run(fetches)


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((4, 5))
LABELS = np.array([1, 0, 4, 2])
ONEHOT = np.eye(5)[LABELS]


def test_softmax_cross_entropy_weights_and_smoothing():
    per_row = -(ONEHOT * _log_softmax(LOGITS)).sum(-1)
    weights = np.array([1.0, 0.0, 2.0, 0.5])
    plain = gf.losses.softmax_cross_entropy(ONEHOT, LOGITS)
    weighted = gf.losses.softmax_cross_entropy(ONEHOT, LOGITS, weights=weights)
    smoothed = gf.losses.softmax_cross_entropy(ONEHOT, LOGITS, label_smoothing=0.2)
    got = _run([plain, weighted, smoothed])
    smooth_labels = ONEHOT * 0.8 + 0.2 / 5
    np.testing.assert_allclose(got[0], per_row.mean(), rtol=1e-10)
    np.testing.assert_allclose(got[1], (per_row * weights).sum() / 3, rtol=1e-10)  # 3 nonzero weights
    np.testing.assert_allclose(got[2], -(smooth_labels * _log_softmax(LOGITS)).sum(-1).mean(), rtol=1e-10)
    assert plain.name == "softmax_cross_entropy_loss/value:0"


def test_sparse_softmax_cross_entropy():
    expected = -_log_softmax(LOGITS)[np.arange(4), LABELS]
    loss = gf.losses.sparse_softmax_cross_entropy(LABELS, LOGITS, weights=np.array([1.0, 1.0, 0.0, 3.0]))
    np.testing.assert_allclose(_run(loss), (expected * [1, 1, 0, 3]).sum() / 3, rtol=1e-10)
    with pytest.raises(ValueError, match="integers"):
        gf.losses.sparse_softmax_cross_entropy(np.array([1.0]), LOGITS[:1])


def test_sigmoid_cross_entropy_with_smoothing():
    labels = (RNG.random((4, 5)) > 0.5).astype(np.float64)
    smooth = labels * 0.9 + 0.05
    p = 1 / (1 + np.exp(-LOGITS))
    expected = -(smooth * np.log(p) + (1 - smooth) * np.log(1 - p)).mean()
    np.testing.assert_allclose(_run(gf.losses.sigmoid_cross_entropy(labels, LOGITS, label_smoothing=0.1)),
                               expected, rtol=1e-9)


def test_regression_losses():
    labels = RNG.standard_normal((3, 2))
    predictions = RNG.standard_normal((3, 2)) * 2
    error = predictions - labels
    quadratic = np.minimum(np.abs(error), 0.5)
    got = _run([gf.losses.mean_squared_error(labels, predictions),
                gf.losses.absolute_difference(labels, predictions, weights=[[1.0], [0.0], [2.0]]),
                gf.losses.huber_loss(labels, predictions, delta=0.5)])
    np.testing.assert_allclose(got[0], (error ** 2).mean(), rtol=1e-12)
    np.testing.assert_allclose(got[1], (np.abs(error) * [[1], [0], [2]]).sum() / 4, rtol=1e-12)
    np.testing.assert_allclose(got[2], (0.5 * quadratic ** 2 + 0.5 * (np.abs(error) - quadratic)).mean(),
                               rtol=1e-12)


def test_reductions():
    losses = np.array([[1.0, 2.0], [3.0, 4.0]])
    weights = np.array([[0.0, 2.0], [1.0, 0.0]])
    R = gf.losses.Reduction
    results = _run({key: gf.losses.compute_weighted_loss(losses, weights, reduction=key) for key in
                    [R.NONE, R.SUM, R.MEAN, R.SUM_OVER_BATCH_SIZE, R.SUM_BY_NONZERO_WEIGHTS]})
    np.testing.assert_array_equal(results[R.NONE], losses * weights)
    assert results[R.SUM] == 7.0
    assert results[R.MEAN] == pytest.approx(7.0 / 3)
    assert results[R.SUM_OVER_BATCH_SIZE] == pytest.approx(7.0 / 4)
    assert results[R.SUM_BY_NONZERO_WEIGHTS] == pytest.approx(7.0 / 2)
    all_zero = gf.losses.compute_weighted_loss(losses, 0.0)
    assert _run(all_zero) == 0.0
    with pytest.raises(ValueError, match="Invalid Reduction"):
        gf.losses.compute_weighted_loss(losses, reduction="average")


def test_collections_and_total_loss():
    with pytest.raises(ValueError, match="No losses"):
        gf.losses.get_total_loss()
    mse = gf.losses.mean_squared_error([1.0, 2.0], [1.5, 2.0])
    unrecorded = gf.losses.absolute_difference([1.0], [3.0], loss_collection=None)
    extra = gf.constant(10.0)
    gf.losses.add_loss(extra)
    gf.add_to_collection(gf.GraphKeys.REGULARIZATION_LOSSES, gf.constant(0.5))
    assert gf.losses.get_losses() == [mse, extra] and unrecorded not in gf.losses.get_losses()
    total, without_reg, reg = _run([gf.losses.get_total_loss(),
                                    gf.losses.get_total_loss(add_regularization_losses=False),
                                    gf.losses.get_regularization_loss()])
    assert total == pytest.approx(0.125 + 10.5) and without_reg == pytest.approx(10.125) and reg == 0.5


def test_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match=r"labels shape \(3,\) is incompatible with predictions shape \(2,\)"):
        gf.losses.mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0])


def test_gradient_flows_to_logits_only():
    logits = gf.Variable(LOGITS, name="logits")
    loss = gf.losses.sparse_softmax_cross_entropy(LABELS, logits)
    grad, = gf.gradients(loss, [logits])
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        g = sess.run(grad)
    np.testing.assert_allclose(g, (np.exp(_log_softmax(LOGITS)) - ONEHOT) / 4, rtol=1e-9, atol=1e-12)


def test_cosine_distance_matches_numpy():
    rng = np.random.default_rng(3)
    labels = rng.standard_normal((4, 5))
    predictions = rng.standard_normal((4, 5))
    labels /= np.linalg.norm(labels, axis=1, keepdims=True)
    predictions /= np.linalg.norm(predictions, axis=1, keepdims=True)
    weights = np.array([[1.0], [0.0], [2.0], [1.0]])
    g = gf.Graph()
    with g.as_default():
        loss = gf.losses.cosine_distance(labels, predictions, axis=1, weights=weights)
        with gf.Session() as sess:
            value = sess.run(loss)
        assert loss in gf.losses.get_losses()
        with pytest.raises(ValueError, match="axis"):
            gf.losses.cosine_distance(labels, predictions)
    per_example = 1 - np.sum(labels * predictions, axis=1, keepdims=True)
    np.testing.assert_allclose(value, np.sum(per_example * weights) / np.count_nonzero(weights), rtol=1e-12)
