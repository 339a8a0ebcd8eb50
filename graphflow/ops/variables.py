"""Variable: named state owned by the Session, plus initializer helpers (global_variables_initializer …)."""
from __future__ import annotations

import contextlib
from typing import Any, Iterable, List, Optional

from ..framework import dtypes
from ..framework.convert import convert_to_tensor
from ..framework.graph import GraphKeys, get_default_graph
from ..framework.shapes import TensorShape, as_shape
from ..framework.tensor import Operation, Tensor
from . import core_ops, state_ops  # noqa: F401 - state_ops registers VariableV2 and Assign*

__all__ = ["Variable", "global_variables_initializer", "variables_initializer", "global_variables",
           "trainable_variables", "local_variables", "local_variables_initializer", "initialize_all_variables",
           "report_uninitialized_variables", "is_variable_initialized", "assign", "assign_add", "assign_sub",
           "moving_average_variables", "model_variables"]


class Variable:
    """A TF1 variable: `VariableV2` op + `Assign` initializer + `read` snapshot, all created in scope `name`.

    Args:
        initial_value: a Tensor or value (or a callable returning one) giving the initial value.
        trainable: add to TRAINABLE_VARIABLES (what optimizers train by default).
        collections: collections to add to (default [GLOBAL_VARIABLES]).
        validate_shape: require the initial value's shape to be fully known.
        name: the variable's name (default "Variable").
        dtype: convert the initial value to this dtype.
    """

    def __init__(self, initial_value: Any = None, trainable: bool = True, collections: Optional[List[str]] = None,
                 validate_shape: bool = True, caching_device: Any = None, name: Optional[str] = None,
                 variable_def: Any = None, dtype: Any = None, expected_shape: Any = None,
                 import_scope: Optional[str] = None, constraint: Any = None, use_resource: Any = None,
                 shape: Any = None):
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        graph = get_default_graph()
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        collections = list(collections)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        with graph.name_scope(name or "Variable") as scope:
            with graph.name_scope("Initializer") if callable(initial_value) else contextlib.nullcontext():
                value = initial_value() if callable(initial_value) else initial_value
            with graph.control_dependencies(None):
                self._initial_value = convert_to_tensor(value, dtype=dtype, name="initial_value")
            var_shape = as_shape(shape) if shape is not None else self._initial_value.shape
            if validate_shape and not var_shape.is_fully_defined():
                raise ValueError(f"initial_value of variable {scope[:-1]} must have a fully defined shape, got "
                                 f"{var_shape}; pass validate_shape=False or a shape")
            with graph.control_dependencies(None):
                self._variable_op = graph.create_op(
                    "VariableV2", [], {"shape": var_shape.dims, "dtype": self._initial_value.dtype},
                    name=scope)
            self._variable = self._variable_op.outputs[0]
            with graph.control_dependencies(None):
                self._initializer_op = graph.create_op(
                    "Assign", [self._variable, self._initial_value], {"validate_shape": validate_shape},
                    name="Assign")
                self._snapshot = core_ops.identity(self._variable, name="read")
        self._trainable = trainable
        self._graph = graph
        self._save_slice_info = None
        for key in collections:
            graph.add_to_collection(key, self)

    @classmethod
    def _from_existing(cls, variable_op: Operation, initializer_op: Operation, snapshot: Tensor,
                       initial_value: Optional[Tensor] = None, trainable: bool = True) -> "Variable":
        """A Variable wrapping ops already in a graph (an imported meta graph); adds it to no collection."""
        if not getattr(variable_op.opdef, "is_variable", False):
            raise ValueError(f"{variable_op.name} is a {variable_op.type} op, not a variable")
        self = cls.__new__(cls)
        self._variable_op = variable_op
        self._variable = variable_op.outputs[0]
        self._initializer_op = initializer_op
        self._snapshot = snapshot
        if initial_value is None and len(initializer_op.inputs) > 1:
            initial_value = initializer_op.inputs[1]
        self._initial_value = initial_value
        self._trainable = trainable
        self._graph = variable_op.graph
        self._save_slice_info = None
        return self

    # --- identity -------------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._variable.name

    @property
    def op(self) -> Operation:
        return self._variable_op

    @property
    def graph(self):
        return self._graph

    @property
    def dtype(self) -> dtypes.DType:
        return self._variable.dtype

    @property
    def shape(self) -> TensorShape:
        return self._variable.shape

    def get_shape(self) -> TensorShape:
        return self._variable.shape

    @property
    def device(self) -> str:
        return self._variable_op.device

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def initializer(self) -> Operation:
        return self._initializer_op

    @property
    def initial_value(self) -> Tensor:
        return self._initial_value

    def __repr__(self) -> str:
        return f"<gf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}>"

    # --- reading --------------------------------------------------------------------------------------------------
    def _as_tensor(self) -> Tensor:
        return self._snapshot

    def _as_graph_element(self) -> Tensor:
        return self._snapshot

    def _ref(self) -> Tensor:
        return self._variable

    def value(self) -> Tensor:
        return self._snapshot

    def read_value(self) -> Tensor:
        return core_ops.identity(self._variable, name="read")

    def initialized_value(self) -> Tensor:
        """The value this variable is initialized with, for initializing other variables from it.

        It evaluates the initial-value expression; within one run (as `global_variables_initializer` runs every
        initializer at once) that is the same value the variable receives, random initializers included.
        """
        return core_ops.identity(self._initial_value, name="initialized_value")

    def eval(self, session: Any = None) -> Any:
        return self._snapshot.eval(session=session)

    # --- writing --------------------------------------------------------------------------------------------------
    def assign(self, value: Any, use_locking: bool = False, name: Optional[str] = None, read_value: bool = True):
        """An op setting the variable to `value`; returns the new value (or the op if read_value is False)."""
        return self._update("Assign", value, name, read_value, {"validate_shape": True, "use_locking": use_locking})

    def assign_add(self, delta: Any, use_locking: bool = False, name: Optional[str] = None, read_value: bool = True):
        return self._update("AssignAdd", delta, name, read_value, {"use_locking": use_locking})

    def assign_sub(self, delta: Any, use_locking: bool = False, name: Optional[str] = None, read_value: bool = True):
        return self._update("AssignSub", delta, name, read_value, {"use_locking": use_locking})

    def _update(self, op_type: str, value: Any, name: Optional[str], read_value: bool, attrs: dict):
        value = convert_to_tensor(value, dtype=self.dtype, graph=self._graph)
        out = self._graph.create_op(op_type, [self._variable, value], attrs, name=name or op_type).outputs[0]
        return out if read_value else out.op

    def load(self, value: Any, session: Any = None) -> None:
        """Writes `value` into the variable in `session` (default session) without adding ops."""
        from ..runtime.session import _session_for
        _session_for(session, self._graph).run(self._initializer_op, {self._initial_value: value})

    # --- operators: a Variable behaves like its value -----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and hasattr(Tensor, name):
            return getattr(self._snapshot, name)
        raise AttributeError(f"'Variable' object has no attribute {name!r}")


def _forward(name: str):
    def method(self, *args):
        return getattr(self._snapshot, name)(*args)

    method.__name__ = name
    return method


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
              "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__",
              "__rmatmul__", "__neg__", "__abs__", "__lt__", "__le__", "__gt__", "__ge__", "__getitem__"):
    setattr(Variable, _name, _forward(_name))
Variable.__array_priority__ = 100


def assign(ref: Variable, value: Any, validate_shape: Any = None, use_locking: Any = None, name: Optional[str] = None):
    return ref.assign(value, name=name)


def assign_add(ref: Variable, value: Any, use_locking: Any = None, name: Optional[str] = None):
    return ref.assign_add(value, name=name)


def assign_sub(ref: Variable, value: Any, use_locking: Any = None, name: Optional[str] = None):
    return ref.assign_sub(value, name=name)


def global_variables(scope: Optional[str] = None) -> List[Variable]:
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


def local_variables(scope: Optional[str] = None) -> List[Variable]:
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def trainable_variables(scope: Optional[str] = None) -> List[Variable]:
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def moving_average_variables(scope: Optional[str] = None) -> List[Variable]:
    return get_default_graph().get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, scope)


def model_variables(scope: Optional[str] = None) -> List[Variable]:
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def variables_initializer(var_list: Iterable[Variable], name: str = "init") -> Operation:
    """One op that runs the initializers of `var_list`."""
    var_list = list(var_list)
    if not var_list:
        return core_ops.no_op(name=name)
    return core_ops.group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Operation:
    """One op that initializes every variable in GLOBAL_VARIABLES."""
    return variables_initializer(global_variables(), name="init")


initialize_all_variables = global_variables_initializer


def local_variables_initializer() -> Operation:
    return variables_initializer(local_variables(), name="init_1")


def is_variable_initialized(variable: Variable) -> Tensor:
    return variable.graph.create_op("IsVariableInitialized", [variable._ref()], {"dtype": variable.dtype}).outputs[0]


def report_uninitialized_variables(var_list: Optional[Iterable[Variable]] = None,
                                   name: str = "report_uninitialized_variables") -> Tensor:
    """A 1-D string tensor naming the variables of `var_list` (default: all global) that have no value yet."""
    from . import array_ops, gather_ops, math_ops, select_ops  # built from ordinary array ops, as in TF1
    var_list = list(global_variables() if var_list is None else var_list)
    graph = get_default_graph()
    with graph.name_scope(name):
        if not var_list:
            return core_ops.constant([], dtype=dtypes.string)
        initialized = array_ops.stack([is_variable_initialized(v) for v in var_list])
        names = core_ops.constant([v.op.name for v in var_list])
        missing = array_ops.reshape(select_ops.where(math_ops.logical_not(initialized)), [-1])
        return gather_ops.gather(names, missing)
