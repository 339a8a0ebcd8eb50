"""networkx view of a graph: one node per op, one edge per (producer, consumer) pair, with tensors and shapes."""
from __future__ import annotations

import networkx as nx

from .dot import GraphLike, graph_structure


def to_networkx(graph: GraphLike) -> nx.DiGraph:
    """A networkx.DiGraph of a Graph or GraphDef.

    Node attributes: `op` (type), `device`, `shapes` (output shape strings), `dtypes` (output dtype names; empty for
    a GraphDef). Edge attributes: `tensors` and `shapes` (every data tensor carried from producer to consumer, in
    input order), `tensor` and `shape` (the first of them, None for a pure control edge), `control` (True when the
    consumer depends on the producer only through a control input), `ref` (a ref input such as Assign's variable).

    Args:
        graph: a Graph or a GraphDef.
    Returns:
        The DiGraph; `networkx.topological_sort` of it is a valid execution order.
    """
    nodes, edges = graph_structure(graph)
    out = nx.DiGraph()
    for node in nodes:
        out.add_node(node.name, op=node.op_type, device=node.device, shapes=list(node.output_shapes),
                     dtypes=list(node.output_dtypes))
    for edge in edges:
        if not out.has_edge(edge.src, edge.dst):
            out.add_edge(edge.src, edge.dst, tensors=[], shapes=[], tensor=None, shape=None, control=True, ref=False)
        data = out.edges[edge.src, edge.dst]
        if edge.control:
            continue
        if data["tensor"] is None:
            data["tensor"], data["shape"] = edge.tensor, edge.shape
        data["tensors"].append(edge.tensor)
        data["shapes"].append(edge.shape)
        data["control"] = False
        data["ref"] = data["ref"] or edge.ref
    return out
