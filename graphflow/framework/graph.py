"""Graph: an append-only list of Operations with unique names, scopes, control deps, collections and devices."""
from __future__ import annotations

import contextlib
import contextvars
import os
import re
import sys
import threading
from typing import Any, Dict, Iterator, List, Optional, Sequence

from . import registry
from .tensor import Operation, Tensor, service

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_CONTEXTLIB_FILE = contextlib.__file__  # `with gf.name_scope(...)` frames are not the user's line


def user_call_site() -> str:
    """`file:line` of the innermost stack frame outside graphflow: where the user asked for the op."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR) and filename != _CONTEXTLIB_FILE:
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


_DEVICE_RE = re.compile(r"(?:/job:[^/]*)?(?:/replica:\d+)?(?:/task:\d+)?(?:/device:|/)?(cpu|gpu|CPU|GPU)?:?(\d+)?$")


def canonical_device(spec: Optional[str]) -> str:
    """'/device:GPU:0', '/gpu:0', 'GPU' … → '/gpu:0'; '' and None mean unplaced."""
    if not spec:
        return ""
    match = _DEVICE_RE.fullmatch(spec.strip())
    if not match or not match.group(1):
        raise ValueError(f"Cannot parse device specification {spec!r}; use '/cpu:0', '/cpu:1' or '/gpu:0'")
    return f"/{match.group(1).lower()}:{int(match.group(2) or 0)}"


class GraphKeys:
    """Standard collection names (TF1's tf.GraphKeys)."""

    GLOBAL_VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    MODEL_VARIABLES = "model_variables"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    SUMMARIES = "summaries"
    GLOBAL_STEP = "global_step"
    TRAIN_OP = "train_op"
    INIT_OP = "init_op"
    SAVERS = "savers"
    ACTIVATIONS = "activations"
    WEIGHTS = "weights"
    BIASES = "biases"
    QUEUE_RUNNERS = "queue_runners"
    VARIABLES = GLOBAL_VARIABLES


class Graph:
    """A dataflow graph. Ops are only ever appended; creation order is a topological order."""

    def __init__(self):
        self._ops: List[Operation] = []
        self._by_name: Dict[str, Operation] = {}
        self._names_in_use: Dict[str, int] = {}
        self._name_stack = ""
        self._control_stack: List[Optional[List[Operation]]] = []
        self._device_stack: List[str] = []
        self._gradient_override_stack: List[Dict[str, str]] = []
        self._collections: Dict[str, list] = {}
        self._finalized = False
        self._version = 0
        self._lock = threading.RLock()
        self.seed: Optional[int] = None
        self._last_id = -1
        # while a cond branch is being built, ops asked of this graph are created in the branch instead
        self._redirect: Optional["BranchGraph"] = None

    # --- building -------------------------------------------------------------------------------------------------
    def create_op(self, op_type: str, inputs: Sequence[Tensor] = (), attrs: Optional[Dict[str, Any]] = None,
                  name: Optional[str] = None, control_inputs: Sequence[Operation] = ()) -> Operation:
        """Creates an op of a registered type in this graph, under the current name, device and control scopes."""
        if self._redirect is not None:
            return self._redirect.create_op(op_type, inputs, attrs, name, control_inputs)
        if self._finalized:
            raise RuntimeError(f"Graph is finalized and cannot be modified (creating a {op_type} op at "
                               f"{user_call_site()}).")
        try:
            opdef = registry.get_opdef(op_type)
        except KeyError as e:
            raise ValueError(str(e.args[0])) from None
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"Inputs of a {op_type} op must be Tensors, got {type(t).__name__}")
            if t.graph is not self:
                raise ValueError(f"Tensor {t.name} belongs to another graph than the {op_type} op being created; "
                                 "ops may only combine tensors of one graph")
        filled = registry.fill_attrs(opdef, attrs)
        if self._gradient_override_stack:
            for mapping in reversed(self._gradient_override_stack):
                if op_type in mapping:
                    filled["_gradient_op_type"] = mapping[op_type]
                    break
        with self._lock:
            if name and name.endswith("/"):
                # an explicit scope name ("w/") names the op exactly, as TF1's Variable does for its VariableV2 op
                full_name = name[:-1]
                if full_name in self._by_name:
                    raise ValueError(f"Duplicate op name {full_name!r} at {user_call_site()}")
                # mark it taken (if its name scope has not already), or a later op asking for it would get it too
                self._names_in_use.setdefault(full_name.lower(), 1)
            else:
                full_name = self.unique_name(name or op_type)
            controls = list(control_inputs)
            for frame in self._control_stack:
                if frame:
                    controls.extend(c for c in frame if c not in controls)
            device = next((d for d in reversed(self._device_stack) if d is not None), "")
            self._last_id += 1
            op = Operation(self, full_name, op_type, inputs, filled, controls, device, opdef, user_call_site(),
                           self._last_id)
            try:
                specs = opdef.infer(op)
            except (ValueError, TypeError) as e:
                shapes = ", ".join(f"{t.name}: {t.shape} {t.dtype.name}" for t in inputs)
                raise type(e)(f"{e}\n  while creating op '{full_name}' (type {op_type}) with inputs [{shapes}] "
                              f"at {op.traceback_line}") from None
            op.outputs = tuple(Tensor(op, i, dtype, shape) for i, (dtype, shape) in enumerate(specs))
            self._ops.append(op)
            self._by_name[full_name] = op
            for t in inputs:
                consumers = t.op._consumers
                if not consumers or consumers[-1] is not op:
                    consumers.append(op)
            self._version += 1
        return op

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """`name` under the current name scope, suffixed `_1`, `_2` … when already taken (as TF1 does)."""
        if self._name_stack:
            name = f"{self._name_stack}/{name}"
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = i + 1
        if i > 0:
            base = key
            while key in self._names_in_use:
                key = f"{base}_{i}"
                i += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{i - 1}"
        return name

    def _register_imported_name(self, name: str) -> None:
        self._names_in_use[name.lower()] = self._names_in_use.get(name.lower(), 0) + 1

    # --- scopes ---------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def name_scope(self, name: Optional[str]) -> Iterator[str]:
        """Opens a name scope; yields the scope string ending in '/' (or '' at the root)."""
        old = self._name_stack
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield new + "/" if new else ""
        finally:
            self._name_stack = old

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: Optional[Sequence[Any]]) -> Iterator[None]:
        """Ops created inside run only after `control_inputs`; `None` clears the enclosing dependencies."""
        if control_inputs is None:
            saved = self._control_stack
            self._control_stack = []
            try:
                yield
            finally:
                self._control_stack = saved
            return
        ops = []
        for c in control_inputs:
            if isinstance(c, Operation):
                ops.append(c)
            elif hasattr(c, "op") and isinstance(c.op, Operation):
                ops.append(c.op)
            else:
                raise TypeError(f"control_dependencies takes Operations or Tensors, got {type(c).__name__}")
            if ops[-1].graph is not self:
                raise ValueError(f"Control input {ops[-1].name} belongs to another graph")
        self._control_stack.append(ops)
        try:
            yield
        finally:
            self._control_stack.pop()

    @contextlib.contextmanager
    def device(self, device_name: Optional[str]) -> Iterator[None]:
        """Places ops created inside on `device_name` ('/cpu:0', '/cpu:1', '/gpu:0')."""
        self._device_stack.append(canonical_device(device_name) if device_name else None)
        try:
            yield
        finally:
            self._device_stack.pop()

    @contextlib.contextmanager
    def colocate_with(self, op: Any, ignore_existing: bool = False) -> Iterator[None]:
        target = op if isinstance(op, Operation) else getattr(op, "op", None)
        with self.device(target.device if target is not None and target.device else None):
            yield

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map: Dict[str, str]) -> Iterator[None]:
        """Ops of the mapped types created inside use the gradient registered under the new name."""
        self._gradient_override_stack.append(dict(op_type_map))
        try:
            yield
        finally:
            self._gradient_override_stack.pop()

    @contextlib.contextmanager
    def as_default(self) -> Iterator["Graph"]:
        token = _default_graph_stack.set(_default_graph_stack.get() + (self,))
        try:
            yield self
        finally:
            _default_graph_stack.reset(token)

    # --- lookup ---------------------------------------------------------------------------------------------------
    def get_operations(self) -> List[Operation]:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        if not isinstance(name, str):
            raise TypeError(f"Operation names are strings, got {type(name).__name__}")
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"The name {name!r} refers to an Operation not in the graph.") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        if not isinstance(name, str) or ":" not in name:
            raise ValueError(f"The name {name!r} looks like an Operation name, not a Tensor name: tensor names are "
                             "'op_name:output_index'")
        op_name, _, index = name.rpartition(":")
        op = self.get_operation_by_name(op_name)
        try:
            return op.outputs[int(index)]
        except (ValueError, IndexError):
            raise KeyError(f"The name {name!r} refers to a Tensor which does not exist: operation {op_name!r} has "
                           f"{len(op.outputs)} output(s)") from None

    def as_graph_element(self, obj: Any, allow_tensor: bool = True, allow_operation: bool = True) -> Any:
        """Resolves a Tensor, Operation, Variable or name to an element of this graph."""
        if hasattr(obj, "_as_graph_element"):
            obj = obj._as_graph_element()
        if isinstance(obj, str):
            obj = self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        if isinstance(obj, Tensor) and allow_tensor:
            if obj.graph is not self:
                raise ValueError(f"Tensor {obj.name} is not an element of this graph.")
            return obj
        if isinstance(obj, Operation) and allow_operation:
            if obj.graph is not self:
                raise ValueError(f"Operation {obj.name} is not an element of this graph.")
            return obj
        raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation.")

    # --- collections ----------------------------------------------------------------------------------------------
    def add_to_collection(self, name: str, value: Any) -> None:
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names: Any, value: Any) -> None:
        for name in ([names] if isinstance(names, str) else set(names)):
            self.add_to_collection(name, value)

    def get_collection_ref(self, name: str) -> list:
        return self._collections.setdefault(name, [])

    def get_collection(self, name: str, scope: Optional[str] = None) -> list:
        items = list(self._collections.get(name, []))
        if scope is None:
            return items
        pattern = re.compile(scope)
        return [it for it in items if hasattr(it, "name") and pattern.match(it.name)]

    def get_all_collection_keys(self) -> List[str]:
        return [k for k, v in self._collections.items() if v]

    def clear_collection(self, name: str) -> None:
        self._collections.pop(name, None)

    # --- state ----------------------------------------------------------------------------------------------------
    def finalize(self) -> None:
        """Makes the graph read-only: any later op creation raises RuntimeError (catches ops built in loops)."""
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    def _unsafe_unfinalize(self) -> None:
        self._finalized = False

    @property
    def version(self) -> int:
        return self._version

    def as_graph_def(self, add_shapes: bool = False, from_version: Optional[int] = None):
        return service("graph_def")(self, add_shapes=add_shapes)

    def _repr_svg_(self) -> str:
        return service("repr_svg")(self)

    def __len__(self) -> int:
        return len(self._ops)


class BranchGraph(Graph):
    """The graph of one `cond` branch: tensors of the enclosing graph it uses become placeholders ("captures").

    While the branch is built, the enclosing graph redirects op creation here, so ordinary builders work on
    enclosing tensors; `captures` maps each enclosing tensor to the placeholder standing for it.
    """

    def __init__(self, outer: Graph):
        super().__init__()
        self.outer = outer
        self.seed = outer.seed
        self.captures: Dict[Tensor, Tensor] = {}

    def capture(self, tensor: Tensor) -> Tensor:
        """The placeholder standing for an enclosing graph's `tensor` (made on first use)."""
        if tensor.graph is self:
            return tensor
        if tensor.graph is not self.outer:
            if isinstance(self.outer, BranchGraph):
                tensor = self.outer.capture(tensor)  # nested conds capture through each level
            else:
                raise ValueError(f"Tensor {tensor.name} belongs to a graph this cond branch cannot reach")
        if tensor not in self.captures:
            redirect, self._redirect = self._redirect, None  # the placeholder belongs here, even mid-nested-build
            try:
                self.captures[tensor] = Graph.create_op(
                    self, "Placeholder", [], {"dtype": tensor.dtype, "shape": tensor.shape.dims},
                    name="capture").outputs[0]
            finally:
                self._redirect = redirect
        return self.captures[tensor]

    def create_op(self, op_type: str, inputs: Sequence[Tensor] = (), attrs: Optional[Dict[str, Any]] = None,
                  name: Optional[str] = None, control_inputs: Sequence[Operation] = ()) -> Operation:
        if self._redirect is not None:
            return self._redirect.create_op(op_type, inputs, attrs, name, control_inputs)
        if op_type == "VariableV2":
            raise ValueError(f"Variables cannot be created inside a cond branch (at {user_call_site()}); create "
                             "them before the cond and use them inside")
        inputs = [self.capture(t) if isinstance(t, Tensor) else t for t in inputs]
        controls = [c for c in control_inputs if c.graph is self]
        return super().create_op(op_type, inputs, attrs, name, controls)


_global_default_graph = Graph()
_default_graph_stack: contextvars.ContextVar = contextvars.ContextVar("graphflow_default_graph", default=())


def get_default_graph() -> Graph:
    """The innermost graph made default with `Graph.as_default()`, else the global default graph."""
    stack = _default_graph_stack.get()
    return stack[-1] if stack else _global_default_graph


def reset_default_graph() -> None:
    """Replaces the global default graph by a new empty one (not allowed inside a `with g.as_default()` block)."""
    global _global_default_graph
    if _default_graph_stack.get():
        raise AssertionError("Do not use reset_default_graph() inside a `with graph.as_default():` block.")
    _global_default_graph = Graph()
