"""write_graph, export_meta_graph and import_meta_graph under gf.train (TF1's graph-exchange functions)."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from ..framework.graph import Graph, get_default_graph
from ..framework.tensor import Operation, Tensor
from ..io import graph_def as _graph_def
from ..io.checkpoint import atomic_write_bytes
from ..io.importer import _import
from ..ops.variables import Variable
from ..proto import graph_pb2, meta_graph_pb2
from ..proto.variable_pb2 import VariableDef

__all__ = ["write_graph", "export_meta_graph", "import_meta_graph"]

META_GRAPH_VERSION = "v1.15.0"  # the TF1 meta graph format these files follow
# Collections whose bytes_list holds serialized VariableDefs
_VARIABLE_COLLECTIONS = frozenset({"variables", "trainable_variables", "local_variables", "model_variables",
                                   "moving_average_variables"})


def _write_atomically(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    atomic_write_bytes(path, lambda f: f.write(data))  # with a new file's usual permissions, not mkstemp's 0600


def _serialise(message: Any, as_text: bool) -> bytes:
    return text_format.MessageToString(message).encode("utf-8") if as_text else message.SerializeToString()


def write_graph(graph_or_graph_def: Any, logdir: str, name: str, as_text: bool = True) -> str:
    """Writes a graph's GraphDef to `logdir/name` (text format by default) and returns the path.

    Args:
        graph_or_graph_def: a Graph or a GraphDef.
        logdir: directory (created if missing).
        name: file name, e.g. 'graph.pbtxt'.
        as_text: text format (True) or binary (False).
    """
    graph_def = graph_or_graph_def.as_graph_def() if isinstance(graph_or_graph_def, Graph) else graph_or_graph_def
    if not isinstance(graph_def, graph_pb2.GraphDef):
        raise TypeError(f"write_graph needs a Graph or GraphDef, got {type(graph_or_graph_def).__name__}")
    path = os.path.join(logdir, name)
    _write_atomically(path, _serialise(graph_def, as_text))
    return path


# ---------------------------------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------------------------------
def _strip(name: str, scope: Optional[str]) -> str:
    if not scope:
        return name
    body, caret = (name[1:], "^") if name.startswith("^") else (name, "")
    if not body.startswith(scope + "/"):
        raise ValueError(f"{name!r} is outside export_scope {scope!r}")
    return caret + body[len(scope) + 1:]


def _variable_def(var: Variable, scope: Optional[str]) -> bytes:
    proto = VariableDef(variable_name=_strip(var.name, scope), initializer_name=_strip(var.initializer.name, scope),
                        snapshot_name=_strip(var.value().name, scope), trainable=var.trainable)
    if var.initial_value is not None:
        proto.initial_value_name = _strip(var.initial_value.name, scope)
    return proto.SerializeToString()


def _collection_def(items: List[Any], scope: Optional[str]) -> Optional[meta_graph_pb2.CollectionDef]:
    """Encodes a collection TF's way; None for collections of Python objects that have no serialised form."""
    def in_scope(item: Any) -> bool:
        return not scope or item.name.startswith(scope + "/")

    collection = meta_graph_pb2.CollectionDef()
    if items and all(isinstance(v, Variable) for v in items):
        collection.bytes_list.value.extend(_variable_def(v, scope) for v in items if in_scope(v))
    elif items and all(isinstance(v, (Tensor, Operation)) for v in items):
        collection.node_list.value.extend(_strip(v.name, scope) for v in items if in_scope(v))
    elif items and all(isinstance(v, bool) for v in items):
        return None
    elif items and all(isinstance(v, int) for v in items):
        collection.int64_list.value.extend(items)
    elif items and all(isinstance(v, float) for v in items):
        collection.float_list.value.extend(items)
    elif items and all(isinstance(v, (str, bytes)) for v in items):
        collection.bytes_list.value.extend(v.encode("utf-8") if isinstance(v, str) else v for v in items)
    else:
        return None
    return collection


def _scoped_graph_def(graph_def: graph_pb2.GraphDef, scope: str) -> graph_pb2.GraphDef:
    out = graph_pb2.GraphDef(versions=graph_def.versions, library=graph_def.library)
    for node in graph_def.node:
        if node.name.startswith(scope + "/"):
            copy = out.node.add()
            copy.CopyFrom(node)
            copy.name = _strip(node.name, scope)
            del copy.input[:]
            copy.input.extend(_strip(i, scope) for i in node.input)
    return out


def export_meta_graph(filename: Optional[str] = None, meta_info_def: Any = None, graph_def: Any = None,
                      saver_def: Any = None, collection_list: Optional[List[str]] = None, as_text: bool = False,
                      graph: Optional[Graph] = None, export_scope: Optional[str] = None, clear_devices: bool = False,
                      clear_extraneous_savers: bool = False, strip_default_attrs: bool = False,
                      save_debug_info: bool = False, **kwargs: Any) -> meta_graph_pb2.MetaGraphDef:
    """Builds (and optionally writes) a MetaGraphDef: GraphDef with shapes, SaverDef and collections.

    Collections of Variables are stored as serialized VariableDefs (as TF does), of Tensors/Operations as node
    names, of numbers and strings as values; collections of other Python objects are skipped.

    Args:
        filename: where to write it (binary, or text with `as_text`); None writes nothing.
        meta_info_def / graph_def / saver_def: use these instead of the defaults.
        collection_list: collection keys to export (default: all).
        graph: the graph to export (default: the default graph).
        export_scope: export only ops under this name scope, with the scope stripped from names.
        clear_devices: drop device placements.

    Returns:
        The MetaGraphDef.
    """
    graph = graph or get_default_graph()
    meta = meta_graph_pb2.MetaGraphDef()
    if meta_info_def is not None:
        meta.meta_info_def.CopyFrom(meta_info_def)
    if not meta.meta_info_def.meta_graph_version:
        meta.meta_info_def.meta_graph_version = META_GRAPH_VERSION
    if not meta.meta_info_def.tensorflow_version:
        from .. import __version__  # the package root imports train; read the version at call time
        meta.meta_info_def.tensorflow_version = f"graphflow {__version__}"
    meta.graph_def.CopyFrom(graph_def if graph_def is not None else graph.as_graph_def(add_shapes=True))
    if export_scope:
        meta.graph_def.CopyFrom(_scoped_graph_def(meta.graph_def, export_scope))
    if clear_devices:
        for node in meta.graph_def.node:
            node.device = ""
    if saver_def is not None:
        meta.saver_def.CopyFrom(saver_def)
    keys = collection_list if collection_list is not None else graph.get_all_collection_keys()
    for key in keys:
        collection = _collection_def(graph.get_collection(key), export_scope)
        if collection is not None and collection.WhichOneof("kind"):
            meta.collection_def[key].CopyFrom(collection)
    if filename:
        _write_atomically(filename, _serialise(meta, as_text))
    return meta


# ---------------------------------------------------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------------------------------------------------
def _restore_variable(graph: Graph, raw: bytes, scope: str, key: str) -> Variable:
    try:
        proto = VariableDef.FromString(raw)
    except DecodeError:
        raise ValueError(f"Meta graph collection {key!r} holds bytes that are not a VariableDef") from None
    if proto.is_resource:
        raise ValueError(f"Variable {proto.variable_name} is a resource variable; graphflow has ref variables only")

    def element(name: str) -> Any:
        return graph.as_graph_element(f"{scope}/{name}" if scope else name)

    try:
        variable = element(proto.variable_name)
        return Variable._from_existing(
            variable.op, element(proto.initializer_name), element(proto.snapshot_name),
            element(proto.initial_value_name) if proto.initial_value_name else None, proto.trainable)
    except KeyError as e:
        raise ValueError(f"The meta graph's VariableDef for {proto.variable_name} names an element the graph does "
                         f"not have: {e.args[0]}") from None


def import_meta_graph(meta_graph_or_file: Any, clear_devices: bool = False, import_scope: Optional[str] = None,
                      **kwargs: Any) -> Any:
    """Recreates a MetaGraphDef's graph and collections in the default graph (TF1's tf.train.import_meta_graph).

    Variables come back as Variables (in their collections, so `global_variables()` lists them).

    Args:
        meta_graph_or_file: a MetaGraphDef or the path of one (binary or text).
        clear_devices: ignore the device placements stored in the graph.
        import_scope: name scope to import under (names are unchanged when None).

    Returns:
        A Saver over the imported variables (checkpoint keys are the original, unscoped names), or None when
        the meta graph has no variables.
    """
    if isinstance(meta_graph_or_file, meta_graph_pb2.MetaGraphDef):
        meta = meta_graph_or_file
    else:
        meta = _graph_def.read_message(os.fspath(meta_graph_or_file), meta_graph_pb2.MetaGraphDef)
    graph = get_default_graph()
    scope = ""
    if import_scope:
        scope = graph.unique_name(import_scope)
    _import(meta.graph_def, None, None, scope, clear_devices=clear_devices)
    variables: Dict[str, Variable] = {}
    for key in sorted(meta.collection_def):
        collection = meta.collection_def[key]
        kind = collection.WhichOneof("kind")
        if kind == "node_list":
            for name in collection.node_list.value:
                try:
                    element = graph.as_graph_element(f"{scope}/{name}" if scope else name)
                except (KeyError, ValueError) as e:
                    raise ValueError(f"Meta graph collection {key!r} names {name!r}, which its graph does not have: "
                                     f"{e.args[0]}") from None
                graph.add_to_collection(key, element)
        elif kind == "bytes_list" and key in _VARIABLE_COLLECTIONS:
            for raw in collection.bytes_list.value:
                var = _restore_variable(graph, raw, scope, key)
                var = variables.setdefault(var.op.name, var)
                graph.add_to_collection(key, var)
        elif kind == "bytes_list":
            for raw in collection.bytes_list.value:
                graph.add_to_collection(key, raw)
        elif kind in ("int64_list", "float_list"):
            for value in getattr(collection, kind).value:
                graph.add_to_collection(key, value)
    if not variables:
        return None
    from .saver import Saver  # the Saver module imports this one for export
    strip = len(scope) + 1 if scope else 0
    return Saver(var_list={name[strip:]: var for name, var in variables.items()})

