"""Graph plumbing ops: Placeholder, PlaceholderWithDefault, Const, Identity, StopGradient, NoOp, and group."""
from __future__ import annotations

from typing import Any, Optional

from ..framework import dtypes
from ..framework.convert import constant, convert_to_tensor, graph_of
from ..framework.errors import InvalidArgumentError
from ..framework.graph import get_default_graph
from ..framework.registry import REQUIRED, OpDef, register_op
from ..framework.shapes import TensorShape, as_shape
from ..framework.tensor import Operation, Tensor
from .builder import apply_op

__all__ = ["placeholder", "placeholder_with_default", "constant", "identity", "stop_gradient", "no_op", "group",
           "convert_to_tensor"]


@register_op
class Placeholder(OpDef):
    """A value that must be fed (`feed_dict`); running it unfed is an error naming it."""

    op_type = "Placeholder"
    attrs = {"dtype": REQUIRED, "shape": None}
    grad = None

    def infer(self, op):
        return [(dtypes.as_dtype(op.attrs["dtype"]), as_shape(op.attrs["shape"]))]

    def make_kernel(self, op, ctx):
        def unfed():
            raise InvalidArgumentError(None, op, f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                                                 f"{op.attrs['dtype'].name} and shape {as_shape(op.attrs['shape'])}")
        return unfed


@register_op
class PlaceholderWithDefault(OpDef):
    """Passes its input through unless it is fed."""

    op_type = "PlaceholderWithDefault"
    attrs = {"dtype": REQUIRED, "shape": None}
    is_identity = True
    may_alias_input = True
    grad = None

    def infer(self, op):
        declared = as_shape(op.attrs["shape"])
        if not declared.is_compatible_with(op.inputs[0].shape):
            raise ValueError(f"Default value of shape {op.inputs[0].shape} does not fit placeholder shape {declared}")
        return [(op.inputs[0].dtype, declared)]

    def kernel(self, xp, x):
        return x


@register_op
class Const(OpDef):
    """A constant array, stored in the graph."""

    op_type = "Const"
    attrs = {"value": REQUIRED, "dtype": REQUIRED}
    is_constant = True
    grad = None

    def infer(self, op):
        return [(dtypes.as_dtype(op.attrs["dtype"]), TensorShape(op.attrs["value"].shape))]

    def make_kernel(self, op, ctx):
        value = ctx.device.put(op.attrs["value"])
        return lambda: value


@register_op
class Identity(OpDef):
    """Returns its input unchanged."""

    op_type = "Identity"
    is_identity = True
    may_alias_input = True

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[0].shape)]

    def kernel(self, xp, x):
        return x

    def grad(self, op, dy):
        return [dy]


@register_op
class StopGradient(Identity):
    """Identity in the forward pass; blocks gradients."""

    op_type = "StopGradient"
    grad = None


@register_op
class NoOp(OpDef):
    """Does nothing; used for its control inputs (group, initializers, train ops)."""

    op_type = "NoOp"
    grad = None

    def infer(self, op):
        return []

    def kernel(self, xp):
        return None


def placeholder(dtype: Any, shape: Any = None, name: Optional[str] = None) -> Tensor:
    """A Tensor whose value is fed at run time.

    Args:
        dtype: element type.
        shape: static shape; None dims (or shape=None) accept any size (any rank).
    """
    return get_default_graph().create_op("Placeholder", [], {"dtype": dtypes.as_dtype(dtype),
                                                             "shape": None if shape is None else as_shape(shape).dims},
                                         name=name or "Placeholder").outputs[0]


def placeholder_with_default(input: Any, shape: Any, name: Optional[str] = None) -> Tensor:
    """A placeholder that produces `input` when not fed."""
    x = convert_to_tensor(input)
    return x.graph.create_op("PlaceholderWithDefault", [x], {"dtype": x.dtype, "shape": as_shape(shape).dims},
                             name=name or "PlaceholderWithDefault").outputs[0]


def identity(input: Any, name: Optional[str] = None) -> Tensor:
    """Returns a tensor with the same value as `input`."""
    return apply_op("Identity", [input], name=name or "Identity")


def stop_gradient(input: Any, name: Optional[str] = None) -> Tensor:
    """Identity whose gradient is zero: `gradients` does not flow through it."""
    return apply_op("StopGradient", [input], name=name or "StopGradient")


def no_op(name: Optional[str] = None) -> Operation:
    """An op that does nothing."""
    return get_default_graph().create_op("NoOp", [], name=name or "NoOp")


def group(*inputs: Any, name: Optional[str] = None) -> Operation:
    """An op that runs after all `inputs` (Tensors or Operations) have run."""
    flat = []
    for x in inputs:
        flat.extend(x if isinstance(x, (list, tuple)) else [x])
    deps = [x if isinstance(x, Operation) else x.op for x in flat]
    graph = graph_of(deps)
    return graph.create_op("NoOp", [], name=name or "group_deps", control_inputs=deps)
