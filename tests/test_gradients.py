"""Tests for graphflow.gradients: hand-derived derivatives, higher order, overrides, error paths and scaling."""
import importlib

import numpy as np
import pytest

import graphflow as gf
from graphflow.framework import registry
from graphflow.framework.graph import Graph
from graphflow.framework.registry import OpDef

# the module, not the function `gf.gradients` that shadows it as a package attribute
gradients_module = importlib.import_module("graphflow.gradients")


def _session_run(graph, fetches, feed=None):
    with gf.Session(graph=graph) as sess:
        return sess.run(fetches, feed)


def _numeric_grad(graph, objective, x, value, feed=None, eps=1e-6):
    """Central differences of scalar `objective` w.r.t. placeholder `x` at `value`."""
    feed = dict(feed or {})
    out = np.zeros_like(value)
    with gf.Session(graph=graph) as sess:
        for j in range(value.size):
            shifted = value.copy()
            shifted.reshape(-1)[j] += eps
            plus = sess.run(objective, {**feed, x: shifted})
            shifted.reshape(-1)[j] -= 2 * eps
            minus = sess.run(objective, {**feed, x: shifted})
            out.reshape(-1)[j] = (plus - minus) / (2 * eps)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Hand-derived first derivatives
# ---------------------------------------------------------------------------------------------------------------------
def test_cube_and_its_higher_derivatives():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [4])
        y = x * x * x
        d1, = gf.gradients(y, x)
        d2, = gf.gradients(d1, x)
        d3, = gf.gradients(d2, x)
        d4, = gf.gradients(d3, x)
    value = np.array([-2.0, -0.5, 1.0, 3.0])
    g1, g2, g3 = _session_run(graph, [d1, d2, d3], {x: value})
    np.testing.assert_allclose(g1, 3 * value ** 2)
    np.testing.assert_allclose(g2, 6 * value)
    np.testing.assert_allclose(g3, np.full(4, 6.0))
    # the third derivative is constant: the fourth no longer depends on x
    assert d4 is None


def test_matmul_gradients():
    rng = np.random.default_rng(0)
    a_val, b_val, w_val = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    graph = Graph()
    with graph.as_default():
        a = gf.placeholder(gf.float64, [3, 4])
        b = gf.placeholder(gf.float64, [4, 2])
        loss = gf.reduce_sum(gf.matmul(a, b) * w_val)
        da, db = gf.gradients(loss, [a, b])
    ga, gb = _session_run(graph, [da, db], {a: a_val, b: b_val})
    np.testing.assert_allclose(ga, w_val @ b_val.T)
    np.testing.assert_allclose(gb, a_val.T @ w_val)


def test_softmax_cross_entropy_from_primitives():
    rng = np.random.default_rng(1)
    logits_val = rng.standard_normal((5, 3))
    labels_val = np.eye(3)[rng.integers(0, 3, 5)]
    graph = Graph()
    with graph.as_default():
        logits = gf.placeholder(gf.float64, [5, 3])
        labels = gf.constant(labels_val)
        log_z = gf.log(gf.reduce_sum(gf.exp(logits), axis=1, keepdims=True))
        loss = -gf.reduce_sum(labels * (logits - log_z))
        d_logits, = gf.gradients(loss, logits)
    got = _session_run(graph, d_logits, {logits: logits_val})
    softmax = np.exp(logits_val) / np.exp(logits_val).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, softmax - labels_val, atol=1e-12)


def test_two_paths_are_summed_with_add_n():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [3])
        y = x * x + gf.sin(x)
        dx, = gf.gradients(y, x)
    assert dx.op.type == "AddN"
    assert dx.op.name.startswith("gradients/")
    value = np.array([0.1, 1.0, -2.0])
    np.testing.assert_allclose(_session_run(graph, dx, {x: value}), 2 * value + np.cos(value))


def test_list_of_ys_is_summed():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [2])
        dx, = gf.gradients([x * 3.0, x * x], x)
    value = np.array([1.0, -4.0])
    np.testing.assert_allclose(_session_run(graph, dx, {x: value}), 3 + 2 * value)


def test_unconnected_gradients_none_and_zero():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [2])
        z = gf.placeholder(gf.float64, [2, 3])
        y = gf.reduce_sum(x * 2.0)
        assert gf.gradients(y, [x, z])[1] is None
        dz = gf.gradients(y, z, unconnected_gradients="zero")[0]
    np.testing.assert_array_equal(_session_run(graph, dz, {z: np.ones((2, 3))}), np.zeros((2, 3)))
    with graph.as_default(), pytest.raises(ValueError, match="unconnected_gradients"):
        gf.gradients(y, x, unconnected_gradients="zeros")


def test_integer_tensors_are_not_differentiated():
    graph = Graph()
    with graph.as_default():
        i = gf.placeholder(gf.int32, [2])
        x = gf.placeholder(gf.float64, [2])
        y = gf.reduce_sum(gf.cast(i, gf.float64) * x)
        di, dx = gf.gradients(y, [i, x])
    assert di is None
    np.testing.assert_allclose(_session_run(graph, dx, {i: [3, 4], x: [1.0, 1.0]}), [3.0, 4.0])


def test_stop_gradient_op_and_stop_gradients_argument():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [3])
        a = x * x
        via_op, = gf.gradients(gf.stop_gradient(a) * x, x)
        via_arg, = gf.gradients(a * x, x, stop_gradients=[a])
        full, = gf.gradients(a * x, x)
    value = np.array([1.0, 2.0, -3.0])
    got_op, got_arg, got_full = _session_run(graph, [via_op, via_arg, full], {x: value})
    np.testing.assert_allclose(got_op, value ** 2)
    np.testing.assert_allclose(got_arg, value ** 2)
    np.testing.assert_allclose(got_full, 3 * value ** 2)


def test_grad_ys_seed():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [3])
        seed = np.array([1.0, -2.0, 0.5])
        dx, = gf.gradients(x * x, x, grad_ys=seed)
        dx_list, = gf.gradients([x * x, 3.0 * x], x, grad_ys=[seed, seed])
    value = np.array([2.0, 3.0, 4.0])
    got, got_list = _session_run(graph, [dx, dx_list], {x: value})
    np.testing.assert_allclose(got, 2 * value * seed)
    np.testing.assert_allclose(got_list, (2 * value + 3) * seed)


def test_gradient_wrt_intermediate_tensor():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [2])
        h = gf.exp(x)
        dh, = gf.gradients(h * h, h)
    value = np.array([0.0, 1.0])
    np.testing.assert_allclose(_session_run(graph, dh, {x: value}), 2 * np.exp(value))


# ---------------------------------------------------------------------------------------------------------------------
# Higher order
# ---------------------------------------------------------------------------------------------------------------------
def test_gradient_of_gradient_through_matmul_and_reductions():
    rng = np.random.default_rng(2)
    a_val, b_val = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    graph = Graph()
    with graph.as_default():
        a = gf.placeholder(gf.float64, [3, 4])
        b = gf.placeholder(gf.float64, [4, 2])
        f = gf.reduce_sum(gf.tanh(gf.matmul(a, b))) + gf.reduce_mean(gf.reduce_max(gf.matmul(a, b), axis=1))
        da, = gf.gradients(f, a)
        objective = gf.reduce_sum(da * da)
        d_b, = gf.gradients(objective, b)
    got = _session_run(graph, d_b, {a: a_val, b: b_val})
    numeric = _numeric_grad(graph, objective, b, b_val, {a: a_val})
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7)


def test_hessians_match_hand_hessian():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((3, 3))
    x_val = rng.standard_normal((3, 1))
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [3, 1])
        f = 0.5 * gf.reduce_sum(x * gf.matmul(q, x)) + gf.reduce_sum(x * x * x)
        h, = gf.hessians(f, x)
    assert h.shape.as_list() == [3, 1, 3, 1]
    expected = 0.5 * (q + q.T) + np.diag(6 * x_val[:, 0])
    np.testing.assert_allclose(_session_run(graph, h, {x: x_val}).reshape(3, 3), expected, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------------
# Overrides and custom gradients
# ---------------------------------------------------------------------------------------------------------------------
@gf.RegisterGradient("TestGradientsTripledSquare")
def _tripled_square_grad(op, dy):
    return [dy * 3.0 * op.inputs[0]]


def test_gradient_override_map_replaces_square_gradient():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [2])
        with graph.gradient_override_map({"Square": "TestGradientsTripledSquare"}):
            overridden = gf.square(x)
        plain = gf.square(x)
        d_over, = gf.gradients(overridden, x)
        d_plain, = gf.gradients(plain, x)
    value = np.array([1.0, -2.0])
    got_over, got_plain, forward = _session_run(graph, [d_over, d_plain, overridden], {x: value})
    np.testing.assert_allclose(forward, value ** 2)
    np.testing.assert_allclose(got_over, 3 * value)
    np.testing.assert_allclose(got_plain, 2 * value)


def test_register_gradient_twice_is_an_error():
    with pytest.raises(KeyError, match="TestGradientsTripledSquare"):
        gf.RegisterGradient("TestGradientsTripledSquare")(_tripled_square_grad)


def test_override_to_unregistered_name_is_an_error_naming_the_op():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [2])
        with graph.gradient_override_map({"Square": "TestGradientsNeverRegistered"}):
            y = gf.square(x, name="odd_square")
        with pytest.raises(LookupError, match="odd_square"):
            gf.gradients(y, x)


def test_custom_gradient():
    @gf.custom_gradient
    def clip_gradient_norm(x):
        def grad(dy):
            return gf.clip_by_value(dy, -1.0, 1.0)
        return gf.identity(x * 1.0), grad

    @gf.custom_gradient
    def log1pexp(x):
        e = gf.exp(x)

        def grad(dy):
            return dy * (1 - 1 / (1 + e))
        return gf.log(1 + e), grad

    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [3])
        y = clip_gradient_norm(x)
        dx, = gf.gradients(y * 5.0, x)
        z = log1pexp(x)
        dz, = gf.gradients(z, x)
    assert y.op.type == "IdentityN"
    value = np.array([-1.0, 0.0, 2.0])
    got_y, got_dx, got_z, got_dz = _session_run(graph, [y, dx, z, dz], {x: value})
    np.testing.assert_allclose(got_y, value)
    np.testing.assert_allclose(got_dx, np.ones(3))
    np.testing.assert_allclose(got_z, np.log1p(np.exp(value)))
    np.testing.assert_allclose(got_dz, 1 / (1 + np.exp(-value)))


def test_identity_n_passes_values_and_gradients():
    graph = Graph()
    with graph.as_default():
        a = gf.placeholder(gf.float64, [2])
        b = gf.placeholder(gf.float64, [3])
        ya, yb = graph.create_op("IdentityN", [a, b]).outputs
        da, db = gf.gradients(gf.reduce_sum(ya * 2.0) + gf.reduce_sum(yb * yb), [a, b])
    got = _session_run(graph, [ya, yb, da, db], {a: [1.0, 2.0], b: [3.0, 4.0, 5.0]})
    np.testing.assert_allclose(got[0], [1.0, 2.0])
    np.testing.assert_allclose(got[1], [3.0, 4.0, 5.0])
    np.testing.assert_allclose(got[2], [2.0, 2.0])
    np.testing.assert_allclose(got[3], [6.0, 8.0, 10.0])


# ---------------------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------------------
def test_gradient_ops_live_under_gradients_scopes():
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [2, 2])
        y = gf.reduce_sum(gf.tanh(gf.matmul(x, x)), name="loss")
        before = len(graph.get_operations())
        gf.gradients(y, x)
        gf.gradients(y, x, name="second")
    created = graph.get_operations()[before:]
    assert created
    assert all(op.name.startswith(("gradients/", "second/")) for op in created), [op.name for op in created]
    assert any(op.name.startswith("gradients/loss_grad/") for op in created)
    assert any(op.name.startswith("second/") for op in created)


# ---------------------------------------------------------------------------------------------------------------------
# Error paths
# ---------------------------------------------------------------------------------------------------------------------
def test_non_tensor_xs_or_ys_is_a_type_error():
    with Graph().as_default():
        x = gf.placeholder(gf.float64, [2])
        with pytest.raises(TypeError, match="xs"):
            gf.gradients(x * 2.0, [np.ones(2)])
        with pytest.raises(TypeError, match="ys"):
            gf.gradients(3.0, x)


def test_grad_ys_shape_mismatch_is_a_value_error():
    with Graph().as_default():
        x = gf.placeholder(gf.float64, [3])
        y = x * 2.0
        with pytest.raises(ValueError, match="grad_ys"):
            gf.gradients(y, x, grad_ys=np.ones(4))
        with pytest.raises(ValueError, match="grad_ys"):
            gf.gradients(y, x, grad_ys=[np.ones(3), np.ones(3)])


def test_tensors_of_another_graph_are_rejected():
    with Graph().as_default():
        x = gf.placeholder(gf.float64, [2])
    with Graph().as_default():
        y = gf.placeholder(gf.float64, [2]) * 2.0
        with pytest.raises(ValueError, match="different graph"):
            gf.gradients(y, x)


class _NoDecision(OpDef):
    """A test-only op whose author forgot to decide about gradients."""

    op_type = "TestGradientsNoDecision"

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[0].shape)]

    def kernel(self, xp, x):
        return x


def test_op_without_gradient_decision_raises_lookup_error_naming_it(monkeypatch):
    # registered only for this test, so the registry-wide completeness test never sees it
    monkeypatch.setitem(registry._REGISTRY, _NoDecision.op_type, _NoDecision())
    graph = Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, [2])
        y = graph.create_op(_NoDecision.op_type, [x * 2.0], name="forgetful").outputs[0]
        with pytest.raises(LookupError, match="TestGradientsNoDecision") as info:
            gf.gradients(y, x)
    assert "forgetful" in str(info.value)


# ---------------------------------------------------------------------------------------------------------------------
# Scaling: cost follows the ops between xs and ys, not the graph
# ---------------------------------------------------------------------------------------------------------------------
class _NoIterationList(list):
    """The graph's op list, made to fail if anything walks the whole graph."""

    def __iter__(self):
        raise AssertionError("gradients() iterated over every op of the graph")


def _chain_graph(padding: int):
    graph = Graph()
    with graph.as_default():
        other = gf.placeholder(gf.float32, [4])
        for _ in range(padding // 2):
            other = gf.sin(other) * 1.5  # two unrelated ops per step
        x = gf.placeholder(gf.float32, [4])
        h = x
        for i in range(50):  # a 100-op chain
            h = gf.tanh(h) + 0.5
        for _ in range(padding // 100):
            gf.exp(x)  # dead-end consumers of x hanging off the chain, unrelated to y
    return graph, x, h


def test_gradients_touch_only_the_chain(monkeypatch):
    visited = []
    original_backward, original_forward = gradients_module._reach_backward, gradients_module._reach_forward

    def count_backward(*args):
        result = original_backward(*args)
        visited.append(("backward", len(result)))
        return result

    def count_forward(*args):
        result = original_forward(*args)
        visited.append(("forward", len(result)))
        return result

    monkeypatch.setattr(gradients_module, "_reach_backward", count_backward)
    monkeypatch.setattr(gradients_module, "_reach_forward", count_forward)
    monkeypatch.setattr(Graph, "get_operations", lambda self: pytest.fail("gradients() called get_operations"))

    created, names = [], []
    for padding in (0, 10_000):
        graph, x, y = _chain_graph(padding)
        assert len(graph) >= padding
        graph._ops = _NoIterationList(graph._ops)
        before = len(graph)
        with graph.as_default():
            dx, = gf.gradients(y, x)
        created.append(len(graph) - before)
        names.append([op.name for op in list.__iter__(graph._ops)][before:])
        graph._ops = list(list.__iter__(graph._ops))
        if padding:
            value = np.linspace(-1, 1, 4).astype(np.float32)
            got = _session_run(graph, dx, {x: value})
            expected = np.ones(4)
            h = value.astype(np.float64)
            for _ in range(50):
                t = np.tanh(h)
                expected = expected * (1 - t * t)
                h = t + 0.5
            np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert created[0] == created[1]
    assert names[0] == names[1]  # same ops, same names, same order
    assert visited[:2] == visited[2:]
    backward_size = visited[0][1]
    assert backward_size == 151  # 50 Tanh, 50 Add, their 50 constants and x


def test_no_ops_are_built_for_inputs_that_need_no_gradient():
    g = gf.Graph()
    with g.as_default():
        x = gf.placeholder(gf.float64, [4])
        c = gf.constant(3.0, dtype=gf.float64)
        y = x * c  # c is broadcast: its gradient would need a Sum and a Reshape
        before = len(g.get_operations())
        (dx,) = gf.gradients(y, [x])
        created = [op.type for op in g.get_operations()[before:]]
        with gf.Session() as sess:
            np.testing.assert_array_equal(sess.run(dx, {x: np.arange(4.0)}), [3.0] * 4)
    assert "Sum" not in created and "Reshape" not in created
    assert created.count("Mul") == 1  # dy * c only; dy * x for the constant is never built
