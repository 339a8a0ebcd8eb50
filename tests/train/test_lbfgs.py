"""ScipyOptimizerInterface / LBFGSOptimizer: minima of Rosenbrock and a least-squares problem; no graph growth."""
import sys

import numpy as np
import pytest

import graphflow as gf

from graphflow.train.lbfgs import LBFGSOptimizer, ScipyOptimizerInterface


def _rosenbrock(x):
    return gf.reduce_sum(100.0 * gf.square(x[1:] - x[:-1] * x[:-1]) + gf.square(1.0 - x[:-1]))


def test_rosenbrock_minimum_and_no_graph_growth():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.Variable(np.array([-1.2, 1.0, 0.5, -0.3]), name="x")
        optimizer = LBFGSOptimizer(_rosenbrock(x), max_iterations=500)
        with gf.Session() as sess:
            sess.run(x.initializer)
            size = len(graph)
            result = optimizer.minimize(sess)
            assert result.success
            np.testing.assert_allclose(sess.run(x), np.ones(4), atol=1e-5)
            x.load(np.array([0.3, -0.8, 1.5, 2.0]), sess)
            optimizer.minimize(sess)
            np.testing.assert_allclose(sess.run(x), np.ones(4), atol=1e-5)
            assert len(graph) == size


def test_least_squares_over_two_variables_with_feeds_and_callbacks():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((20, 3))
    y = rng.standard_normal(20)
    graph = gf.Graph()
    with graph.as_default():
        inputs = gf.placeholder(gf.float64, [None, 3], name="inputs")
        targets = gf.placeholder(gf.float64, [None], name="targets")
        w = gf.Variable(np.zeros((3, 1)), name="w")
        b = gf.Variable(np.zeros(1), name="b")
        residual = gf.reshape(gf.matmul(inputs, w), [-1]) + b - targets
        loss = gf.reduce_sum(residual * residual)
        mean_abs = gf.reduce_mean(gf.abs(residual))
        optimizer = ScipyOptimizerInterface(loss, options={"maxiter": 200, "gtol": 1e-12, "ftol": 1e-15})
        losses, extras, steps = [], [], []
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            optimizer.minimize(sess, feed_dict={inputs: a, targets: y}, fetches=[mean_abs],
                               loss_callback=lambda value, extra: (losses.append(value), extras.append(extra)),
                               step_callback=steps.append)
            found = np.append(sess.run(w).ravel(), sess.run(b))
    want = np.linalg.lstsq(np.hstack([a, np.ones((20, 1))]), y, rcond=None)[0]
    np.testing.assert_allclose(found, want, atol=1e-5)
    assert losses[0] == pytest.approx(np.sum(y * y)) and losses[-1] < losses[0]
    assert extras[0] == pytest.approx(np.mean(np.abs(y)))
    assert len(steps) >= 1 and steps[-1].shape == (4,)


def test_bounds_and_float32_variables():
    graph = gf.Graph()
    with graph.as_default():
        v = gf.Variable(np.array([0.0, 0.0], np.float32), name="v")
        loss = gf.reduce_sum(gf.square(v - np.array([3.0, -2.0], np.float32)))
        optimizer = ScipyOptimizerInterface(loss, var_to_bounds={v: (-1.0, 1.0)})
        with gf.Session() as sess:
            sess.run(v.initializer)
            optimizer.minimize(sess)
            got = sess.run(v)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [1.0, -1.0], atol=1e-6)


def test_errors():
    graph = gf.Graph()
    with graph.as_default():
        v = gf.Variable(np.ones(2), name="v")
        with pytest.raises(ValueError, match="float scalar"):
            ScipyOptimizerInterface(v * 2.0)
        with pytest.raises(ValueError, match="No variables to optimize"):
            ScipyOptimizerInterface(gf.reduce_sum(v * v), var_list=[])


def test_missing_scipy_is_reported(monkeypatch):
    graph = gf.Graph()
    with graph.as_default():
        v = gf.Variable(np.ones(2), name="v")
        optimizer = ScipyOptimizerInterface(gf.reduce_sum(v * v))
        monkeypatch.setitem(sys.modules, "scipy", None)
        with gf.Session() as sess:
            sess.run(v.initializer)
            with pytest.raises(ImportError, match="pip install scipy"):
                optimizer.minimize(sess)
