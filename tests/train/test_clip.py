"""Norm clipping ops against numpy, including None entries, both clipping regimes and the zero tensor."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.train.clip_ops import clip_by_average_norm, clip_by_global_norm, clip_by_norm, global_norm

RNG = np.random.default_rng(4)


def _run(fetches, graph):
    with gf.Session(graph=graph) as sess:
        return sess.run(fetches)


@pytest.mark.parametrize("clip", [0.5, 100.0])
def test_clip_by_norm_whole_tensor(clip):
    t = RNG.standard_normal((3, 4))
    graph = gf.Graph()
    with graph.as_default():
        out = clip_by_norm(gf.constant(t), clip)
    norm = np.linalg.norm(t)
    np.testing.assert_allclose(_run(out, graph), t * clip / max(norm, clip), rtol=1e-12)


def test_clip_by_norm_along_axes():
    t = RNG.standard_normal((3, 4)) * np.array([[0.1], [5.0], [1.0]])
    graph = gf.Graph()
    with graph.as_default():
        out = clip_by_norm(gf.constant(t), 1.0, axes=[1])
    norms = np.linalg.norm(t, axis=1, keepdims=True)
    np.testing.assert_allclose(_run(out, graph), t / np.maximum(norms, 1.0), rtol=1e-12)


def test_clip_by_norm_of_zero_is_zero_with_finite_gradient():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.constant(np.zeros(3))
        out = clip_by_norm(x, 1.0)
        grad, = gf.gradients(gf.reduce_sum(out), [x])
    value, g = _run([out, grad], graph)
    np.testing.assert_array_equal(value, np.zeros(3))
    np.testing.assert_allclose(g, np.ones(3))


def test_clip_by_norm_gradient_matches_finite_differences():
    t = RNG.standard_normal(4) * 3
    weights = RNG.standard_normal(4)

    def f(v):
        return float(np.sum(weights * v * 1.0 / max(np.linalg.norm(v), 1.0)))
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [4])
        loss = gf.reduce_sum(clip_by_norm(x, 1.0) * weights)
        grad, = gf.gradients(loss, [x])
        with gf.Session() as sess:
            g = sess.run(grad, {x: t})
    eps = 1e-6
    numeric = [(f(t + eps * e) - f(t - eps * e)) / (2 * eps) for e in np.eye(4)]
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_global_norm_skips_none():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal(5)
    graph = gf.Graph()
    with graph.as_default():
        norm = global_norm([gf.constant(a), None, gf.constant(b)])
    assert _run(norm, graph) == pytest.approx(np.sqrt(np.sum(a * a) + np.sum(b * b)), rel=1e-12)


@pytest.mark.parametrize("clip", [0.3, 50.0])
def test_clip_by_global_norm(clip):
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal(5)
    graph = gf.Graph()
    with graph.as_default():
        clipped, norm = clip_by_global_norm([gf.constant(a), None, gf.constant(b)], clip)
        assert clipped[1] is None
    got_a, got_b, got_norm = _run([clipped[0], clipped[2], norm], graph)
    want_norm = np.sqrt(np.sum(a * a) + np.sum(b * b))
    scale = clip / max(want_norm, clip)
    assert got_norm == pytest.approx(want_norm, rel=1e-12)
    np.testing.assert_allclose(got_a, a * scale, rtol=1e-12)
    np.testing.assert_allclose(got_b, b * scale, rtol=1e-12)
    assert np.sqrt(np.sum(got_a ** 2) + np.sum(got_b ** 2)) <= clip * (1 + 1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_clip_by_global_norm_with_given_norm_and_infinite_norm():
    a = np.array([3.0, 4.0])
    graph = gf.Graph()
    with graph.as_default():
        clipped, _ = clip_by_global_norm([gf.constant(a)], 1.0, use_norm=gf.constant(10.0, gf.float64))
        nan_clipped, _ = clip_by_global_norm([gf.constant(np.array([np.inf, 1.0]))], 1.0)
    got, nans = _run([clipped[0], nan_clipped[0]], graph)
    np.testing.assert_allclose(got, a / 10.0)
    assert np.isnan(nans).all()


def test_clip_by_average_norm():
    t = RNG.standard_normal((2, 5)) * 4
    graph = gf.Graph()
    with graph.as_default():
        small = clip_by_average_norm(gf.constant(t), 0.1)
        large = clip_by_average_norm(gf.constant(t), 100.0)
    avg = np.linalg.norm(t) / t.size
    got_small, got_large = _run([small, large], graph)
    np.testing.assert_allclose(got_small, t * 0.1 / avg, rtol=1e-12)
    np.testing.assert_allclose(got_large, t, rtol=1e-12)


def test_clip_errors():
    with gf.Graph().as_default():
        with pytest.raises(TypeError, match="t_list should be a sequence"):
            clip_by_global_norm(gf.constant([1.0]), 1.0)
        with pytest.raises(TypeError, match="t_list should be a sequence"):
            global_norm(gf.constant([1.0]))
        with pytest.raises(ValueError, match="at least one tensor"):
            global_norm([None])
