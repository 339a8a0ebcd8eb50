"""gf.graph_util: freeze, extract and prune GraphDefs (TF1's tf.graph_util)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Sequence

from ..io.tensor_proto import make_tensor_proto
from ..proto import graph_pb2

__all__ = ["convert_variables_to_constants", "extract_sub_graph", "remove_training_nodes",
           "tensor_shape_from_node_def_name"]

_VARIABLE_OPS = ("VariableV2", "Variable")
_REMOVED_OPS = ("CheckNumerics",)  # pass-throughs that only matter while training
_SPLICED_OPS = ("Identity", "StopGradient", "PreventGradient", "Snapshot")


def _node_name(input_name: str) -> str:
    """'^x' / 'x:1' / 'x' → 'x'."""
    name = input_name[1:] if input_name.startswith("^") else input_name
    base, sep, index = name.rpartition(":")
    return base if sep and index.isdigit() else name


def _empty_like(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    out = graph_pb2.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.library.CopyFrom(graph_def.library)
    return out


def extract_sub_graph(graph_def: graph_pb2.GraphDef, dest_nodes: Sequence[str]) -> graph_pb2.GraphDef:
    """The nodes `dest_nodes` need (through data and control inputs), in their original order.

    Raises:
        TypeError: graph_def is not a GraphDef, or dest_nodes is a single string.
        ValueError: a destination is not in the graph (named).
    """
    if not isinstance(graph_def, graph_pb2.GraphDef):
        raise TypeError(f"graph_def must be a GraphDef, got {type(graph_def).__name__}")
    if isinstance(dest_nodes, str):
        raise TypeError("dest_nodes must be a list of node names, not a single string")
    by_name = {node.name: node for node in graph_def.node}
    pending = [_node_name(d) for d in dest_nodes]
    for name in pending:
        if name not in by_name:
            raise ValueError(f"{name!r} is not in the graph")
    keep = set()
    while pending:
        name = pending.pop()
        if name in keep:
            continue
        if name not in by_name:
            raise ValueError(f"Node {name!r} is an input of the extracted subgraph but is not in the graph")
        keep.add(name)
        pending.extend(_node_name(i) for i in by_name[name].input)
    out = _empty_like(graph_def)
    out.node.extend(node for node in graph_def.node if node.name in keep)
    return out


def convert_variables_to_constants(sess: Any, input_graph_def: graph_pb2.GraphDef, output_node_names: Sequence[str],
                                   variable_names_whitelist: Optional[Iterable[str]] = None,
                                   variable_names_blacklist: Optional[Iterable[str]] = None) -> graph_pb2.GraphDef:
    """Freezes a graph: the subgraph computing `output_node_names`, with each variable a Const of its value in `sess`.

    Reads of a frozen variable (its `read` Identity and other consumers) keep their inputs, which now name a Const.

    Args:
        sess: a Session holding the variables' values.
        input_graph_def: the GraphDef (e.g. `sess.graph.as_graph_def()`).
        output_node_names: names of the nodes whose values the frozen graph must still compute.
        variable_names_whitelist: freeze only these variables (op names).
        variable_names_blacklist: never freeze these.

    Returns:
        The frozen GraphDef.
    """
    sub = extract_sub_graph(input_graph_def, output_node_names)
    whitelist = set(variable_names_whitelist) if variable_names_whitelist is not None else None
    blacklist = set(variable_names_blacklist or ())
    names = [node.name for node in sub.node if node.op in _VARIABLE_OPS and node.name not in blacklist
             and (whitelist is None or node.name in whitelist)]
    values = dict(zip(names, sess.run([f"{n}:0" for n in names]))) if names else {}
    out = _empty_like(sub)
    for node in sub.node:
        if node.name not in values:
            out.node.add().CopyFrom(node)
            continue
        const = out.node.add(name=node.name, op="Const")
        const.attr["dtype"].CopyFrom(node.attr["dtype"])
        const.attr["value"].tensor.CopyFrom(make_tensor_proto(values[node.name], dtype=node.attr["dtype"].type))
    frozen = set(values)
    for node in out.node:
        if node.op in ("Assign", "AssignAdd", "AssignSub") and _node_name(node.input[0]) in frozen:
            raise ValueError(f"Node '{node.name}' ({node.op}) writes variable '{_node_name(node.input[0])}', which "
                             "is being frozen; leave update ops out of output_node_names")
    return out


def remove_training_nodes(input_graph: graph_pb2.GraphDef,
                          protected_nodes: Optional[Iterable[str]] = None) -> graph_pb2.GraphDef:
    """Removes pass-through nodes only needed in training: CheckNumerics, and Identity-like nodes
    (Identity, StopGradient, PreventGradient, Snapshot) spliced out by rewiring their consumers to their input.

    Nodes in `protected_nodes`, nodes with control inputs, and nodes used as control inputs are kept.
    """
    protected = set(protected_nodes or ())
    control_targets = {i[1:] for node in input_graph.node for i in node.input if i.startswith("^")}
    bypass: Dict[str, str] = {}
    for node in input_graph.node:
        if node.name in protected or node.name in control_targets:
            continue
        has_controls = any(i.startswith("^") for i in node.input)
        if node.op in _REMOVED_OPS + _SPLICED_OPS and not has_controls and node.input:
            bypass[node.name] = node.input[0]

    def resolve(name: str) -> str:
        control = name.startswith("^")
        key = name[1:] if control else name
        for _ in range(len(bypass) + 1):
            if _node_name(key) not in bypass:
                return "^" + _node_name(key) if control else key
            key = bypass[_node_name(key)]
        raise ValueError(f"Pass-through nodes form a cycle at input {name!r}")

    out = _empty_like(input_graph)
    for node in input_graph.node:
        if node.name in bypass:
            continue
        copy = out.node.add()
        copy.CopyFrom(node)
        del copy.input[:]
        copy.input.extend(resolve(i) for i in node.input)
    return out


def tensor_shape_from_node_def_name(graph: Any, input_name: str) -> Any:
    """The static shape of the tensor `input_name` ('op' or 'op:k') in `graph`."""
    name = input_name if ":" in input_name else f"{input_name}:0"
    return graph.get_tensor_by_name(name).shape

