"""import_graph_def: GraphDef (ours or TensorFlow's, binary or text) → ops in a Graph, validated before building."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import networkx as nx

from ..framework import registry
from ..framework.graph import canonical_device, get_default_graph
from ..framework.tensor import Operation, Tensor
from ..proto import graph_pb2
from .graph_def import attr_value_to_python, parse_message
from .tensor_proto import shape_from_proto


def _any(value: Any) -> bool:
    return True


# TF attrs graphflow's OpDefs may leave undeclared, with the values for which dropping them changes nothing.
# Type attrs named T… (T, Tidx, Tshape, SrcT…) are always redundant: graphflow infers dtypes from the inputs.
_DROPPABLE_ATTRS = {
    "_class": _any,  # colocation hints
    "_output_shapes": _any,  # static shapes are re-inferred
    "_has_manual_control_dependencies": _any,
    "use_cudnn_on_gpu": _any,
    "use_locking": _any,
    "validate_indices": _any,
    "N": _any,  # input count, implied by the inputs
    "Truncate": lambda v: v is False,
    "grad_a": lambda v: v is False,  # MatMul hints for XLA
    "grad_b": lambda v: v is False,
    "incompatible_shape_error": lambda v: v is True,
    "explicit_paddings": lambda v: v == [],
    "dilations": lambda v: all(d == 1 for d in v),
    "data_format": lambda v: v in ("NHWC", "NDHWC", "NWC"),
}
_TYPE_ATTR = re.compile(r"^T[A-Za-z0-9_]*$|^[A-Z][a-z]*T$")


def _split_input(name: str) -> Tuple[str, int, bool]:
    """'^x' → ('x', -1, True); 'x:2' → ('x', 2, False); 'x' → ('x', 0, False)."""
    if name.startswith("^"):
        return name[1:], -1, True
    base, sep, index = name.rpartition(":")
    if sep and index.isdigit():
        return base, int(index), False
    return name, 0, False


def _key_of(name: str) -> str:
    """Normalises an input_map / return_elements key: 'x' and 'x:0' name the same tensor."""
    if name.startswith("^"):
        return name
    base, index, _ = _split_input(name)
    return f"{base}:{index}"


def _attrs_for(node: Any, opdef: registry.OpDef) -> Dict[str, Any]:
    """The node's attrs as Python values, keeping what the OpDef declares and dropping redundant TF bookkeeping."""
    attrs = {}
    for key in sorted(node.attr):
        value = node.attr[key]
        try:
            python = attr_value_to_python(value)
        except (TypeError, ValueError) as e:
            raise ValueError(f"Node '{node.name}' (op {node.op}): cannot read attr {key!r}: {e}") from None
        if key in opdef.attrs:
            attrs[key] = python
        elif key in _DROPPABLE_ATTRS:
            if not _DROPPABLE_ATTRS[key](python):
                raise ValueError(f"Node '{node.name}' (op {node.op}) sets attr {key!r} = {python!r}, which graphflow's "
                                 f"{node.op} does not support (only the default is accepted)")
        elif value.WhichOneof("value") == "type" and _TYPE_ATTR.match(key):
            continue
        elif key.startswith("_"):
            attrs[key] = python
        else:
            raise ValueError(f"Node '{node.name}' (op {node.op}) has attr {key!r} = {python!r}, which graphflow's "
                             f"{node.op} does not declare (known attrs: {sorted(opdef.attrs)})")
    return attrs


def _refine_shapes(op: Operation, node: Any) -> None:
    """Merges the recorded `_output_shapes` into the inferred ones: they keep shapes that gradients or set_shape
    refined beyond what the op's own inference knows."""
    recorded = node.attr["_output_shapes"].list.shape
    if len(recorded) != len(op.outputs):
        return  # recorded by a producer whose op has another output count; the inferred shapes stand
    for tensor, proto in zip(op.outputs, recorded):
        try:
            tensor.set_shape(shape_from_proto(proto))
        except ValueError as e:
            raise ValueError(f"Node '{node.name}' (op {node.op}): recorded _output_shapes disagree with the inferred "
                             f"shapes: {e}") from None


def _topological_order(nodes: Sequence[Any], mapped: set) -> List[Any]:
    """Nodes ordered so each comes after its inputs (ties keep the GraphDef's order); ValueError names a cycle."""
    by_name = {n.name: i for i, n in enumerate(nodes)}
    dag = nx.DiGraph()
    dag.add_nodes_from(by_name)
    for node in nodes:
        for raw in node.input:
            if _key_of(raw) in mapped:
                continue
            source, _, _ = _split_input(raw)
            dag.add_edge(source, node.name)
    try:
        order = list(nx.lexicographical_topological_sort(dag, key=by_name.__getitem__))
    except nx.NetworkXUnfeasible:
        cycle = [edge[0] for edge in nx.find_cycle(dag)]
        raise ValueError(f"GraphDef contains a cycle: {' -> '.join(cycle + cycle[:1])} "
                         "(graphflow imports acyclic graphs only)") from None
    return [nodes[by_name[name]] for name in order]


def _validate(graph_def: graph_pb2.GraphDef, input_map: Dict[str, Any]) -> Dict[str, registry.OpDef]:
    """Checks names, op types and inputs before anything is built, so a bad GraphDef leaves the graph untouched."""
    names: Dict[str, Any] = {}
    for node in graph_def.node:
        if not node.name:
            raise ValueError(f"GraphDef has a node without a name (op {node.op!r})")
        if node.name in names:
            raise ValueError(f"GraphDef has two nodes named '{node.name}'")
        names[node.name] = node
    unknown = [f"'{n.name}' (op type '{n.op}')" for n in graph_def.node if n.op not in registry.registered_op_types()]
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        raise ValueError(f"GraphDef uses op types graphflow has no definition for: node {shown}")
    opdefs = {}
    for node in graph_def.node:
        for raw in node.input:
            source, _, _ = _split_input(raw)
            if source not in names and _key_of(raw) not in input_map:
                raise ValueError(f"Node '{node.name}' (op {node.op}) has input '{raw}', but the GraphDef has no node "
                                 f"named '{source}'")
        opdefs[node.name] = registry.get_opdef(node.op)
    missing = sorted(k for k in input_map if _split_input(k)[0] not in names)
    if missing:
        raise ValueError(f"input_map names tensors that are not in the GraphDef: {missing}")
    return opdefs


def import_graph_def(graph_def: Any, input_map: Optional[Dict[str, Any]] = None,
                     return_elements: Optional[Sequence[str]] = None, name: Optional[str] = None,
                     op_dict: Any = None, producer_op_list: Any = None) -> Optional[List[Any]]:
    """Imports a GraphDef into the default graph (TF1's tf.import_graph_def).

    Nodes may come in any order; they are created through `Graph.create_op`, so static shapes are re-inferred and
    checked. Everything that can be checked up front (op types, attrs, inputs, cycles, names) is, so a bad GraphDef
    raises before the graph changes.

    Args:
        graph_def: a GraphDef, or its binary (bytes) or text-format (str) serialisation.
        input_map: {'name:k' or 'name': Tensor, '^name': Operation} replacing those inputs by existing graph elements.
        return_elements: names in the GraphDef to return: 'op' gives the Operation, 'op:k' the Tensor (for a
            tensor named in input_map, the tensor it was mapped to, as in TF).
        name: prefix for imported names (default 'import'; '' imports the names unchanged).
        op_dict: ignored (TF1 deprecated it).
        producer_op_list: ignored (graphflow stores no default-valued attrs to strip).

    Returns:
        The elements named in `return_elements` (in order), or None.

    Raises:
        DataLossError: undecodable binary data.
        ValueError: a problem with the GraphDef, naming the node: unknown op type, dangling input, unsupported attr,
            cycle, duplicate name, shape or dtype errors.
    """
    if isinstance(graph_def, (bytes, bytearray, str)):
        graph_def = parse_message(graph_def, graph_pb2.GraphDef)
    if not isinstance(graph_def, graph_pb2.GraphDef):
        raise TypeError(f"import_graph_def needs a GraphDef, got {type(graph_def).__name__}")
    prefix = "" if name == "" else get_default_graph().unique_name(name or "import")
    return _import(graph_def, input_map, return_elements, prefix)


def _import(graph_def: graph_pb2.GraphDef, input_map: Optional[Dict[str, Any]],
            return_elements: Optional[Sequence[str]], prefix: str,
            clear_devices: bool = False) -> Optional[List[Any]]:
    """Imports into the default graph with names `prefix/node` (unchanged when `prefix` is '')."""
    graph = get_default_graph()
    mapped = {_key_of(k): v for k, v in (input_map or {}).items()}
    for key, value in mapped.items():
        if hasattr(value, "_as_tensor") and not key.startswith("^"):
            value = mapped[key] = value._as_tensor()
        wanted = Operation if key.startswith("^") else Tensor
        if not isinstance(value, wanted) or value.graph is not graph:
            raise ValueError(f"input_map[{key!r}] must be a {wanted.__name__} of the default graph, got {value!r}")
    opdefs = _validate(graph_def, mapped)
    attrs = {n.name: _attrs_for(n, opdefs[n.name]) for n in graph_def.node}
    order = _topological_order(list(graph_def.node), set(mapped))
    full = {n.name: f"{prefix}/{n.name}" if prefix else n.name for n in graph_def.node}
    taken = [f for f in full.values() if f in graph._by_name]
    if taken:
        raise ValueError(f"Importing would duplicate op names already in the graph: {taken[:10]}; pass a name prefix")
    devices = {}
    for node in graph_def.node:
        try:
            devices[node.name] = "" if clear_devices else canonical_device(node.device)
        except ValueError as e:
            raise ValueError(f"Node '{node.name}' (op {node.op}): {e}") from None

    created: Dict[str, Operation] = {}
    for node in order:
        inputs, controls = [], []
        for raw in node.input:
            key = _key_of(raw)
            if key in mapped:
                (controls if key.startswith("^") else inputs).append(mapped[key])
                continue
            source, index, is_control = _split_input(raw)
            op = created[source]
            if is_control:
                controls.append(op)
            elif index >= len(op.outputs):
                raise ValueError(f"Node '{node.name}' (op {node.op}) has input '{raw}', but '{source}' has only "
                                 f"{len(op.outputs)} output(s)")
            else:
                inputs.append(op.outputs[index])
        op = graph.create_op(node.op, inputs, attrs[node.name], name=full[node.name] + "/", control_inputs=controls)
        graph._register_imported_name(op.name)
        if "_output_shapes" in node.attr:
            _refine_shapes(op, node)
        if devices[node.name]:
            op._set_device(devices[node.name])
        created[node.name] = op

    if return_elements is None:
        return None
    results = []
    for element in return_elements:
        source, index, _ = _split_input(element)
        if source not in created:
            raise ValueError(f"return_elements names {element!r}, which is not in the GraphDef")
        op = created[source]
        if ":" not in element:
            results.append(op)
        elif _key_of(element) in mapped:
            results.append(mapped[_key_of(element)])  # TF returns what a mapped tensor was replaced by
        elif index < len(op.outputs):
            results.append(op.outputs[index])
        else:
            raise ValueError(f"return_elements names {element!r}, but '{source}' has {len(op.outputs)} output(s)")
    return results
