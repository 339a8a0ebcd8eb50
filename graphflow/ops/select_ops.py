"""Selection ops: where / Select / SelectV2 (elementwise choice, with gradients) and Where (coordinates of trues)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape, broadcast_many
from ..framework.tensor import Tensor
from . import array_ops, math_ops
from .builder import convert_pair


__all__ = ["where", "where_v2"]


# ---------------------------------------------------------------------------------------------------------------------
# Select / SelectV2 / Where
# ---------------------------------------------------------------------------------------------------------------------
@register_op
class Select(OpDef):
    """y = t where condition else e; condition has t's shape, or is a vector selecting rows of t (TF1 `where`)."""

    op_type = "Select"
    attrs = {"T": None}

    def infer(self, op):
        cond, t, e = op.inputs
        if cond.dtype != dtypes.bool_:
            raise TypeError(f"Select: condition must be bool, got {cond.dtype.name}")
        if t.dtype != e.dtype:
            raise TypeError(f"Select: x ({t.dtype.name}) and y ({e.dtype.name}) must share a dtype")
        try:
            out = t.shape.merge_with(e.shape)
            if not (cond.shape.rank == 1 and out.rank is not None and out.rank > 1):
                out = out.merge_with(cond.shape)
            elif not TensorShape(cond.shape.dims).is_compatible_with(out.dims[:1]):
                raise ValueError
        except ValueError:
            raise ValueError(f"Select: condition {cond.shape}, x {t.shape} and y {e.shape} must have the same shape "
                             "(or condition be a vector over x's first dimension); use where_v2 to broadcast") from None
        return [(t.dtype, out)]

    def make_kernel(self, op, ctx):
        xp = ctx.xp

        def select(cond, t, e):
            if cond.ndim == 1 and t.ndim > 1:
                cond = cond.reshape((-1,) + (1,) * (t.ndim - 1))
            elif cond.shape != t.shape or t.shape != e.shape:
                raise ValueError(f"Select: shapes {cond.shape}, {t.shape}, {e.shape} differ")
            return xp.where(cond, t, e)
        return select

    def grad(self, op, dy):
        cond = op.inputs[0]
        zeros = array_ops.zeros_like(dy)
        return [None, where(cond, dy, zeros), where(cond, zeros, dy)]


@register_op
class SelectV2(OpDef):
    """y = where(condition, t, e) with numpy broadcasting of all three."""

    op_type = "SelectV2"
    attrs = {"T": None}

    def infer(self, op):
        cond, t, e = op.inputs
        if cond.dtype != dtypes.bool_:
            raise TypeError(f"SelectV2: condition must be bool, got {cond.dtype.name}")
        if t.dtype != e.dtype:
            raise TypeError(f"SelectV2: x ({t.dtype.name}) and y ({e.dtype.name}) must share a dtype")
        return [(t.dtype, broadcast_many([cond.shape, t.shape, e.shape]))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda cond, t, e: xp.where(cond, t, e)

    def grad(self, op, dy):
        cond, t, e = op.inputs
        zero = convert_to_tensor(np.zeros((), dy.dtype.numpy), graph=dy.graph)
        return [None, math_ops.sum_to(where_v2(cond, dy, zero), t, partners=(cond, e)),
                math_ops.sum_to(where_v2(cond, zero, dy), e, partners=(cond, t))]


@register_op
class Where(OpDef):
    """The coordinates of the true (non-zero) elements of the input, as int64 rows: shape [N, rank]."""

    op_type = "Where"
    attrs = {"T": None}
    grad = None

    def infer(self, op):
        return [(dtypes.int64, TensorShape([None, op.inputs[0].shape.rank]))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda cond: xp.argwhere(cond).astype(np.int64).reshape(-1, cond.ndim)


def where(condition: Any, x: Any = None, y: Any = None, name: Optional[str] = None) -> Tensor:
    """TF1 `where`: with x and y, picks elementwise (Select; SelectV2 when shapes need broadcasting); alone, returns
    the int64 coordinates of the true elements of `condition`."""
    if x is None and y is None:
        c = convert_to_tensor(condition)
        return c.graph.create_op("Where", [c], name=name or "Where").outputs[0]
    if x is None or y is None:
        raise ValueError("where: x and y must both be given, or neither")
    graph = graph_of([condition, x, y])
    c = convert_to_tensor(condition, dtype=dtypes.bool_, graph=graph)
    x, y = convert_pair(x, y)
    same = _select_compatible(c.shape, x.shape, y.shape)
    return graph.create_op("Select" if same else "SelectV2", [c, x, y], name=name or "Select").outputs[0]


def _select_compatible(cond: TensorShape, x: TensorShape, y: TensorShape) -> bool:
    """Whether TF1's Select accepts these (partial) shapes: all equal, or cond a vector over x's first dimension."""
    if not x.is_compatible_with(y):
        return False
    values = x.merge_with(y)
    if cond.is_compatible_with(values):
        return True
    return cond.rank == 1 and values.rank != 1 and TensorShape(cond.dims).is_compatible_with(values[:1])


def where_v2(condition: Any, x: Any = None, y: Any = None, name: Optional[str] = None) -> Tensor:
    """`where` with numpy broadcasting of condition, x and y (SelectV2); alone, the coordinates of true elements."""
    if x is None and y is None:
        return where(condition, name=name)
    graph = graph_of([condition, x, y])
    c = convert_to_tensor(condition, dtype=dtypes.bool_, graph=graph)
    x, y = convert_pair(x, y)
    return graph.create_op("SelectV2", [c, x, y], name=name or "SelectV2").outputs[0]
