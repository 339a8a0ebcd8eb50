"""cond: only the chosen branch runs, values and gradients match numpy, structures, nesting and errors."""
import numpy as np
import pytest

import graphflow as gf
from tests.harness import check_op


@pytest.fixture
def graph():
    g = gf.Graph()
    with g.as_default():
        yield g


def test_cond_values_and_gradients_through_the_chosen_branch():
    def build(a):
        return gf.cond(gf.reduce_sum(a) > 0, lambda: a * a + 1.0, lambda: -3.0 * a)

    for value in (np.array([1.0, 2.0, -0.5]), np.array([-1.0, 0.5, -2.0])):
        check_op(build, [value], lambda a: a * a + 1 if a.sum() > 0 else -3 * a)


def test_only_the_chosen_branch_runs(graph):
    calls = {"then": 0, "else": 0}

    def counted(label):
        def fn(v):
            calls[label] += 1
            return v
        return fn

    x = gf.placeholder(gf.float64, [2])
    flag = gf.placeholder(gf.bool, [])
    y = gf.cond(flag, lambda: gf.py_func(counted("then"), [x], gf.float64),
                lambda: gf.py_func(counted("else"), [x * 2.0], gf.float64))
    with gf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [1, 2], flag: True}), [1, 2])
        np.testing.assert_array_equal(sess.run(y, {x: [1, 2], flag: False}), [2, 4])
        sess.run(y, {x: [1, 2], flag: False})
    assert calls == {"then": 1, "else": 2}


def test_structures_variables_and_outer_tensors(graph):
    x = gf.placeholder(gf.float32, [3])
    w = gf.Variable(np.array([1.0, 2.0, 3.0], np.float32), name="w")
    pair = gf.cond(gf.constant(False), lambda: (x, {"sum": gf.reduce_sum(x)}),
                   lambda: (x * w, {"sum": gf.reduce_sum(w)}))
    assert isinstance(pair, tuple) and set(pair[1]) == {"sum"}
    dw = gf.gradients(pair[1]["sum"] + gf.reduce_sum(pair[0]), w)[0]
    with gf.Session() as sess:
        sess.run(w.initializer)
        first, second, grad = sess.run([pair[0], pair[1]["sum"], dw], {x: [1, 1, 2]})
    np.testing.assert_array_equal(first, [1, 2, 6])
    assert second == 6.0
    np.testing.assert_array_equal(grad, [2, 2, 3])  # d/dw [sum(w) + sum(x * w)] = 1 + x


def test_nested_cond_and_python_predicate(graph):
    x = gf.placeholder(gf.float64, [])
    outer_flag = gf.placeholder(gf.bool, [])
    y = gf.cond(outer_flag,
                lambda: gf.cond(x > 1.0, lambda: x * 10.0, lambda: x - 10.0),
                lambda: gf.cond(True, lambda: x + 100.0, lambda: x))
    dy = gf.gradients(y, x)[0]
    with gf.Session() as sess:
        assert sess.run([y, dy], {x: 2.0, outer_flag: True}) == [20.0, 10.0]
        assert sess.run([y, dy], {x: 0.5, outer_flag: True}) == [-9.5, 1.0]
        assert sess.run([y, dy], {x: 0.5, outer_flag: False}) == [100.5, 1.0]


def test_cond_errors(graph):
    x = gf.placeholder(gf.float32, [2])
    with pytest.raises(TypeError, match="float32 vs int32"):
        gf.cond(gf.constant(True), lambda: x, lambda: gf.constant([1, 2]))
    with pytest.raises(ValueError, match="different structures"):
        gf.cond(gf.constant(True), lambda: (x, x), lambda: x)
    with pytest.raises(ValueError, match="scalar bool"):
        gf.cond(gf.constant([True, False]), lambda: x, lambda: x)
    with pytest.raises(ValueError, match="Variables cannot be created inside a cond branch"):
        gf.cond(gf.constant(True), lambda: gf.Variable(1.0) * 2.0, lambda: gf.constant(0.0))
    with pytest.raises(TypeError, match="callable"):
        gf.cond(gf.constant(True), x, x)
    # the failed builds left the enclosing graph usable
    with gf.Session() as sess:
        np.testing.assert_array_equal(sess.run(x + 1.0, {x: [1, 2]}), [2, 3])
