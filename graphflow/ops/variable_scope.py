"""variable_scope and get_variable: named variable sharing with reuse and default initializers.

Each Graph has one variable store (name → Variable created by get_variable), the current VariableScope and a count
of opened scope names (for default_name uniquification), kept in a weak per-graph table so graphs stay
independent and are freed normally.
"""
from __future__ import annotations

import contextlib
import enum
import weakref
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.graph import Graph, GraphKeys, get_default_graph
from ..framework.shapes import as_shape
from ..framework.tensor import Tensor
from . import init_ops
from .variables import Variable

__all__ = ["variable_scope", "get_variable", "get_local_variable", "get_variable_scope", "VariableScope",
           "AUTO_REUSE", "no_regularizer"]


class _ReuseMode(enum.Enum):
    """Reuse modes beyond True/False (TF1's tf.AUTO_REUSE)."""

    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE


def no_regularizer(_: Any) -> None:
    """A regularizer that adds no loss (to switch off a scope's regularizer for one variable)."""
    return None


class VariableScope:
    """Defaults for get_variable inside a variable_scope: name prefix, reuse, initializer, regularizer, dtype.

    Attributes:
        name: the scope's full name ("" at the root), the prefix of the variables created in it.
        original_name_scope: the name scope opened when the scope was first entered ("dense/").
        reuse: None/False (create only), True (reuse only) or AUTO_REUSE (either).
    """

    def __init__(self, reuse: Any, name: str = "", initializer: Any = None, regularizer: Any = None,
                 caching_device: Any = None, partitioner: Any = None, custom_getter: Any = None,
                 name_scope: str = "", dtype: Any = dtypes.float32, use_resource: Any = None,
                 constraint: Any = None):
        self._name = name
        self._name_scope = name_scope
        self.reuse = reuse
        self.initializer = initializer
        self.regularizer = regularizer
        self.caching_device = caching_device
        self.partitioner = partitioner
        self.custom_getter = custom_getter
        self.dtype = dtypes.as_dtype(dtype)
        self.use_resource = use_resource
        self.constraint = constraint

    @property
    def name(self) -> str:
        return self._name

    @property
    def original_name_scope(self) -> str:
        return self._name_scope

    def reuse_variables(self) -> None:
        """From now on get_variable in this scope returns existing variables."""
        self.reuse = True

    def set_initializer(self, initializer: Any) -> None:
        self.initializer = initializer

    def set_regularizer(self, regularizer: Any) -> None:
        self.regularizer = regularizer

    def set_dtype(self, dtype: Any) -> None:
        self.dtype = dtypes.as_dtype(dtype)

    def set_custom_getter(self, custom_getter: Any) -> None:
        self.custom_getter = custom_getter

    def get_variable(self, var_store: Any, name: str, shape: Any = None, dtype: Any = None, initializer: Any = None,
                     regularizer: Any = None, reuse: Any = None, trainable: Optional[bool] = None,
                     collections: Optional[List[str]] = None, validate_shape: bool = True,
                     custom_getter: Any = None, **_ignored: Any) -> Variable:
        """get_variable with this scope's defaults; `var_store` is the graph's store (see _state)."""
        full_name = f"{self._name}/{name}" if self._name else name
        dtype = dtypes.as_dtype(dtype if dtype is not None else self.dtype)
        initializer = initializer if initializer is not None else self.initializer
        regularizer = regularizer if regularizer is not None else self.regularizer
        reuse = self.reuse if reuse is None else reuse
        getter = var_store.get_variable
        for wrapper in (self.custom_getter, custom_getter):
            if wrapper is not None:
                getter = _wrap_getter(wrapper, getter)
        return getter(full_name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                      reuse=reuse, trainable=trainable, collections=collections, validate_shape=validate_shape)

    def __repr__(self) -> str:
        return f"<gf.VariableScope '{self._name}' reuse={self.reuse}>"


def _wrap_getter(custom_getter: Callable[..., Any], getter: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(name, **kwargs):
        return custom_getter(getter, name, **kwargs)
    return wrapped


class _VariableStore:
    """The variables get_variable created in one graph, by full name."""

    def __init__(self):
        self.variables: Dict[str, Variable] = {}

    def get_variable(self, name: str, shape: Any = None, dtype: Any = dtypes.float32, initializer: Any = None,
                     regularizer: Any = None, reuse: Any = None, trainable: Optional[bool] = None,
                     collections: Optional[List[str]] = None, validate_shape: bool = True) -> Variable:
        dtype = dtypes.as_dtype(dtype)
        if name in self.variables:
            found = self.variables[name]
            if reuse is None or reuse is False:
                raise ValueError(f"Variable {name} already exists, disallowed. Did you mean to set reuse=True or "
                                 f"reuse=tf.AUTO_REUSE in VarScope? Originally defined at: "
                                 f"{found.op.traceback_line}")
            if shape is not None and not found.shape.is_compatible_with(as_shape(shape)):
                raise ValueError(f"Trying to share variable {name}, but specified shape {as_shape(shape)} and "
                                 f"found shape {found.shape}.")
            if found.dtype != dtype:
                raise ValueError(f"Trying to share variable {name}, but specified dtype {dtype.name} and found "
                                 f"dtype {found.dtype.name}.")
            return found
        if reuse is True:
            raise ValueError(f"Variable {name} does not exist, or was not created with tf.get_variable(). Did you "
                             f"mean to set reuse=tf.AUTO_REUSE in VarScope?")
        variable = self._create(name, shape, dtype, initializer, trainable, collections, validate_shape)
        self.variables[name] = variable
        if regularizer is not None:
            graph = variable.graph
            with graph.name_scope(f"{name}/Regularizer/"):
                loss = regularizer(variable)
            if loss is not None:
                graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
        return variable

    @staticmethod
    def _create(name: str, shape: Any, dtype: dtypes.DType, initializer: Any, trainable: Optional[bool],
                collections: Optional[List[str]], validate_shape: bool) -> Variable:
        if isinstance(initializer, type):
            initializer = initializer(dtype=dtype)
        if initializer is None:
            initializer = (init_ops.glorot_uniform_initializer() if dtype.is_floating
                           else init_ops.zeros_initializer())
        if callable(initializer):
            if shape is None or not as_shape(shape).is_fully_defined():
                raise ValueError(f"Shape of a new variable ({name}) must be fully defined, but instead was "
                                 f"{as_shape(shape) if shape is not None else shape}.")
            dims = as_shape(shape).as_list()
            initial_value: Any = lambda: initializer(dims, dtype=dtype)  # noqa: E731 - built inside the var's scope
        else:
            value = initializer if isinstance(initializer, Tensor) else np.asarray(initializer)
            if shape is not None and not as_shape(shape).is_compatible_with(
                    value.shape if isinstance(value, Tensor) else as_shape(value.shape)):
                raise ValueError(f"Variable {name}: initializer value of shape {as_shape(value.shape)} does not "
                                 f"match the requested shape {as_shape(shape)}")
            initial_value = lambda: convert_to_tensor(value, dtype=dtype)  # noqa: E731
        graph = get_default_graph()
        # variables are named by variable scope, not name scope; their initializers run once, outside whatever
        # control-dependency context get_variable was called in
        with graph.name_scope(None), graph.control_dependencies(None):
            return Variable(initial_value, trainable=True if trainable is None else trainable,
                            collections=collections, validate_shape=validate_shape, name=name, dtype=dtype)


class _GraphState:
    def __init__(self):
        self.store = _VariableStore()
        self.scope = VariableScope(reuse=False)
        self.scope_counts: Dict[str, int] = {}


_STATES: "weakref.WeakKeyDictionary[Graph, _GraphState]" = weakref.WeakKeyDictionary()


def _state(graph: Optional[Graph] = None) -> _GraphState:
    graph = graph if graph is not None else get_default_graph()
    state = _STATES.get(graph)
    if state is None:
        state = _STATES[graph] = _GraphState()
    return state


def get_variable_scope() -> VariableScope:
    """The current VariableScope of the default graph."""
    return _state().scope


def get_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None, regularizer: Any = None,
                 trainable: Optional[bool] = None, collections: Optional[List[str]] = None,
                 caching_device: Any = None, partitioner: Any = None, validate_shape: bool = True,
                 use_resource: Any = None, custom_getter: Any = None, constraint: Any = None,
                 synchronization: Any = None, aggregation: Any = None) -> Variable:
    """Gets the variable `<scope>/name`, creating it unless the scope reuses variables (TF1's tf.get_variable).

    Args:
        name: the name relative to the current variable scope.
        shape: the variable's shape (needed when creating with an initializer function).
        dtype: element type (default: the scope's dtype, float32).
        initializer: an initializer, a Tensor or a value; default: the scope's, else glorot_uniform for floats and
            zeros for other dtypes.
        regularizer: fn(variable) -> loss Tensor or None, added to REGULARIZATION_LOSSES.
        trainable: add to TRAINABLE_VARIABLES (default True).
        collections: collections to add the variable to (default [GLOBAL_VARIABLES]).
        custom_getter: fn(getter, name, **kwargs) wrapping the creation.

    Returns:
        The Variable.

    Raises:
        ValueError: it exists and the scope does not reuse; it does not exist and the scope has reuse=True; the
            shape or dtype differs from the existing one; or the shape of a new variable is unknown.
    """
    if partitioner is not None:
        raise ValueError(f"get_variable({name!r}): partitioned variables are not supported by graphflow")
    state = _state()
    return state.scope.get_variable(state.store, name, shape=shape, dtype=dtype, initializer=initializer,
                                    regularizer=regularizer, trainable=trainable, collections=collections,
                                    validate_shape=validate_shape, custom_getter=custom_getter)


def get_local_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None,
                       regularizer: Any = None, trainable: bool = False, collections: Optional[List[str]] = None,
                       **kwargs: Any) -> Variable:
    """get_variable for a non-trainable variable in LOCAL_VARIABLES."""
    collections = list(collections or []) + [GraphKeys.LOCAL_VARIABLES]
    return get_variable(name, shape, dtype, initializer, regularizer, False, collections, **kwargs)


@contextlib.contextmanager
def variable_scope(name_or_scope: Any, default_name: Optional[str] = None, values: Any = None,
                   initializer: Any = None, regularizer: Any = None, caching_device: Any = None,
                   partitioner: Any = None, custom_getter: Any = None, reuse: Any = None, dtype: Any = None,
                   use_resource: Any = None, constraint: Any = None,
                   auxiliary_name_scope: bool = True) -> Iterator[VariableScope]:
    """Opens a variable scope (and a name scope of the same name for ops); yields its VariableScope.

    Args:
        name_or_scope: a name (relative to the current scope) or a VariableScope (entered as is); None to use
            `default_name`, made unique ("dense", "dense_1" …).
        default_name: used when name_or_scope is None.
        values: tensors the ops in the scope use; their graph becomes the default graph.
        initializer, regularizer, dtype, custom_getter: defaults for get_variable inside; unset ones are inherited.
        reuse: True or AUTO_REUSE to share variables; None inherits the enclosing scope's reuse (False cannot turn
            off an enclosing reuse, as in TF1).
        auxiliary_name_scope: open the name scope for ops (default True).
    """
    if name_or_scope is None and default_name is None:
        raise TypeError("If default_name is None then name_or_scope is required")
    if reuse not in (None, True, False, AUTO_REUSE):
        raise ValueError(f"The reuse parameter must be True or False or None or AUTO_REUSE, got {reuse!r}")
    if name_or_scope is None and reuse is True:
        raise ValueError("reuse=True cannot be used without a name_or_scope")
    graph = graph_of(values if isinstance(values, (list, tuple)) else [values]) if values is not None \
        else get_default_graph()
    with graph.as_default():
        state = _state(graph)
        parent = state.scope
        if isinstance(name_or_scope, VariableScope):
            full_name = name_or_scope.name
            base = name_or_scope
            name_scope_arg = name_or_scope.original_name_scope or None
        else:
            if name_or_scope is None:
                name_or_scope = _unique_scope_name(state, parent.name, default_name)
            if not isinstance(name_or_scope, str):
                raise TypeError(f"variable_scope takes a name or a VariableScope, got {type(name_or_scope).__name__}")
            full_name = f"{parent.name}/{name_or_scope}" if parent.name else name_or_scope
            base = parent
            name_scope_arg = name_or_scope
        if reuse is None or reuse is False:
            reuse = parent.reuse if parent.reuse in (True, AUTO_REUSE) else base.reuse
        state.scope_counts[full_name] = state.scope_counts.get(full_name, 0) + 1
        for key in [k for k in state.scope_counts if k.startswith(full_name + "/")]:
            state.scope_counts[key] = 0  # names under a re-entered scope start again at "dense"
        opened = graph.name_scope(name_scope_arg) if auxiliary_name_scope else contextlib.nullcontext(
            graph.get_name_scope() + "/" if graph.get_name_scope() else "")
        with opened as scope_string:
            scope = VariableScope(
                reuse=reuse, name=full_name,
                initializer=initializer if initializer is not None else base.initializer,
                regularizer=regularizer if regularizer is not None else base.regularizer,
                caching_device=caching_device, partitioner=partitioner,
                custom_getter=custom_getter if custom_getter is not None else base.custom_getter,
                name_scope=(base.original_name_scope if isinstance(name_or_scope, VariableScope)
                            else scope_string),
                dtype=dtype if dtype is not None else base.dtype, use_resource=use_resource, constraint=constraint)
            state.scope = scope
            try:
                yield scope
            finally:
                state.scope = parent


def _unique_scope_name(state: _GraphState, parent_name: str, prefix: str) -> str:
    full = f"{parent_name}/{prefix}" if parent_name else prefix
    if not state.scope_counts.get(full):
        return prefix
    index = 1
    while state.scope_counts.get(f"{full}_{index}"):
        index += 1
    return f"{prefix}_{index}"
