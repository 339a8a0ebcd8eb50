"""Tests for gf.graph_util: freezing variables into constants, extracting subgraphs, removing training nodes."""
import numpy as np
import pytest

import graphflow as gf
from graphflow import graph_util
from graphflow.io.importer import import_graph_def
from graphflow.io.tensor_proto import make_ndarray
from graphflow.proto import graph_pb2

W = np.arange(6, dtype=np.float32).reshape(3, 2)
X = np.array([[1.0, 2.0, 3.0]], np.float32)


def trained_model():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, 3], name="x")
        w = gf.Variable(np.zeros((3, 2), np.float32), name="w")
        b = gf.Variable(np.zeros(2, np.float32), name="b")
        y = gf.identity(gf.matmul(x, w) + b, name="y")
        gf.identity(gf.reduce_sum(y), name="unrelated")
        sess = gf.Session(graph=graph)
        sess.run(gf.global_variables_initializer())
        sess.run([w.assign(W), b.assign([10.0, 20.0])])  # values differ from the initializers
    return graph, sess


def test_freeze_replaces_variables_by_their_session_values():
    graph, sess = trained_model()
    frozen = graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), ["y"])
    by_name = {n.name: n for n in frozen.node}
    assert by_name["w"].op == "Const" and by_name["b"].op == "Const"
    assert not any(n.op in ("VariableV2", "Assign") for n in frozen.node)
    assert "unrelated" not in by_name
    np.testing.assert_array_equal(make_ndarray(by_name["w"].attr["value"].tensor), W)
    assert list(by_name["w/read"].input) == ["w"]  # reads now read the constant
    fresh = gf.Graph()
    with fresh.as_default():
        y, = import_graph_def(frozen, name="", return_elements=["y:0"])
        got = gf.Session().run(y, {"x:0": X})
    np.testing.assert_allclose(got, X @ W + [10.0, 20.0])


def test_freeze_white_and_black_lists():
    graph, sess = trained_model()
    graph_def = graph.as_graph_def()
    only_w = graph_util.convert_variables_to_constants(sess, graph_def, ["y"], variable_names_whitelist=["w"])
    assert {n.name: n.op for n in only_w.node}["b"] == "VariableV2"
    not_w = graph_util.convert_variables_to_constants(sess, graph_def, ["y"], variable_names_blacklist=["w"])
    ops = {n.name: n.op for n in not_w.node}
    assert ops["w"] == "VariableV2" and ops["b"] == "Const"


def test_freeze_refuses_to_freeze_a_written_variable():
    graph, sess = trained_model()
    with graph.as_default():
        gf.group(graph.get_collection("variables")[0].assign_add(np.ones((3, 2), np.float32)), name="step")
    with pytest.raises(ValueError, match="writes variable 'w'"):
        graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), ["y", "step"])


def test_extract_sub_graph_follows_data_and_control_inputs():
    graph = gf.Graph()
    with graph.as_default():
        a = gf.constant(1.0, name="a")
        b = gf.constant(2.0, name="b")
        c = gf.add(a, b, name="c")
        gate = gf.no_op(name="gate")
        with gf.control_dependencies([gate]):
            d = gf.negative(c, name="d")
        gf.multiply(d, 3.0, name="e")
    graph_def = graph.as_graph_def()
    sub = graph_util.extract_sub_graph(graph_def, ["d"])
    assert [n.name for n in sub.node] == ["a", "b", "c", "gate", "d"]  # original order kept
    assert sub.versions == graph_def.versions
    with pytest.raises(ValueError, match="'zzz' is not in the graph"):
        graph_util.extract_sub_graph(graph_def, ["zzz"])
    with pytest.raises(TypeError, match="list"):
        graph_util.extract_sub_graph(graph_def, "d")
    with pytest.raises(TypeError, match="GraphDef"):
        graph_util.extract_sub_graph("not a graph", ["d"])


def hand_graph(*specs):
    graph_def = graph_pb2.GraphDef()
    for name, op, inputs in specs:
        node = graph_def.node.add(name=name, op=op)
        node.input.extend(inputs)
    return graph_def


def test_remove_training_nodes_splices_pass_throughs():
    graph_def = hand_graph(("x", "Placeholder", []), ("check", "CheckNumerics", ["x"]), ("id1", "Identity", ["check"]),
                           ("sg", "StopGradient", ["id1:0"]), ("gate", "NoOp", []),
                           ("guarded", "Identity", ["sg", "^gate"]), ("keep", "Identity", ["guarded"]),
                           ("out", "Neg", ["keep"]), ("watch", "Identity", ["out"]), ("after", "NoOp", ["^watch"]))
    pruned = graph_util.remove_training_nodes(graph_def, protected_nodes=["keep"])
    inputs = {n.name: list(n.input) for n in pruned.node}
    assert inputs == {"x": [], "gate": [], "guarded": ["x", "^gate"],  # control-dependent Identity stays
                      "keep": ["guarded"],  # protected
                      "out": ["keep"], "watch": ["out"],  # used as a control input: stays
                      "after": ["^watch"]}


def test_remove_training_nodes_keeps_graph_runnable():
    graph, sess = trained_model()
    frozen = graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), ["y"])
    pruned = graph_util.remove_training_nodes(frozen, protected_nodes=["y"])
    assert not any(n.name.endswith("/read") for n in pruned.node)
    fresh = gf.Graph()
    with fresh.as_default():
        y, = import_graph_def(pruned, return_elements=["y:0"])
        np.testing.assert_allclose(gf.Session().run(y, {"import/x:0": X}), X @ W + [10.0, 20.0])
    assert graph_util.tensor_shape_from_node_def_name(fresh, "import/y").dims == (None, 2)
