"""networkx view: nodes and edges equal the graph's, with op, shape and control attributes."""
import networkx as nx
import numpy as np
import pytest

import graphflow as gf
from graphflow.viz import to_networkx


def build():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, 3], name="x")
        with gf.name_scope("dense"):
            w = gf.Variable(np.ones((3, 2), np.float32), name="w")
            y = gf.matmul(x, w)
        doubled = gf.add(y, y, name="doubled")  # two edges between one pair of ops
        loss = gf.reduce_mean(doubled, name="loss")
        gf.gradients(loss, [w])
        with gf.control_dependencies([loss]):
            gf.identity(y, name="after")
            gf.no_op(name="only_control")
    return graph


def expected_edges(graph):
    edges = set()
    for op in graph.get_operations():
        edges.update((t.op.name, op.name) for t in op.inputs)
        edges.update((c.name, op.name) for c in op.control_inputs)
    return edges


@pytest.mark.parametrize("as_def", [False, True])
def test_nodes_and_edges_equal_the_graph(as_def):
    graph = build()
    g = to_networkx(graph.as_graph_def(add_shapes=True) if as_def else graph)
    assert set(g.nodes) == {op.name for op in graph.get_operations()}
    assert set(g.edges) == expected_edges(graph)
    assert g.nodes["dense/MatMul"]["op"] == "MatMul"
    assert g.nodes["dense/MatMul"]["shapes"] == ["(?, 2)"]
    edge = g.edges["x", "dense/MatMul"]
    assert (edge["tensor"], edge["shape"], edge["control"]) == ("x:0", "(?, 3)", False)
    assert g.edges["dense/MatMul", "doubled"]["tensors"] == ["dense/MatMul:0", "dense/MatMul:0"]
    pure = g.edges["loss", "only_control"]
    assert (pure["control"], pure["tensor"], pure["tensors"]) == (True, None, [])
    assert g.edges["dense/w", "dense/w/Assign"]["ref"] is True
    order = {name: i for i, name in enumerate(nx.topological_sort(g))}
    assert all(order[u] < order[v] for u, v in g.edges)


def test_device_and_dtype_attributes():
    graph = gf.Graph()
    with graph.as_default(), gf.device("/cpu:0"):
        gf.placeholder(gf.int32, [2], name="p")
    g = to_networkx(graph)
    assert g.nodes["p"]["device"] == "/cpu:0" and g.nodes["p"]["dtypes"] == ["int32"]
