"""Variable storage ops: VariableV2 (read), Assign, AssignAdd, AssignSub, IsVariableInitialized.

A variable's value lives in the Session's store under the VariableV2 op's name. Ops that write a variable take
it as a *ref input* (`ref_inputs`): the Plan does not read the variable for them, and they run where it lives.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..framework import dtypes
from ..framework.errors import FailedPreconditionError, InvalidArgumentError
from ..framework.registry import REQUIRED, OpDef, register_op
from ..framework.shapes import TensorShape, as_shape


def variable_reader(op, ctx) -> Callable[[], Any]:
    """A zero-argument function returning the stored value of variable op `op`, or raising a clear error."""
    store, name = ctx.variables, op.name

    def read():
        try:
            return store[name]
        except KeyError:
            raise FailedPreconditionError(None, op, f"Attempting to use uninitialized value {name}: run its "
                                                    f"initializer first (global_variables_initializer() runs them all)") from None
    return read


@register_op
class VariableV2(OpDef):
    """A variable: produces its current value, held by the Session."""

    op_type = "VariableV2"
    attrs = {"shape": REQUIRED, "dtype": REQUIRED, "container": "", "shared_name": ""}
    stateful = True
    is_variable = True
    grad = None

    def infer(self, op):
        return [(dtypes.as_dtype(op.attrs["dtype"]), as_shape(op.attrs["shape"]))]

    def make_kernel(self, op, ctx):
        return variable_reader(op, ctx)


def _check_ref(op) -> None:
    ref = op.inputs[0]
    if not getattr(ref.op.opdef, "is_variable", False):
        raise TypeError(f"{op.type} needs a variable as its first input, got {ref.name} (a {ref.op.type})")


class _VariableUpdate(OpDef):
    """Base of ops that update a variable in the store and return its new value."""

    ref_inputs = (0,)
    stateful = True
    may_alias_input = True
    grad = None

    def infer(self, op):
        _check_ref(op)
        ref, value = op.inputs[0], op.inputs[1]
        if ref.dtype != value.dtype:
            raise TypeError(f"{op.type}: value dtype {value.dtype.name} does not match variable {ref.op.name} "
                            f"({ref.dtype.name})")
        if op.attrs.get("validate_shape", True) and not ref.shape.is_compatible_with(value.shape):
            raise ValueError(f"{op.type}: value of shape {value.shape} does not match variable {ref.op.name} of "
                             f"shape {ref.shape}")
        return [(ref.dtype, ref.shape if op.attrs.get("validate_shape", True) else value.shape)]


@register_op
class Assign(_VariableUpdate):
    """ref = value (copied, so later in-place updates never touch the caller's array)."""

    op_type = "Assign"
    attrs = {"T": None, "validate_shape": True, "use_locking": True}

    def make_kernel(self, op, ctx):
        store, name, xp = ctx.variables, op.inputs[0].op.name, ctx.xp
        declared = op.inputs[0].shape
        validate = op.attrs["validate_shape"]

        def assign(value):
            if validate and not declared.matches(np.shape(value)):
                raise InvalidArgumentError(None, op, f"Assign requires shapes of both tensors to match. lhs shape= "
                                                     f"{declared} rhs shape= {tuple(np.shape(value))}")
            array = xp.array(value, copy=True)
            store[name] = array
            return array
        return assign


class _InPlaceUpdate(_VariableUpdate):
    attrs = {"T": None, "use_locking": False}
    ufunc_name = ""

    def make_kernel(self, op, ctx):
        read = variable_reader(op.inputs[0].op, ctx)
        ufunc = getattr(ctx.xp, self.ufunc_name)

        def update(value):
            var = read()
            ufunc(var, value, out=var)
            return var
        return update


@register_op
class AssignAdd(_InPlaceUpdate):
    """ref += value, in place."""

    op_type = "AssignAdd"
    ufunc_name = "add"


@register_op
class AssignSub(_InPlaceUpdate):
    """ref -= value, in place."""

    op_type = "AssignSub"
    ufunc_name = "subtract"


@register_op
class IsVariableInitialized(OpDef):
    """True when the variable has a value in this Session."""

    op_type = "IsVariableInitialized"
    attrs = {"dtype": None}
    ref_inputs = (0,)
    stateful = True
    grad = None

    def infer(self, op):
        _check_ref(op)
        return [(dtypes.bool_, TensorShape(()))]

    def make_kernel(self, op, ctx):
        store, name = ctx.variables, op.inputs[0].op.name
        return lambda: np.bool_(name in store)
