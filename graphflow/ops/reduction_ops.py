"""Reductions (Sum, Mean, Max, Min, Prod, Any, All) over static or dynamic axes, with keepdims and gradients."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape
from .builder import NUMERIC, const_value
from .core_ops import stop_gradient

__all__ = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_any", "reduce_all",
           "reduce_logsumexp", "reduce_variance", "reduce_std"]


def _static_axes(op) -> Optional[tuple]:
    """The reduction axes as a sorted tuple of non-negative ints when known at build time."""
    x, axes = op.inputs
    value = const_value(axes)
    if value is None or x.shape.rank is None:
        return None
    rank = x.shape.rank
    out = []
    for a in np.asarray(value).reshape(-1).tolist():
        if not -rank <= a < max(rank, 1):
            raise ValueError(f"Reduction axis {a} is out of range for input of rank {rank}")
        out.append(a % rank if rank else 0)
    return tuple(sorted(set(out)))


class Reduction(OpDef):
    """y = reduce(x, axes); inputs (x, reduction_indices); attr keep_dims."""

    attrs = {"keep_dims": False, "T": None, "Tidx": None}
    allowed = NUMERIC
    numpy_name = ""

    def infer(self, op):
        x, axes = op.inputs
        if x.dtype not in self.allowed:
            raise TypeError(f"{op.type} does not support dtype {x.dtype.name}")
        if not axes.dtype.is_integer:
            raise TypeError(f"{op.type} axes must be integers, got {axes.dtype.name}")
        keep = op.attrs["keep_dims"]
        static = _static_axes(op)
        if static is None:
            rank = x.shape.rank
            return [(self.out_dtype(x.dtype), TensorShape([None] * rank if keep and rank is not None else None))]
        dims = x.shape.as_list()
        if keep:
            shape = [1 if i in static else d for i, d in enumerate(dims)]
        else:
            shape = [d for i, d in enumerate(dims) if i not in static]
        return [(self.out_dtype(x.dtype), TensorShape(shape))]

    def out_dtype(self, dtype):
        return dtype

    def make_kernel(self, op, ctx):
        fn = getattr(ctx.xp, self.numpy_name)
        keep = op.attrs["keep_dims"]
        out_dtype = self.out_dtype(op.inputs[0].dtype).numpy
        needs_dtype = self.numpy_name in ("sum", "prod", "mean")

        def reduce(x, axes):
            axis = tuple(int(a) for a in np.asarray(axes).reshape(-1))
            if needs_dtype:
                return fn(x, axis=axis, keepdims=keep, dtype=out_dtype)
            return fn(x, axis=axis, keepdims=keep)
        return reduce


def _kept_shape(op):
    """Shape of the reduction's output with reduced axes kept as 1 (a Tensor or a static list)."""
    from . import array_ops
    x, axes = op.inputs
    static = _static_axes(op)
    if static is not None and x.shape.is_fully_defined():
        return [1 if i in static else d for i, d in enumerate(x.shape.as_list())]
    return x.graph.create_op("ReducedShape", [array_ops.shape(x), axes]).outputs[0]


def _broadcast_back(op, dy):
    """dy (reduced) reshaped to keep reduced axes, ready to broadcast against the input."""
    from . import array_ops
    if op.attrs["keep_dims"]:
        return dy
    return array_ops.reshape(dy, _kept_shape(op))


@register_op
class ReducedShape(OpDef):
    """The shape of x after reducing `axes` with keepdims (helper op for reduction gradients)."""

    op_type = "ReducedShape"
    grad = None

    def infer(self, op):
        return [(dtypes.int32, TensorShape([op.inputs[0].shape.dims[0] if op.inputs[0].shape.rank else None]))]

    def kernel(self, xp, shape, axes):
        shape = np.array(shape, dtype=np.int32)
        if shape.size:
            shape[np.asarray(axes).reshape(-1) % shape.size] = 1
        return shape


@register_op
class Sum(Reduction):
    """Sum over axes."""

    op_type = "Sum"
    numpy_name = "sum"
    _GEMV_MIN_ROWS = 1024

    def make_kernel(self, op, ctx):
        generic = super().make_kernel(op, ctx)
        x, static = op.inputs[0], _static_axes(op)
        rank = x.shape.rank
        if not x.dtype.is_floating or not static or rank is None or static != tuple(range(len(static))) \
                or len(static) == rank:
            return generic
        # Summing leading axes (a bias gradient over batch and pixels) as ones @ x[rows, rest] runs on the BLAS,
        # several times faster than xp.sum's strided reduction.
        lead, keep, xp = len(static), op.attrs["keep_dims"], ctx.xp

        def leading_sum(x, axes):
            rows = 1
            for d in x.shape[:lead]:
                rows *= d
            if rows < self._GEMV_MIN_ROWS or not x.flags.c_contiguous:
                return generic(x, axes)
            total = xp.ones(rows, dtype=x.dtype) @ x.reshape(rows, -1)
            return total.reshape(((1,) * lead if keep else ()) + x.shape[lead:])
        return leading_sum

    def grad(self, op, dy):
        from . import array_ops
        x = op.inputs[0]
        shape = x.shape.as_list() if x.shape.is_fully_defined() else array_ops.shape(x)
        return [array_ops.broadcast_to(_broadcast_back(op, dy), shape), None]


@register_op
class Mean(Reduction):
    """Mean over axes (integer inputs: integer division, as TF)."""

    op_type = "Mean"
    numpy_name = "mean"

    def make_kernel(self, op, ctx):
        if op.inputs[0].dtype.is_floating:
            return super().make_kernel(op, ctx)
        xp, keep, out = ctx.xp, op.attrs["keep_dims"], op.inputs[0].dtype.numpy

        def int_mean(x, axes):
            axis = tuple(int(a) for a in np.asarray(axes).reshape(-1))
            count = int(np.prod([x.shape[a] for a in axis])) if axis else 1
            return (xp.sum(x, axis=axis, keepdims=keep, dtype=np.int64) // max(count, 1)).astype(out)
        return int_mean

    def grad(self, op, dy):
        from . import array_ops
        x, y = op.inputs[0], op.outputs[0]
        summed = Sum.grad(self, op, dy)[0]
        in_size, out_size = x.shape.num_elements(), y.shape.num_elements()
        if in_size is not None and out_size is not None:
            return [summed / float(max(in_size // max(out_size, 1), 1)), None]
        from .math_ops import cast, maximum
        ratio = array_ops.size(x, out_type=dtypes.int64) // maximum(array_ops.size(y, out_type=dtypes.int64), 1)
        return [summed / cast(maximum(ratio, 1), x.dtype), None]


class _Extremum(Reduction):
    def grad(self, op, dy):
        from .math_ops import cast, equal
        x, y = op.inputs[0], op.outputs[0]
        y_kept = _broadcast_back(op, y)
        dy_kept = _broadcast_back(op, dy)
        mask = cast(equal(x, y_kept), x.dtype)
        # ties share the gradient equally, as TF does
        counts = reduce_sum(mask, op.inputs[1], keepdims=True)
        return [mask * dy_kept / counts, None]


@register_op
class Max(_Extremum):
    op_type = "Max"
    numpy_name = "max"


@register_op
class Min(_Extremum):
    op_type = "Min"
    numpy_name = "min"


@register_op
class Prod(Reduction):
    op_type = "Prod"
    numpy_name = "prod"

    def grad(self, op, dy):
        x, y = op.inputs[0], op.outputs[0]
        # d prod / dx_i = prod / x_i (inputs with zeros are not special-cased)
        return [_broadcast_back(op, dy) * _broadcast_back(op, y) / x, None]


@register_op
class ReduceAny(Reduction):
    """Logical or over axes."""

    op_type = "Any"
    numpy_name = "any"
    allowed = (dtypes.bool_,)
    grad = None


@register_op
class ReduceAll(Reduction):
    """Logical and over axes."""

    op_type = "All"
    numpy_name = "all"
    allowed = (dtypes.bool_,)
    grad = None


def _reduce(op_type: str, input_tensor: Any, axis: Any, keepdims: Optional[bool], name: Optional[str],
            reduction_indices: Any = None, keep_dims: Optional[bool] = None):
    x = convert_to_tensor(input_tensor)
    if axis is None:
        axis = reduction_indices
    keep = bool(keepdims if keepdims is not None else (keep_dims or False))
    if axis is None:
        if x.shape.rank is not None:
            axes = convert_to_tensor(np.arange(x.shape.rank, dtype=np.int32), graph=x.graph)
        else:
            from . import array_ops
            axes = array_ops.range(0, array_ops.rank(x))
    else:
        axes = convert_to_tensor(axis, dtype=dtypes.int32, graph=x.graph) if not hasattr(axis, "op") else axis
    return x.graph.create_op(op_type, [x, axes], {"keep_dims": keep}, name=name or op_type).outputs[0]


def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None):
    """Sum of elements across `axis` (all axes when None)."""
    return _reduce("Sum", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
                reduction_indices: Any = None, keep_dims: Optional[bool] = None):
    """Mean of elements across `axis`."""
    return _reduce("Mean", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None):
    """Maximum across `axis`; the gradient is shared equally among tied maxima."""
    return _reduce("Max", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_min(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None):
    """Minimum across `axis`."""
    return _reduce("Min", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_prod(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
                reduction_indices: Any = None, keep_dims: Optional[bool] = None):
    """Product across `axis`."""
    return _reduce("Prod", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_any(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None):
    """Logical or across `axis`."""
    return _reduce("Any", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_all(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None):
    """Logical and across `axis`."""
    return _reduce("All", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_logsumexp(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
                     reduction_indices: Any = None, keep_dims: Optional[bool] = None):
    """log(sum(exp(x))) across `axis`, stable for large values (the max is subtracted first)."""
    from . import array_ops
    from .math_ops import exp, is_finite, log, where_
    x = convert_to_tensor(input_tensor)
    axis = axis if axis is not None else reduction_indices
    keep = bool(keepdims if keepdims is not None else (keep_dims or False))
    with x.graph.name_scope(name or "ReduceLogSumExp"):
        raw_peak = reduce_max(x, axis, keepdims=True)
        # an all -inf slice has peak -inf, and x - peak would be NaN; shifting it by 0 instead gives log(0) = -inf
        peak = stop_gradient(where_(is_finite(raw_peak), raw_peak, array_ops.zeros_like(raw_peak)))
        result = log(reduce_sum(exp(x - peak), axis, keepdims=True)) + peak
        if not keep:
            result = reduce_sum(result, axis, keepdims=False)
        return result


def reduce_variance(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Optional[str] = None):
    """Variance across `axis` (population variance)."""
    from .math_ops import square
    x = convert_to_tensor(input_tensor)
    with x.graph.name_scope(name or "reduce_variance"):
        mean = reduce_mean(x, axis, keepdims=True)
        return reduce_mean(square(x - mean), axis, keepdims=keepdims)


def reduce_std(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Optional[str] = None):
    """Standard deviation across `axis`."""
    from .math_ops import sqrt
    return sqrt(reduce_variance(input_tensor, axis, keepdims), name=name)
