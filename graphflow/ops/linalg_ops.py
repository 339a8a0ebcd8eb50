"""Matrix products (MatMul, BatchMatMulV2, tensordot), arg-reductions, cumulative sums."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape, broadcast_shapes
from .builder import const_value, convert_pair

__all__ = ["matmul", "tensordot", "argmax", "argmin", "cumsum", "count_nonzero"]


def _matmul_dims(a_shape, b_shape, ta: bool, tb: bool, op_type: str):
    m, ka = (a_shape[-1], a_shape[-2]) if ta else (a_shape[-2], a_shape[-1])
    kb, n = (b_shape[-1], b_shape[-2]) if tb else (b_shape[-2], b_shape[-1])
    if ka is not None and kb is not None and ka != kb:
        raise ValueError(f"{op_type}: inner dimensions differ: {ka} (a{' transposed' if ta else ''}) vs "
                         f"{kb} (b{' transposed' if tb else ''})")
    return m, n


@register_op
class MatMul(OpDef):
    """c = op(a) @ op(b) for matrices, op = transpose when transpose_a / transpose_b."""

    op_type = "MatMul"
    attrs = {"transpose_a": False, "transpose_b": False, "T": None}

    def infer(self, op):
        a, b = op.inputs
        if a.dtype != b.dtype:
            raise TypeError(f"MatMul inputs must have the same dtype, got {a.dtype.name} and {b.dtype.name}")
        a_shape, b_shape = a.shape.with_rank(2).as_list(), b.shape.with_rank(2).as_list()
        m, n = _matmul_dims(a_shape, b_shape, op.attrs["transpose_a"], op.attrs["transpose_b"], "MatMul")
        return [(a.dtype, TensorShape([m, n]))]

    def make_kernel(self, op, ctx):
        ta, tb, dot = op.attrs["transpose_a"], op.attrs["transpose_b"], ctx.xp.matmul
        if not ta and not tb:
            return dot
        return lambda a, b: dot(a.T if ta else a, b.T if tb else b)

    def grad(self, op, dy):
        a, b = op.inputs
        ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
        if not ta and not tb:
            return [matmul(dy, b, transpose_b=True), matmul(a, dy, transpose_a=True)]
        if not ta and tb:
            return [matmul(dy, b), matmul(dy, a, transpose_a=True)]
        if ta and not tb:
            return [matmul(b, dy, transpose_b=True), matmul(a, dy)]
        return [matmul(b, dy, transpose_a=True, transpose_b=True), matmul(dy, a, transpose_a=True, transpose_b=True)]


@register_op
class BatchMatMulV2(OpDef):
    """Batched matmul over leading dims (broadcast), adj_x / adj_y transpose the last two dims."""

    op_type = "BatchMatMulV2"
    attrs = {"adj_x": False, "adj_y": False, "T": None}

    def infer(self, op):
        a, b = op.inputs
        if a.dtype != b.dtype:
            raise TypeError(f"BatchMatMul inputs must have the same dtype, got {a.dtype.name} and {b.dtype.name}")
        if a.shape.rank is None or b.shape.rank is None:
            return [(a.dtype, TensorShape(None))]
        a_shape, b_shape = a.shape.with_rank_at_least(2).as_list(), b.shape.with_rank_at_least(2).as_list()
        m, n = _matmul_dims(a_shape, b_shape, op.attrs["adj_x"], op.attrs["adj_y"], "BatchMatMul")
        batch = broadcast_shapes(a_shape[:-2], b_shape[:-2])
        return [(a.dtype, batch.concatenate([m, n]))]

    def make_kernel(self, op, ctx):
        ta, tb, dot = op.attrs["adj_x"], op.attrs["adj_y"], ctx.xp.matmul
        swap = ctx.xp.swapaxes
        return lambda a, b: dot(swap(a, -1, -2) if ta else a, swap(b, -1, -2) if tb else b)

    def grad(self, op, dy):
        from .math_ops import sum_to
        a, b = op.inputs
        ta, tb = op.attrs["adj_x"], op.attrs["adj_y"]
        if not ta:
            ga = matmul(dy, b, transpose_b=not tb)
        else:
            ga = matmul(b, dy, transpose_a=tb, transpose_b=True)
        if not tb:
            gb = matmul(a, dy, transpose_a=not ta)
        else:
            gb = matmul(dy, a, transpose_a=True, transpose_b=ta)
        return [sum_to(ga, a), sum_to(gb, b)]


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False, adjoint_a: bool = False,
           adjoint_b: bool = False, a_is_sparse: bool = False, b_is_sparse: bool = False, name: Optional[str] = None):
    """Matrix product op(a) @ op(b); inputs of rank > 2 are batched (leading dims broadcast)."""
    a, b = convert_pair(a, b)
    ta, tb = transpose_a or adjoint_a, transpose_b or adjoint_b
    if a.shape.rank == 2 and b.shape.rank == 2:
        return a.graph.create_op("MatMul", [a, b], {"transpose_a": ta, "transpose_b": tb},
                                 name=name or "MatMul").outputs[0]
    return a.graph.create_op("BatchMatMulV2", [a, b], {"adj_x": ta, "adj_y": tb}, name=name or "MatMul").outputs[0]


def tensordot(a: Any, b: Any, axes: Any, name: Optional[str] = None):
    """Contracts `axes` of a with those of b (an int N: last N of a with first N of b), via reshape + matmul."""
    from . import array_ops
    a, b = convert_pair(a, b)
    if a.shape.rank is None or b.shape.rank is None or not a.shape.is_fully_defined() or not b.shape.is_fully_defined():
        raise ValueError("tensordot needs fully defined input shapes")
    ra, rb = a.shape.rank, b.shape.rank
    if isinstance(axes, (int, np.integer)):
        a_axes, b_axes = list(range(ra - int(axes), ra)), list(range(int(axes)))
    else:
        a_axes, b_axes = [list(np.atleast_1d(ax)) for ax in axes]
    a_axes, b_axes = [int(x) % ra for x in a_axes], [int(x) % rb for x in b_axes]
    a_dims, b_dims = a.shape.as_list(), b.shape.as_list()
    for i, j in zip(a_axes, b_axes):
        if a_dims[i] != b_dims[j]:
            raise ValueError(f"tensordot: axis {i} of a ({a_dims[i]}) does not match axis {j} of b ({b_dims[j]})")
    free_a = [i for i in range(ra) if i not in a_axes]
    free_b = [i for i in range(rb) if i not in b_axes]
    k = int(np.prod([a_dims[i] for i in a_axes]))
    with a.graph.name_scope(name or "Tensordot"):
        at = array_ops.reshape(array_ops.transpose(a, free_a + a_axes), [-1, k])
        bt = array_ops.reshape(array_ops.transpose(b, b_axes + free_b), [k, -1])
        product = matmul(at, bt)
        return array_ops.reshape(product, [a_dims[i] for i in free_a] + [b_dims[i] for i in free_b])


class _ArgReduce(OpDef):
    attrs = {"output_type": dtypes.int64, "T": None, "Tidx": None}
    numpy_name = ""
    grad = None

    def infer(self, op):
        x, axis = op.inputs
        value = const_value(axis)
        if value is None or x.shape.rank is None:
            return [(dtypes.as_dtype(op.attrs["output_type"]), TensorShape(None))]
        rank = x.shape.rank
        a = int(value)
        if not -rank <= a < rank:
            raise ValueError(f"{op.type}: axis {a} out of range for rank {rank}")
        dims = x.shape.as_list()
        del dims[a % rank]
        return [(dtypes.as_dtype(op.attrs["output_type"]), TensorShape(dims))]

    def make_kernel(self, op, ctx):
        fn = getattr(ctx.xp, self.numpy_name)
        out = dtypes.as_dtype(op.attrs["output_type"]).numpy
        return lambda x, axis: fn(x, axis=int(axis)).astype(out)


@register_op
class ArgMax(_ArgReduce):
    """Index of the largest value along `axis` (first one on ties)."""

    op_type = "ArgMax"
    numpy_name = "argmax"


@register_op
class ArgMin(_ArgReduce):
    """Index of the smallest value along `axis` (first one on ties)."""

    op_type = "ArgMin"
    numpy_name = "argmin"


def _arg(op_type: str, input: Any, axis: Any, name: Optional[str], dimension: Any, output_type: Any):
    x = convert_to_tensor(input)
    if axis is None:
        axis = dimension if dimension is not None else 0
    axis_t = convert_to_tensor(axis, dtype=dtypes.int32, graph=x.graph)
    return x.graph.create_op(op_type, [x, axis_t], {"output_type": dtypes.as_dtype(output_type)},
                             name=name or op_type).outputs[0]


def argmax(input: Any, axis: Any = None, name: Optional[str] = None, dimension: Any = None,
           output_type: Any = dtypes.int64):
    """Index of the maximum along `axis` (default 0)."""
    return _arg("ArgMax", input, axis, name, dimension, output_type)


def argmin(input: Any, axis: Any = None, name: Optional[str] = None, dimension: Any = None,
           output_type: Any = dtypes.int64):
    """Index of the minimum along `axis` (default 0)."""
    return _arg("ArgMin", input, axis, name, dimension, output_type)


@register_op
class Cumsum(OpDef):
    """Cumulative sum along `axis` (exclusive / reverse as TF)."""

    op_type = "Cumsum"
    attrs = {"exclusive": False, "reverse": False, "T": None, "Tidx": None}

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[0].shape)]

    def make_kernel(self, op, ctx):
        xp, exclusive, reverse = ctx.xp, op.attrs["exclusive"], op.attrs["reverse"]

        def cumsum_kernel(x, axis):
            axis = int(axis)
            y = xp.flip(x, axis) if reverse else x
            out = xp.cumsum(y, axis=axis, dtype=x.dtype)
            if exclusive:
                out = xp.concatenate([xp.zeros_like(xp.take(out, [0], axis=axis)),
                                      xp.take(out, xp.arange(out.shape[axis] - 1), axis=axis)], axis=axis)
            return xp.flip(out, axis) if reverse else out
        return cumsum_kernel

    def grad(self, op, dy):
        return [cumsum(dy, op.inputs[1], exclusive=op.attrs["exclusive"], reverse=not op.attrs["reverse"]), None]


def cumsum(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False, name: Optional[str] = None):
    """Cumulative sum along `axis`."""
    x = convert_to_tensor(x)
    axis_t = convert_to_tensor(axis, dtype=dtypes.int32, graph=x.graph)
    return x.graph.create_op("Cumsum", [x, axis_t], {"exclusive": exclusive, "reverse": reverse},
                             name=name or "Cumsum").outputs[0]


def count_nonzero(input_tensor: Any, axis: Any = None, keepdims: bool = False, dtype: Any = dtypes.int64,
                  name: Optional[str] = None):
    """Number of non-zero elements across `axis`."""
    from .math_ops import cast, not_equal
    from .reduction_ops import reduce_sum
    x = convert_to_tensor(input_tensor)
    with x.graph.name_scope(name or "count_nonzero"):
        zero = np.zeros((), dtype=x.dtype.numpy) if x.dtype != dtypes.string else ""
        return reduce_sum(cast(not_equal(x, zero), dtype), axis, keepdims=keepdims)
