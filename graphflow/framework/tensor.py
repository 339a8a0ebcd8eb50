"""Operation and Tensor: the nodes and edges of a Graph (symbolic; values live only in a Session)."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence, Tuple

from . import dtypes as _dtypes
from .shapes import TensorShape, as_shape

# Operator overloads are implemented by the op library, which registers them here; the framework imports no ops.
_OVERLOADS: Dict[str, Callable[..., Any]] = {}


def register_overload(name: str, fn: Callable[..., Any]) -> None:
    """Installs the op-building function behind a Tensor operator (`__add__` …)."""
    _OVERLOADS[name] = fn


# Layers above the framework install the features TF1 hangs on graph objects (NodeDef/GraphDef export, Session
# lookup for eval/run, SVG drawing) here, so the framework imports none of them: "node_def", "graph_def",
# "session_for", "repr_svg".
_SERVICES: Dict[str, Callable[..., Any]] = {}


def register_service(name: str, fn: Callable[..., Any]) -> None:
    """Installs the function behind a graph-object feature provided by a higher layer (e.g. "graph_def")."""
    _SERVICES[name] = fn


def service(name: str) -> Callable[..., Any]:
    """The function registered under `name`; RuntimeError naming it when its module was never imported."""
    try:
        return _SERVICES[name]
    except KeyError:
        raise RuntimeError(f"graphflow's {name!r} support is not loaded: import graphflow, not only "
                           "graphflow.framework") from None


class Operation:
    """A node: an op type, input Tensors, attrs and output Tensors. Created only through `Graph.create_op`."""

    __slots__ = ("graph", "name", "type", "_inputs", "_control_inputs", "attrs", "outputs", "_id", "_device",
                 "traceback_line", "opdef", "_consumers", "__weakref__")

    def __init__(self, graph, name: str, op_type: str, inputs: Sequence["Tensor"], attrs: Dict[str, Any],
                 control_inputs: Sequence["Operation"], device: str, opdef: Any, traceback_line: str, op_id: int):
        self.graph = graph
        self.name = name
        self.type = op_type
        self._inputs = tuple(inputs)
        self._control_inputs = list(control_inputs)
        self.attrs = attrs
        self.outputs: Tuple[Tensor, ...] = ()
        self._id = op_id
        self._device = device
        self.traceback_line = traceback_line
        self.opdef = opdef
        self._consumers: List[Operation] = []

    @property
    def inputs(self) -> Tuple["Tensor", ...]:
        return self._inputs

    @property
    def control_inputs(self) -> List["Operation"]:
        return list(self._control_inputs)

    @property
    def device(self) -> str:
        return self._device

    @property
    def node_def(self):
        return service("node_def")(self)

    def _set_device(self, device: str) -> None:
        self._device = device

    def _add_control_input(self, op: "Operation") -> None:
        if op not in self._control_inputs:
            self._control_inputs.append(op)
            self.graph._version += 1

    def get_attr(self, name: str) -> Any:
        if name not in self.attrs:
            raise ValueError(f"Operation {self.name!r} (op {self.type}) has no attr named {name!r}")
        return self.attrs[name]

    def values(self) -> Tuple["Tensor", ...]:
        return self.outputs

    def run(self, feed_dict=None, session=None) -> None:
        """Runs this operation in `session` (default: the default session)."""
        service("session_for")(session, self.graph).run(self, feed_dict=feed_dict)

    def __repr__(self) -> str:
        return f"<gf.Operation '{self.name}' type={self.type}>"


class Tensor:
    """A symbolic value: output `value_index` of `op`, with a dtype and a (partial) static shape."""

    __slots__ = ("op", "value_index", "dtype", "_shape", "__weakref__")

    # numpy should defer to our operators (ndarray + Tensor → Tensor.__radd__)
    __array_priority__ = 100

    def __init__(self, op: Operation, value_index: int, dtype: _dtypes.DType, shape: TensorShape):
        self.op = op
        self.value_index = value_index
        self.dtype = dtype
        self._shape = shape

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self):
        return self.op.graph

    @property
    def device(self) -> str:
        return self.op.device

    @property
    def shape(self) -> TensorShape:
        return self._shape

    def get_shape(self) -> TensorShape:
        return self._shape

    def set_shape(self, shape: Any) -> None:
        """Refines the static shape; ValueError when `shape` contradicts what is known."""
        try:
            self._shape = self._shape.merge_with(as_shape(shape))
        except ValueError:
            raise ValueError(f"Tensor {self.name!r} has shape {self._shape}, which is incompatible with "
                             f"{as_shape(shape)} given to set_shape (op created at {self.op.traceback_line})") from None

    def consumers(self) -> List[Operation]:
        return [c for c in self.op._consumers if any(t is self for t in c.inputs)]

    def eval(self, feed_dict=None, session=None):
        """Evaluates this tensor in `session` (default: the default session)."""
        return service("session_for")(session, self.graph).run(self, feed_dict=feed_dict)

    def __repr__(self) -> str:
        return f"<gf.Tensor '{self.name}' shape={self._shape} dtype={self.dtype.name}>"

    def __bool__(self) -> bool:
        raise TypeError(f"Using a graphflow Tensor ({self.name}) as a Python bool is not allowed: its value exists only "
                        "in a Session. Use gf.cond/gf.where, or fetch it with Session.run first.")

    def __len__(self) -> int:
        dims = self._shape.dims
        if dims is None or not dims or dims[0] is None:
            raise TypeError(f"len() of tensor {self.name} with shape {self._shape} is not known statically")
        return dims[0]

    def __iter__(self):
        dims = self._shape.dims
        if dims is None or not dims or dims[0] is None:
            raise TypeError(f"Tensor {self.name} with shape {self._shape} cannot be iterated: its first dimension "
                            "is not known statically")
        for i in range(dims[0]):
            yield self[i]

    # hash and == stay identity-based so tensors can key feed dicts, as in TF1
    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> bool:
        return self is other

    def __ne__(self, other: Any) -> bool:
        return self is not other


def _make_overload(name: str):
    def method(self, *args):
        return _OVERLOADS[name](self, *args)

    method.__name__ = name
    return method


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
              "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__",
              "__rmatmul__", "__neg__", "__abs__", "__lt__", "__le__", "__gt__", "__ge__", "__getitem__",
              "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__invert__"):
    setattr(Tensor, _name, _make_overload(_name))
