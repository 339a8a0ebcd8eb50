"""variable_scope / get_variable: TF1 naming, reuse modes, defaults, regularizers, per-graph stores."""
import numpy as np
import pytest

import graphflow as gf


@pytest.fixture(autouse=True)
def fresh_default_graph():
    gf.reset_default_graph()


def test_names_and_name_scopes():
    with gf.variable_scope("net") as scope:
        w = gf.get_variable("w", [2, 3])
        op = gf.constant(1.0) + 1.0
        with gf.variable_scope("inner"):
            b = gf.get_variable("b", [3], dtype=gf.int32)
    assert scope.name == "net" and scope.original_name_scope == "net/"
    assert w.name == "net/w:0" and b.name == "net/inner/b:0" and op.name.startswith("net/")
    assert gf.get_variable_scope().name == ""


def test_reuse_true_shares_and_opens_new_name_scope():
    with gf.variable_scope("net"):
        w = gf.get_variable("w", [2, 3])
    with gf.variable_scope("net", reuse=True):
        same = gf.get_variable("w", [2, 3])
        unknown_shape = gf.get_variable("w")
        op = gf.constant(0.0) * 2.0
    assert same is w and unknown_shape is w
    assert op.name.startswith("net_1/")


def test_reuse_errors():
    with gf.variable_scope("net"):
        gf.get_variable("w", [2, 3])
    with pytest.raises(ValueError, match=r"Variable net/w already exists, disallowed. Did you mean to set "
                                         r"reuse=True or reuse=tf.AUTO_REUSE in VarScope\?"):
        with gf.variable_scope("net"):
            gf.get_variable("w", [2, 3])
    with pytest.raises(ValueError, match=r"Variable net/v does not exist, or was not created with "
                                         r"tf.get_variable\(\)"):
        with gf.variable_scope("net", reuse=True):
            gf.get_variable("v", [1])
    with pytest.raises(ValueError, match=r"Trying to share variable net/w, but specified shape \(3, 2\)"):
        with gf.variable_scope("net", reuse=True):
            gf.get_variable("w", [3, 2])
    with pytest.raises(ValueError, match="specified dtype float64"):
        with gf.variable_scope("net", reuse=True):
            gf.get_variable("w", [2, 3], dtype=gf.float64)
    with pytest.raises(ValueError, match="must be fully defined"):
        gf.get_variable("no_shape")
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"):
        with gf.variable_scope(None, default_name="x", reuse=True):
            pass


def test_auto_reuse_creates_then_shares():
    def model():
        with gf.variable_scope("m", reuse=gf.AUTO_REUSE):
            return gf.get_variable("w", [4])
    assert model() is model()
    assert len(gf.global_variables()) == 1


def test_reuse_is_inherited_and_reuse_variables():
    with gf.variable_scope("a"):
        with gf.variable_scope("b"):
            w = gf.get_variable("w", [1])
    with gf.variable_scope("a", reuse=True):
        with gf.variable_scope("b", reuse=False):  # cannot switch reuse off inside a reusing scope
            assert gf.get_variable("w", [1]) is w
    with gf.variable_scope("c") as scope:
        v = gf.get_variable("v", [1])
        scope.reuse_variables()
        assert gf.get_variable("v", [1]) is v


def test_entering_scope_object_keeps_names():
    with gf.variable_scope("outer") as outer:
        pass
    with gf.variable_scope("elsewhere"):
        with gf.variable_scope(outer):
            w = gf.get_variable("w", [1])
            op = gf.constant(1.0, name="c")
    assert w.name == "outer/w:0" and op.name == "outer/c:0"


def test_default_names_are_unique_and_restart_in_reentered_scope():
    with gf.variable_scope("net"):
        with gf.variable_scope(None, default_name="dense"):
            a = gf.get_variable("k", [1])
        with gf.variable_scope(None, default_name="dense"):
            b = gf.get_variable("k", [1])
    with gf.variable_scope("net", reuse=True):
        with gf.variable_scope(None, default_name="dense"):
            again = gf.get_variable("k", [1])
    assert (a.name, b.name) == ("net/dense/k:0", "net/dense_1/k:0")
    assert again is a


def test_default_initializers_and_scope_initializer():
    w = gf.get_variable("w", [50, 50])
    n = gf.get_variable("n", [3], dtype=gf.int64)
    with gf.variable_scope("s", initializer=gf.initializers.constant(0.25), dtype=gf.float64):
        c = gf.get_variable("c", [2])
        explicit = gf.get_variable("e", [2], initializer=gf.initializers.ones())
        from_value = gf.get_variable("v", initializer=np.array([1.0, 2.0]))
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        wv, nv, cv, ev, vv = sess.run([w, n, c, explicit, from_value])
    limit = np.sqrt(6.0 / 100)  # glorot_uniform
    assert np.abs(wv).max() <= limit and wv.std() > 0.5 * limit / np.sqrt(3)
    assert nv.dtype == np.int64 and nv.tolist() == [0, 0, 0]
    assert cv.dtype == np.float64 and cv.tolist() == [0.25, 0.25]
    assert ev.tolist() == [1.0, 1.0] and vv.tolist() == [1.0, 2.0]


def test_regularizer_collection_and_trainable_flags():
    def l2(v):
        return 0.5 * gf.reduce_sum(v * v)
    with gf.variable_scope("r", regularizer=l2):
        w = gf.get_variable("w", [2], initializer=gf.initializers.constant([3.0, 4.0]))
        frozen = gf.get_variable("f", [2], trainable=False, regularizer=gf.no_regularizer)
    local = gf.get_local_variable("loc", [1])
    losses = gf.get_collection(gf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 1
    assert w in gf.trainable_variables() and frozen not in gf.trainable_variables()
    assert local in gf.local_variables() and local not in gf.global_variables()
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        assert sess.run(losses[0]) == pytest.approx(12.5)


def test_stores_are_per_graph():
    first = gf.Graph()
    with first.as_default():
        with gf.variable_scope("x"):
            gf.get_variable("w", [1])
    second = gf.Graph()
    with second.as_default():
        with gf.variable_scope("x"):
            w = gf.get_variable("w", [1])  # no "already exists": a different graph
    assert w.graph is second


def test_custom_getter_wraps_creation():
    calls = []

    def getter(next_getter, name, **kwargs):
        calls.append(name)
        return next_getter(name, **kwargs)
    with gf.variable_scope("g", custom_getter=getter):
        gf.get_variable("w", [1])
    assert calls == ["g/w"]
