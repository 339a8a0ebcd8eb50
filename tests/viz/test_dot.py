"""Graphviz view: clusters per name scope, gradient cluster, dashed control edges, shape labels, SVG rendering."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import graphflow as gf
from graphflow.viz.dot import to_dot


def build():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, 3], name="x")
        with gf.name_scope("net"):
            with gf.name_scope("dense"):
                w = gf.Variable(np.ones((3, 2), np.float32), name="w")
                y = gf.add(gf.matmul(x, w), 1.0)
        loss = gf.reduce_mean(y, name="loss")
        (grad,) = gf.gradients(loss, [w])
        with gf.control_dependencies([loss]):
            gf.identity(grad, name="after_loss")
    return graph


def edge_lines(source, src, dst):
    return [line for line in source.splitlines() if re.search(rf'"?{re.escape(src)}"? -> "?{re.escape(dst)}"?(\s|$)',
                                                              line.strip())]


def test_clusters_follow_nested_name_scopes():
    source = to_dot(build()).source
    assert "subgraph cluster_net {" in source
    assert 'subgraph "cluster_net/dense" {' in source
    assert 'subgraph "cluster_net/dense/w" {' in source  # the variable sits with its Assign and read
    # nesting: net/dense opens after net and before net closes
    net, dense = source.index("subgraph cluster_net {"), source.index('subgraph "cluster_net/dense" {')
    assert net < dense
    node_line = next(line for line in source.splitlines() if line.strip().startswith('"net/dense/MatMul" ['))
    assert 'label="MatMul\\nMatMul"' in node_line  # dot's line break between name and op type


def test_node_kinds_are_styled_apart():
    source = to_dot(build()).source
    lines = {m.group(1): m.group(2) for m in re.finditer(r'^\s*"?([\w/]+)"? \[(.*?)\]$', source, re.M | re.S)}
    assert "shape=invhouse" in lines["x"]
    assert "shape=cylinder" in lines["net/dense/w"]
    assert "fillcolor=\"#e8e8e8\"" in lines["net/dense/w/initial_value"]
    assert "shape=box" in lines["net/dense/MatMul"] and "rounded" in lines["net/dense/MatMul"]


def test_gradient_ops_get_their_own_coloured_cluster():
    source = to_dot(build()).source
    start = source.index("subgraph cluster_gradients {")
    header = source[start:source.index("\n", source.index("\n", start) + 1)]
    assert 'color="#c0392b"' in header and "filled" in header
    graph = build()
    gradient_ops = [op.name for op in graph.get_operations() if op.name.startswith("gradients/")]
    assert gradient_ops
    block = source[start:]
    assert all(f'"{name}" [' in block for name in gradient_ops)


def test_collapse_gradients_draws_one_node():
    graph = build()
    source = to_dot(graph, collapse_gradients=True).source
    count = sum(op.name.startswith("gradients/") for op in graph.get_operations())
    # no gradient op is drawn on its own, nor is the end of an edge
    assert not re.search(r'^\s*"gradients/|-> "gradients/', source, re.M)
    assert f'label="gradients\\n({count} ops)"' in source
    assert edge_lines(source, "loss", "gradients") and edge_lines(source, "gradients", "after_loss")
    assert not edge_lines(source, "gradients", "gradients")


def test_control_edges_dashed_and_shapes_on_data_edges():
    source = to_dot(build()).source
    (control,) = edge_lines(source, "loss", "after_loss")
    assert "style=dashed" in control
    (data,) = edge_lines(source, "x", "net/dense/MatMul")
    assert 'label="(?, 3)"' in data and "dashed" not in data
    (assign_ref,) = edge_lines(source, "net/dense/w", "net/dense/w/Assign")
    assert "style=bold" in assign_ref
    assert 'label="(?, 3)"' not in to_dot(build(), show_shapes=False).source


def test_graph_def_input_takes_shapes_from_output_shapes_attr():
    graph = build()
    from_def = to_dot(graph.as_graph_def(add_shapes=True)).source
    (data,) = edge_lines(from_def, "x", "net/dense/MatMul")
    assert 'label="(?, 3)"' in data
    (control,) = edge_lines(from_def, "loss", "after_loss")
    assert "style=dashed" in control
    without_shapes = to_dot(graph.as_graph_def()).source
    assert "label=\"(?, 3)\"" not in without_shapes


def test_render_svg_with_dot(tmp_path):
    graph = build()
    path = gf.viz.render(graph, str(tmp_path / "graph.svg"), format="svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    ns = {"svg": "http://www.w3.org/2000/svg"}
    nodes = root.findall(".//svg:g[@class='node']", ns)
    assert len(nodes) == len(graph.get_operations())
    clusters = {c.find("svg:title", ns).text for c in root.findall(".//svg:g[@class='cluster']", ns)}
    assert {"cluster_net", "cluster_net/dense", "cluster_gradients"} <= clusters


def test_notebook_svg_repr():
    svg = build()._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg


def test_rejects_other_objects():
    with pytest.raises(TypeError, match="Graph or a GraphDef"):
        to_dot("graph")
