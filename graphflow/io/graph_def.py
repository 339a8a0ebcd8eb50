"""Graph → GraphDef: NodeDefs with TF's inputs, devices and attrs, and AttrValue ↔ Python attr conversion."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from google.protobuf import text_format
from google.protobuf.message import DecodeError

from ..framework import dtypes
from ..framework.errors import DataLossError
from ..framework.shapes import TensorShape
from ..framework.tensor import register_service
from ..proto import attr_value_pb2, graph_pb2, node_def_pb2
from .tensor_proto import make_ndarray, make_tensor_proto, shape_from_proto, shape_to_proto

# TF's GraphDef version (tensorflow/core/public/version.h TF_GRAPH_DEF_VERSION) of the release whose op semantics
# these graphs follow; importers use it to decide which op-version fixups apply.
PRODUCER = 1087

# Attr names whose tuple/list value is one shape (dims may be None), and those holding a list of shapes.
_SHAPE_ATTRS = frozenset({"shape", "element_shape", "output_shape", "input_shape"})
_SHAPE_LIST_ATTRS = frozenset({"shapes", "output_shapes", "_output_shapes", "element_shapes"})


# ---------------------------------------------------------------------------------------------------------------------
# Python attr value → AttrValue
# ---------------------------------------------------------------------------------------------------------------------
def attr_value_of(key: str, value: Any) -> Optional[attr_value_pb2.AttrValue]:
    """Encodes one attr; returns None for a None value (the attr is then left out of the NodeDef).

    Kinds: bool → b, int → i, float → f, str/bytes → s, DType → type, TensorShape (or a tuple under a shape attr
    name) → shape, ndarray → tensor, and lists of those → list.
    """
    if value is None:
        return None
    if key in _SHAPE_ATTRS and not isinstance(value, np.ndarray):
        return attr_value_pb2.AttrValue(shape=shape_to_proto(value))
    if key in _SHAPE_LIST_ATTRS:
        return attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(
            shape=[shape_to_proto(s) for s in value]))
    scalar = _scalar_attr(key, value)
    if scalar is not None:
        return scalar
    if isinstance(value, (list, tuple)):
        return attr_value_pb2.AttrValue(list=_list_attr(key, value))
    raise TypeError(f"Cannot serialise attr {key!r} of type {type(value).__name__}: {value!r}")


def _scalar_attr(key: str, value: Any) -> Optional[attr_value_pb2.AttrValue]:
    if isinstance(value, (bool, np.bool_)):
        return attr_value_pb2.AttrValue(b=bool(value))
    if isinstance(value, (int, np.integer)):
        return attr_value_pb2.AttrValue(i=int(value))
    if isinstance(value, (float, np.floating)):
        return attr_value_pb2.AttrValue(f=float(value))
    if isinstance(value, str):
        return attr_value_pb2.AttrValue(s=value.encode("utf-8"))
    if isinstance(value, bytes):
        return attr_value_pb2.AttrValue(s=value)
    if isinstance(value, dtypes.DType):
        return attr_value_pb2.AttrValue(type=value.as_datatype_enum)
    if isinstance(value, TensorShape):
        return attr_value_pb2.AttrValue(shape=shape_to_proto(value))
    if isinstance(value, np.ndarray):
        return attr_value_pb2.AttrValue(tensor=make_tensor_proto(value))
    return None


def _list_attr(key: str, values: Any) -> attr_value_pb2.AttrValue.ListValue:
    out = attr_value_pb2.AttrValue.ListValue()
    for v in values:
        encoded = _scalar_attr(key, v)
        if encoded is None:
            raise TypeError(f"Cannot serialise element {v!r} ({type(v).__name__}) of list attr {key!r}")
        kind = encoded.WhichOneof("value")
        if kind == "s":
            out.s.append(encoded.s)
        elif kind in ("i", "f", "b", "type"):
            getattr(out, kind).append(getattr(encoded, kind))
        else:
            getattr(out, kind).add().CopyFrom(getattr(encoded, kind))
    kinds = [k for k in ("s", "i", "f", "b", "type", "shape", "tensor") if len(getattr(out, k))]
    if len(kinds) > 1:
        raise TypeError(f"List attr {key!r} mixes element kinds {kinds}: {values!r}")
    return out


# ---------------------------------------------------------------------------------------------------------------------
# AttrValue → Python attr value
# ---------------------------------------------------------------------------------------------------------------------
def attr_value_to_python(value: attr_value_pb2.AttrValue) -> Any:
    """Decodes an AttrValue into the Python value graphflow ops hold.

    s → str (bytes when not UTF-8), type → DType, shape → tuple of int-or-None (None for unknown rank),
    tensor → read-only ndarray, list → list of those.
    """
    kind = value.WhichOneof("value")
    if kind is None:
        return []  # an empty list is serialised as an AttrValue with nothing set
    if kind == "list":
        return _list_to_python(value.list)
    if kind in ("func", "placeholder"):
        raise ValueError(f"Attr values of kind {kind!r} (functions) are not supported by graphflow")
    return _scalar_to_python(kind, getattr(value, kind))


def _scalar_to_python(kind: str, raw: Any) -> Any:
    if kind == "s":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if kind == "type":
        return dtypes.as_dtype(int(raw))
    if kind == "shape":
        return shape_from_proto(raw).dims
    if kind == "tensor":
        array = make_ndarray(raw)
        array.setflags(write=False)  # constants are shared by every run; kernels must not write into them
        return array
    if kind == "f":
        return float(raw)
    if kind == "i":
        return int(raw)
    return bool(raw)


def _list_to_python(values: attr_value_pb2.AttrValue.ListValue) -> list:
    for kind in ("s", "i", "f", "b", "type", "shape", "tensor"):
        items = getattr(values, kind)
        if len(items):
            return [_scalar_to_python(kind, v) for v in items]
    if len(values.func):
        raise ValueError("Attr values holding function lists are not supported by graphflow")
    return []


# ---------------------------------------------------------------------------------------------------------------------
# Graph → GraphDef
# ---------------------------------------------------------------------------------------------------------------------
def tf_device_string(device: str) -> str:
    """graphflow's canonical device ('/gpu:0') in TF's NodeDef spelling ('/device:GPU:0')."""
    if not device:
        return ""
    kind, _, index = device.strip("/").partition(":")
    return f"/device:{kind.upper()}:{index or 0}"


def input_name(tensor: Any) -> str:
    """A Tensor as a NodeDef input string: 'op' for output 0, 'op:k' otherwise."""
    return tensor.op.name if tensor.value_index == 0 else f"{tensor.op.name}:{tensor.value_index}"


def node_def_of(op: Any, add_shapes: bool = False) -> node_def_pb2.NodeDef:
    """The NodeDef of an Operation: name, op type, data inputs then '^control' inputs, TF device, attrs.

    With `add_shapes`, the `_output_shapes` attr lists each output's static shape (TensorBoard labels edges with it).
    """
    node = node_def_pb2.NodeDef(name=op.name, op=op.type, device=tf_device_string(op.device))
    node.input.extend(input_name(t) for t in op.inputs)
    node.input.extend(f"^{c.name}" for c in op.control_inputs)
    for key, value in op.attrs.items():
        if key == "_output_shapes":
            continue  # always recomputed from the static shapes, never copied stale
        if key == "T" and value is None and op.inputs:
            value = op.inputs[0].dtype  # TF requires the element type attr that our kernels do not need
        try:
            encoded = attr_value_of(key, value)
        except TypeError as e:
            if key.startswith("_"):
                continue  # a run-time binding (e.g. a Dataset behind an iterator op), not part of the graph's wire form
            raise TypeError(f"{e} (op {op.name!r}, type {op.type})") from None
        if encoded is not None:
            node.attr[key].CopyFrom(encoded)
    if add_shapes:
        node.attr["_output_shapes"].CopyFrom(attr_value_of("_output_shapes", [t.shape for t in op.outputs]))
    return node


def graph_to_graph_def(graph: Any, add_shapes: bool = False) -> graph_pb2.GraphDef:
    """Serialises every op of `graph`, in creation order (a valid topological order), into a GraphDef."""
    graph_def = graph_pb2.GraphDef()
    graph_def.versions.producer = PRODUCER
    graph_def.node.extend(node_def_of(op, add_shapes) for op in graph.get_operations())
    return graph_def


# ---------------------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------------------
def parse_message(data: Any, message_type: type, as_text: Optional[bool] = None) -> Any:
    """Parses binary (bytes) or text-format (str) protobuf data into a new `message_type` message.

    Args:
        data: serialized bytes, or text format as str (or bytes with `as_text=True`).
        message_type: e.g. graph_pb2.GraphDef.
        as_text: force the format; by default str means text and bytes means binary.

    Raises:
        DataLossError: binary data that does not decode (truncated or not a protobuf).
        ValueError: text that does not parse, naming the line and column.
    """
    message = message_type()
    text = isinstance(data, str) if as_text is None else as_text
    kind = message_type.DESCRIPTOR.name
    if text:
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"{kind} text is not UTF-8: {e}") from None
        try:
            text_format.Parse(data, message)
        except text_format.ParseError as e:
            raise ValueError(f"Cannot parse {kind} text format: {e}") from None
        return message
    try:
        message.ParseFromString(bytes(data))
    except (DecodeError, RuntimeError, ValueError) as e:
        raise DataLossError(None, None, f"Cannot decode {len(data)} bytes as a binary {kind} (truncated or not a "
                                        f"{kind}?): {e}") from None
    return message


def read_message(path: str, message_type: type) -> Any:
    """Reads a binary or text-format message file; '.pbtxt'/'.txt' files (or undecodable binaries that read as
    text) are parsed as text."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith((".pbtxt", ".txt")):
        return parse_message(data, message_type, as_text=True)
    try:
        return parse_message(data, message_type, as_text=False)
    except DataLossError as binary_error:
        try:
            return parse_message(data, message_type, as_text=True)
        except ValueError:
            raise binary_error from None


register_service("node_def", node_def_of)
register_service("graph_def", graph_to_graph_def)
