"""Graphviz pictures of a graph: a cluster per name scope, op types and shapes, gradient ops drawn apart."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import graphviz

from ..framework import registry
from ..framework.graph import Graph
from ..framework.tensor import register_service
from ..proto import graph_pb2

GraphLike = Union[Graph, graph_pb2.GraphDef]
_GRADIENT_SCOPE = re.compile(r"gradients(_\d+)?")
_VARIABLE_TYPES = {"VariableV2", "Variable", "VarHandleOp"}
_PLACEHOLDER_TYPES = {"Placeholder", "PlaceholderWithDefault"}
_GRADIENT_FILL = "#fde4e4"


@dataclass
class VizEdge:
    """One input of a node: a data tensor (`tensor`, `shape`) or a control dependency (`control`)."""

    src: str
    dst: str
    tensor: Optional[str]
    shape: Optional[str]
    control: bool = False
    ref: bool = False


@dataclass
class VizNode:
    """What the views need to know about one op."""

    name: str
    op_type: str
    device: str
    output_shapes: List[Optional[str]] = field(default_factory=list)
    output_dtypes: List[str] = field(default_factory=list)


def _shape_proto_str(shape: Any) -> str:
    """TensorShapeProto → the TensorShape string form: '<unknown>', '()', '(3,)', '(?, 3)'."""
    if shape.unknown_rank:
        return "<unknown>"
    dims = ["?" if d.size < 0 else str(d.size) for d in shape.dim]
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


def _ref_inputs(op_type: str) -> Tuple[int, ...]:
    try:
        return tuple(getattr(registry.get_opdef(op_type), "ref_inputs", ()))
    except KeyError:
        return ()


def graph_structure(graph: GraphLike) -> Tuple[List[VizNode], List[VizEdge]]:
    """Nodes and edges of a Graph or GraphDef; GraphDef shapes come from its `_output_shapes` attrs when present."""
    nodes: List[VizNode] = []
    edges: List[VizEdge] = []
    if isinstance(graph, Graph):
        for op in graph.get_operations():
            nodes.append(VizNode(op.name, op.type, op.device, [str(t.shape) for t in op.outputs],
                                 [t.dtype.name for t in op.outputs]))
            refs = getattr(op.opdef, "ref_inputs", ())
            for index, t in enumerate(op.inputs):
                edges.append(VizEdge(t.op.name, op.name, t.name, str(t.shape), ref=index in refs))
            edges.extend(VizEdge(c.name, op.name, None, None, control=True) for c in op.control_inputs)
        return nodes, edges
    if not isinstance(graph, graph_pb2.GraphDef):
        raise TypeError(f"Expected a graphflow Graph or a GraphDef, got {type(graph).__name__}")
    shapes: Dict[str, List[str]] = {}
    for node in graph.node:
        shapes[node.name] = [_shape_proto_str(s) for s in node.attr["_output_shapes"].list.shape] \
            if "_output_shapes" in node.attr else []
    for node in graph.node:
        nodes.append(VizNode(node.name, node.op, node.device, list(shapes[node.name])))
        refs = _ref_inputs(node.op)
        for index, spec in enumerate(node.input):
            if spec.startswith("^"):
                edges.append(VizEdge(spec[1:], node.name, None, None, control=True))
                continue
            src, _, port = spec.partition(":")
            slot = int(port) if port else 0
            produced = shapes.get(src, [])
            edges.append(VizEdge(src, node.name, f"{src}:{slot}", produced[slot] if slot < len(produced) else None,
                                 ref=index in refs))
    return nodes, edges


def _gradient_root(name: str) -> Optional[str]:
    """'gradients' for 'gradients/…' (or 'gradients_1' …), else None."""
    head = name.split("/", 1)[0]
    return head if "/" in name and _GRADIENT_SCOPE.fullmatch(head) else None


def _node_style(node: VizNode, in_gradients: bool) -> Dict[str, str]:
    if node.op_type in _VARIABLE_TYPES:
        style = {"shape": "cylinder", "style": "filled", "fillcolor": "#ffe39a"}
    elif node.op_type in _PLACEHOLDER_TYPES:
        style = {"shape": "invhouse", "style": "filled", "fillcolor": "#c6ddff"}
    elif node.op_type == "Const":
        style = {"shape": "box", "style": "filled", "fillcolor": "#e8e8e8", "fontsize": "9"}
    elif node.op_type.endswith("Summary"):
        style = {"shape": "note", "style": "filled", "fillcolor": "#dff3df"}
    else:
        style = {"shape": "box", "style": "rounded,filled",
                 "fillcolor": _GRADIENT_FILL if in_gradients else "white"}
    return style


class _Scope:
    """A name-scope tree node: its direct ops and child scopes."""

    def __init__(self, path: str):
        self.path = path
        self.nodes: List[VizNode] = []
        self.children: Dict[str, "_Scope"] = {}

    def child(self, part: str) -> "_Scope":
        if part not in self.children:
            self.children[part] = _Scope(f"{self.path}/{part}" if self.path else part)
        return self.children[part]


def _scope_tree(nodes: Iterable[VizNode]) -> _Scope:
    """Places each op in its name scope; an op whose own name is also a scope (a variable `w` with `w/read`)
    goes inside that scope, as TensorBoard draws it."""
    nodes = list(nodes)
    scopes = {n.name.rpartition("/")[0] for n in nodes}
    prefixes = set()
    for scope in scopes:
        parts = scope.split("/")
        prefixes.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    root = _Scope("")
    for node in nodes:
        path = node.name if node.name in prefixes else node.name.rpartition("/")[0]
        scope = root
        for part in (path.split("/") if path else []):
            scope = scope.child(part)
        scope.nodes.append(node)
    return root


def _collapsed_root(name: str, scopes: Tuple[str, ...]) -> Optional[str]:
    """The scope in `scopes` that `name` belongs to: its first component is the scope, or any component is the
    scope or a numbered copy of it (an optimizer's slots live under each variable: 'w/Adam', 'w/Adam_1')."""
    parts = name.split("/")
    for scope in scopes:
        if name == scope or name.startswith(scope + "/"):
            return scope
        numbered = re.compile(re.escape(scope) + r"(_\d+)?")
        if any(numbered.fullmatch(part) for part in parts[1:]):
            return scope
    return None


def to_dot(graph: GraphLike, collapse_gradients: bool = False, show_shapes: bool = True, rankdir: str = "TB",
           name: str = "graphflow", collapse_scopes: Iterable[str] = ()) -> graphviz.Digraph:
    """A graphviz Digraph of a Graph or GraphDef.

    Each name scope is a (nested) cluster; nodes show the op's last name component and its type; placeholders,
    variables, constants and summaries have their own shapes and colours; data edges carry the tensor's static
    shape, control edges are dashed, edges into ref inputs (Assign's variable) are bold. The gradient subgraph
    (`gradients/…`) is a red cluster, or a single node when `collapse_gradients`.

    Args:
        graph: a Graph, or a GraphDef (shapes then come from `_output_shapes`, if written).
        collapse_gradients: draw each `gradients*` scope as one node.
        collapse_scopes: name scopes drawn as one node each, e.g. the optimizer's "Adam" (its slot variables under
            each model variable, 'w/Adam', join that node) or the Saver's "save".
        show_shapes: label data edges with shapes.
        rankdir: graphviz layout direction ("TB", "LR", …).
        name: the digraph's name.
    Returns:
        A graphviz.Digraph (`.source` is the dot text; `.render(...)` writes a file; notebooks display it).
    """
    nodes, edges = graph_structure(graph)
    # newrank: graphviz's default ranking fails ("trouble in init_rank") on some nested-cluster graphs
    graph_attr = {"rankdir": rankdir, "compound": "true", "newrank": "true", "fontname": "Helvetica"}
    dot = graphviz.Digraph(name=name, graph_attr=graph_attr,
                           node_attr={"fontname": "Helvetica", "fontsize": "10"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "8"})
    rename: Dict[str, str] = {}
    collapsed = tuple(collapse_scopes)
    if collapse_gradients or collapsed:
        kept = []
        for node in nodes:
            root = _gradient_root(node.name) if collapse_gradients else None
            if root is None:
                root = _collapsed_root(node.name, collapsed)
            if root is None:
                kept.append(node)
            else:
                rename[node.name] = root
        counts: Dict[str, int] = {}
        for root in rename.values():
            counts[root] = counts.get(root, 0) + 1
        for root, count in counts.items():
            colours = ({"fillcolor": _GRADIENT_FILL, "color": "#c0392b"} if _GRADIENT_SCOPE.fullmatch(root)
                       else {"fillcolor": "#eeeeee", "color": "grey40"})
            dot.node(root, label=f"{root}\\n({count} ops)", shape="box3d", style="filled",
                     tooltip=f"{count} ops under {root}/", **colours)
        nodes = kept
    _emit_scope(dot, _scope_tree(nodes), in_gradients=False)
    seen = set()
    for edge in edges:
        src, dst = rename.get(edge.src, edge.src), rename.get(edge.dst, edge.dst)
        if src == dst:
            continue
        key = (src, dst, edge.control, edge.tensor if not rename else None)
        if key in seen:
            continue
        seen.add(key)
        attrs: Dict[str, str] = {}
        if edge.control:
            attrs.update(style="dashed", color="grey45", arrowhead="empty")
        else:
            if show_shapes and edge.shape is not None:
                attrs["label"] = graphviz.nohtml(edge.shape)  # '<unknown>' is not an HTML label
            attrs["tooltip"] = edge.tensor or ""
            if edge.ref:
                attrs.update(style="bold", color="#b8860b")
        dot.edge(src, dst, **attrs)
    return dot


def _emit_scope(dot: graphviz.Digraph, scope: _Scope, in_gradients: bool) -> None:
    for node in scope.nodes:
        short = node.name.rpartition("/")[2]
        attrs = _node_style(node, in_gradients)
        dot.node(node.name, label=f"{short}\\n{node.op_type}", tooltip=f"{node.name} ({node.op_type})"
                 + (f" on {node.device}" if node.device else ""), **attrs)
    for part, child in scope.children.items():
        gradient = in_gradients or (not scope.path and _GRADIENT_SCOPE.fullmatch(part) is not None)
        with dot.subgraph(name=f"cluster_{child.path}") as sub:
            if gradient:
                sub.attr(label=part, style="rounded,filled", color="#c0392b",
                         fillcolor=_GRADIENT_FILL if not in_gradients else "#fff3f3")
            else:
                sub.attr(label=part, style="rounded", color="grey50")
            _emit_scope(sub, child, gradient)


def render(graph: GraphLike, path: str, format: str = "svg", **options: Any) -> str:
    """Draws `graph` with the `dot` program into `path` ("svg", "png", "pdf" …).

    Args:
        graph: a Graph or GraphDef.
        path: the output file.
        format: graphviz output format.
        options: passed to `to_dot`.
    Returns:
        The path written.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    return to_dot(graph, **options).render(outfile=path, format=format, cleanup=True)


register_service("repr_svg", lambda graph: to_dot(graph)._repr_image_svg_xml())
