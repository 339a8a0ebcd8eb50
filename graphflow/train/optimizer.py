"""Optimizer: the TF1 base class — compute_gradients, apply_gradients, minimize — and its slot variables.

Slots are ordinary non-trainable Variables in GLOBAL_VARIABLES (so a Saver saves them), named like TF's:
"<variable op name>/<optimizer name>", then "_1", "_2" … for further slots of the same variable.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..framework.convert import convert_to_tensor
from ..framework.graph import Graph, GraphKeys, get_default_graph
from ..framework.tensor import Operation, Tensor
from ..gradients import gradients
from ..ops import array_ops, core_ops, math_ops
from ..ops.variables import Variable, trainable_variables

__all__ = ["Optimizer"]

GradsAndVars = List[Tuple[Optional[Tensor], Variable]]


class Optimizer:
    """Base class of optimizers. Subclasses define `_create_slots`, `_prepare` and `_apply_dense`.

    Args:
        use_locking: passed to the update ops (TF's attr; updates here never run concurrently).
        name: prefix of the ops and slot variables the optimizer creates.
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking: bool, name: str):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots: Dict[str, Dict[Operation, Variable]] = {}
        self._non_slot: Dict[Tuple[str, Graph], Variable] = {}
        self._hyper_cache: Dict[Tuple[str, Any], Tensor] = {}

    def get_name(self) -> str:
        return self._name

    # --- the three public steps -----------------------------------------------------------------------------------
    def minimize(self, loss: Tensor, global_step: Optional[Variable] = None, var_list: Optional[Sequence[Variable]] = None,
                 gate_gradients: int = GATE_OP, aggregation_method: Any = None,
                 colocate_gradients_with_ops: bool = False, name: Optional[str] = None,
                 grad_loss: Optional[Tensor] = None) -> Operation:
        """compute_gradients then apply_gradients: one op that takes a training step.

        Args:
            loss: the scalar (or any) Tensor to minimise.
            global_step: a Variable incremented by one after the updates.
            var_list: Variables to update (default: TRAINABLE_VARIABLES).
            name: name of the returned op (default: the optimizer's name).

        Raises:
            ValueError: no variable in `var_list` gets a gradient from `loss`.
        """
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, gate_gradients=gate_gradients,
                                                aggregation_method=aggregation_method,
                                                colocate_gradients_with_ops=colocate_gradients_with_ops,
                                                grad_loss=grad_loss)
        if all(g is None for g, _ in grads_and_vars):
            raise ValueError("No gradients provided for any variable, check your graph for ops that do not support "
                             f"gradients, between variables {[v.name for _, v in grads_and_vars]} and loss {loss}.")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss: Tensor, var_list: Optional[Sequence[Variable]] = None,
                          gate_gradients: int = GATE_OP, aggregation_method: Any = None,
                          colocate_gradients_with_ops: bool = False,
                          grad_loss: Optional[Tensor] = None) -> GradsAndVars:
        """Gradients of `loss` with respect to each variable: a list of (gradient or None, variable).

        `gate_gradients` is accepted for TF compatibility: a Plan schedules ops in creation order among the ready
        ones, so every gradient is computed before any update op (created later) runs — GATE_GRAPH semantics.

        Raises:
            ValueError: no variables to optimise, or `loss` / a variable is not floating point.
        """
        if gate_gradients not in (self.GATE_NONE, self.GATE_OP, self.GATE_GRAPH):
            raise ValueError(f"gate_gradients must be one of: Optimizer.GATE_NONE, Optimizer.GATE_OP, "
                             f"Optimizer.GATE_GRAPH. Not {gate_gradients}")
        loss = convert_to_tensor(loss)
        _check_float(loss, loss.name)
        if var_list is None:
            var_list = trainable_variables() if loss.graph is get_default_graph() else \
                loss.graph.get_collection(GraphKeys.TRAINABLE_VARIABLES)
        var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        for v in var_list:
            if not hasattr(v, "_ref"):
                raise TypeError(f"var_list must hold Variables, got {v!r}")
            _check_float(v, v.name)
        # Differentiate with respect to each VariableV2 output, as TF1 does, so every read of a variable counts.
        grads = gradients(loss, [v._ref() for v in var_list], grad_ys=grad_loss,
                          aggregation_method=aggregation_method,
                          colocate_gradients_with_ops=colocate_gradients_with_ops)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars: Sequence[Tuple[Any, Variable]], global_step: Optional[Variable] = None,
                        name: Optional[str] = None) -> Operation:
        """Ops applying each gradient to its variable; pairs whose gradient is None are skipped.

        Args:
            grads_and_vars: (gradient, Variable) pairs, e.g. from compute_gradients (possibly transformed).
            global_step: a Variable incremented by one after all updates have run.
            name: name of the returned op (default: the optimizer's name).

        Returns:
            The op running every update (and the global-step increment); also added to TRAIN_OP.

        Raises:
            ValueError: `grads_and_vars` is empty or no pair has a gradient (the error names the variables).
        """
        pairs = []
        for g, v in grads_and_vars:
            if not hasattr(v, "_ref"):
                raise TypeError(f"apply_gradients needs Variables, got {v!r} (paired with gradient {g!r})")
            if g is not None:
                g = convert_to_tensor(g, graph=v.graph)
                if not g.shape.is_compatible_with(v.shape):
                    raise ValueError(f"Gradient {g.name} has shape {g.shape}, incompatible with variable {v.name} of "
                                     f"shape {v.shape}")
            pairs.append((g, v))
        if not pairs:
            raise ValueError("No variables provided.")
        var_list = [v for g, v in pairs if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: {[v.name for _, v in pairs]}.")
        graph = var_list[0].graph
        with graph.as_default():
            with graph.name_scope(None), graph.control_dependencies(None):
                self._create_slots(var_list)
            with graph.name_scope(name or self._name) as scope:
                self._hyper_cache = {}
                self._prepare()
                update_ops = []
                for grad, var in pairs:
                    if grad is None:
                        continue
                    with graph.name_scope("update_" + var.op.name), graph.colocate_with(var.op):
                        update = self._apply_dense(grad, var)
                    update_ops.append(update if isinstance(update, Operation) else update.op)
                if global_step is None:
                    train_op = self._finish(update_ops, scope)
                else:
                    with graph.control_dependencies([self._finish(update_ops, "update")]), \
                            graph.colocate_with(global_step.op):
                        train_op = global_step.assign_add(1, name=scope).op
            train_ops = graph.get_collection_ref(GraphKeys.TRAIN_OP)
            if train_op not in train_ops:
                train_ops.append(train_op)
        return train_op

    # --- slots ----------------------------------------------------------------------------------------------------
    def get_slot(self, var: Variable, name: str) -> Optional[Variable]:
        """The slot variable `name` ("momentum", "m", …) the optimizer created for `var`, or None."""
        return self._slots.get(name, {}).get(var.op)

    def get_slot_names(self) -> List[str]:
        """The names of the slots this optimizer creates, sorted."""
        return sorted(self._slots)

    def variables(self) -> List[Variable]:
        """The slot and non-slot variables this optimizer created in the default graph, sorted by name."""
        graph = get_default_graph()
        found = [v for (_, g), v in self._non_slot.items() if g is graph]
        found += [v for slots in self._slots.values() for v in slots.values() if v.graph is graph]
        return sorted(found, key=lambda v: v.name)

    def _slot(self, var: Variable, slot_name: str, op_name: str, fill_value: float = 0.0) -> Variable:
        """The slot `slot_name` of `var`, created on first use filled with `fill_value`, shaped like `var`."""
        named = self._slots.setdefault(slot_name, {})
        if var.op not in named:
            graph = var.graph
            dtype = var.dtype
            if not var.shape.is_fully_defined():
                raise ValueError(f"{self._name} needs a fully defined shape for variable {var.name}, got {var.shape}")

            def initial() -> Tensor:
                return array_ops.fill(var.shape.as_list(), np.asarray(fill_value, dtype=dtype.numpy))
            with graph.name_scope(None), graph.control_dependencies(None), graph.colocate_with(var.op):
                named[var.op] = Variable(initial, trainable=False, name=f"{var.op.name}/{op_name}", dtype=dtype)
        return named[var.op]

    def _zeros_slot(self, var: Variable, slot_name: str, op_name: str) -> Variable:
        return self._slot(var, slot_name, op_name, 0.0)

    def _non_slot_variable(self, initial_value: Any, name: str, colocate_with: Variable, dtype: Any = None) -> Variable:
        """A variable shared by all updates of this optimizer in one graph (Adam's beta powers)."""
        graph = colocate_with.graph
        key = (name, graph)
        if key not in self._non_slot:
            with graph.as_default(), graph.name_scope(None), graph.control_dependencies(None), \
                    graph.colocate_with(colocate_with.op):
                self._non_slot[key] = Variable(initial_value, trainable=False, name=name, dtype=dtype)
        return self._non_slot[key]

    def _get_non_slot_variable(self, name: str, graph: Optional[Graph] = None) -> Optional[Variable]:
        return self._non_slot.get((name, graph or get_default_graph()))

    # --- hyperparameters ------------------------------------------------------------------------------------------
    def _hyper(self, name: str, value: Any, dtype: Any) -> Tensor:
        """Hyperparameter `value` (a number, Tensor, Variable or callable returning one) as a Tensor of `dtype`.

        Numbers become constants of exactly `dtype` (no float32 round trip for float64 variables); Tensors are cast.
        """
        key = (name, dtype)
        if key not in self._hyper_cache:
            if callable(value) and not isinstance(value, (Tensor, Variable)):
                value = value()
            if isinstance(value, (Tensor, Variable)):
                tensor = convert_to_tensor(value)
                self._hyper_cache[key] = tensor if tensor.dtype == dtype else math_ops.cast(tensor, dtype)
            else:
                self._hyper_cache[key] = core_ops.constant(value, dtype=dtype, name=name)
        return self._hyper_cache[key]

    # --- subclass hooks -------------------------------------------------------------------------------------------
    def _create_slots(self, var_list: List[Variable]) -> None:
        """Creates the slot (and non-slot) variables for `var_list`; runs outside any name scope."""

    def _prepare(self) -> None:
        """Creates per-step tensors shared by all updates (inside the optimizer's name scope)."""

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define _apply_dense")

    def _finish(self, update_ops: List[Operation], name_scope: str) -> Operation:
        """The op grouping all updates; subclasses add their own final updates (e.g. Adam's beta powers)."""
        return core_ops.group(*update_ops, name=name_scope)


def _check_float(value: Any, name: str) -> None:
    if not value.dtype.is_floating:
        raise ValueError(f"Invalid type {value.dtype.name} for {name}, expected: [float16, float32, float64].")

