"""Gather and scatter ops: GatherV2, GatherNd, ScatterNd and UnsortedSegmentSum, each the other's gradient."""
from __future__ import annotations

import builtins
from typing import Any, List, Optional, Sequence

import numpy as np

from ..framework.convert import convert_to_tensor, graph_of
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor
from . import array_ops, math_ops
from .array_ops import _shape_value, shape, transpose
from .indexing_ops import _axis, _dim_of, _int, _ints, _scalar_value

__all__ = ["gather", "gather_nd", "scatter_nd", "unsorted_segment_sum"]


# ---------------------------------------------------------------------------------------------------------------------
# GatherV2 / UnsortedSegmentSum / OneHot
# ---------------------------------------------------------------------------------------------------------------------
def _check_indices(xp, indices, limit: int, what: str) -> None:
    if indices.size:
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= limit:
            bad = low if low < 0 else high
            raise IndexError(f"{what}: index {bad} is not in [0, {limit})")


@register_op
class GatherV2(OpDef):
    """y = take(params, indices, axis): y.shape = params.shape[:axis] + indices.shape + params.shape[axis+1:]."""

    op_type = "GatherV2"
    attrs = {"Tparams": None, "Tindices": None, "Taxis": None, "batch_dims": 0}

    def infer(self, op):
        params, indices, axis_t = op.inputs
        if not indices.dtype.is_integer:
            raise TypeError(f"GatherV2: indices must be integers, got {indices.dtype.name}")
        if op.attrs["batch_dims"] != 0:
            raise ValueError(f"GatherV2: batch_dims={op.attrs['batch_dims']} is not supported (only 0)")
        axis = _scalar_value(axis_t)
        if params.shape.rank is None or indices.shape.rank is None or axis is None:
            return [(params.dtype, TensorShape(None))]
        dims = params.shape.as_list()
        axis = _axis(axis, len(dims), "GatherV2")
        return [(params.dtype, TensorShape(dims[:axis] + indices.shape.as_list() + dims[axis + 1:]))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp

        def gather_kernel(params, indices, axis):
            axis = _int(axis) % max(params.ndim, 1)
            _check_indices(xp, indices, params.shape[axis], f"GatherV2 on params of shape {params.shape}")
            return xp.take(params, indices, axis=axis)
        return gather_kernel

    def grad(self, op, dy):
        params, indices, axis_t = op.inputs
        axis = _scalar_value(axis_t)
        if axis is None:
            raise ValueError(f"GatherV2 gradient needs a constant axis (op {op.name})")
        if axis < 0:
            if params.shape.rank is None:
                raise ValueError(f"GatherV2 gradient needs the rank of params for axis {axis} (op {op.name})")
            axis += params.shape.rank
        num = _dim_of(params, axis)
        if axis == 0:
            return [unsorted_segment_sum(dy, indices, num), None, None]
        p_rank, i_rank = params.shape.rank, indices.shape.rank
        if p_rank is None or i_rank is None:
            raise ValueError(f"GatherV2 gradient along axis {axis} needs known ranks (op {op.name})")
        # move the index dimensions first, scatter-add along them, then move the gathered axis back into place
        perm = list(builtins.range(axis, axis + i_rank)) + list(builtins.range(axis)) + \
            list(builtins.range(axis + i_rank, p_rank - 1 + i_rank))
        summed = unsorted_segment_sum(transpose(dy, perm), indices, num)
        back = list(builtins.range(1, axis + 1)) + [0] + list(builtins.range(axis + 1, p_rank))
        return [transpose(summed, back), None, None]


def gather(params: Any, indices: Any, validate_indices: Any = None, name: Optional[str] = None, axis: Any = None,
           batch_dims: int = 0) -> Tensor:
    """Gathers slices of `params` along `axis` at `indices` (out-of-range indices are an InvalidArgumentError)."""
    graph = graph_of([params, indices])
    p = convert_to_tensor(params, graph=graph)
    i = _ints(graph, indices)
    axis_t = _ints(graph, 0 if axis is None else axis, dtype=i.dtype)
    return graph.create_op("GatherV2", [p, i, axis_t], {"batch_dims": batch_dims}, name=name or "GatherV2").outputs[0]


def _scatter_add(xp, out, indices, values) -> None:
    if xp is np:
        np.add.at(out, indices, values)
    else:
        import cupyx  # CuPy's scatter-add; only reached when running on a CUDA device
        cupyx.scatter_add(out, indices, values)


@register_op
class UnsortedSegmentSum(OpDef):
    """y[j] = sum of data[i] over the i with segment_ids[i] == j; negative ids are dropped (as in TF)."""

    op_type = "UnsortedSegmentSum"
    attrs = {"T": None, "Tindices": None, "Tnumsegments": None}

    def infer(self, op):
        data, ids, num_t = op.inputs
        num = _scalar_value(num_t)
        if data.shape.rank is None or ids.shape.rank is None:
            return [(data.dtype, TensorShape(None))]
        if not TensorShape(data.shape.dims[:ids.shape.rank]).is_compatible_with(ids.shape):
            raise ValueError(f"UnsortedSegmentSum: segment_ids shape {ids.shape} must prefix data shape {data.shape}")
        return [(data.dtype, TensorShape([num] + data.shape.as_list()[ids.shape.rank:]))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp

        def segment_sum(data, ids, num):
            num = _int(num)
            inner = data.shape[ids.ndim:]
            out = xp.zeros((num,) + inner, dtype=data.dtype)
            flat_ids = ids.reshape(-1)
            if flat_ids.size and int(flat_ids.max()) >= num:
                raise IndexError(f"UnsortedSegmentSum: segment id {int(flat_ids.max())} is not in [0, {num})")
            keep = flat_ids >= 0
            _scatter_add(xp, out, flat_ids[keep], data.reshape((-1,) + inner)[keep])
            return out
        return segment_sum

    def grad(self, op, dy):
        from .select_ops import where_v2
        from .shape_ops import concat  # shape_ops builds on this module
        _, ids, num = op.inputs
        # gather with dropped (negative) ids reading an appended zero row
        padded = concat([dy, array_ops.zeros_like(dy[:1])], 0)
        safe = where_v2(math_ops.greater_equal(ids, 0), ids, math_ops.cast(num, ids.dtype))
        return [gather(padded, safe), None, None]


def unsorted_segment_sum(data: Any, segment_ids: Any, num_segments: Any, name: Optional[str] = None) -> Tensor:
    """Sums `data` rows into `num_segments` buckets chosen by `segment_ids` (a dense scatter-add)."""
    graph = graph_of([data, segment_ids, num_segments])
    d = convert_to_tensor(data, graph=graph)
    ids = _ints(graph, segment_ids)
    num = _ints(graph, num_segments, dtype=ids.dtype)
    return graph.create_op("UnsortedSegmentSum", [d, ids, num], name=name or "UnsortedSegmentSum").outputs[0]


def _nd_index(xp, indices, shape, what: str) -> tuple:
    """The numpy index tuple addressing `shape` with the last dimension of `indices`, after a bounds check."""
    depth = indices.shape[-1]
    if depth > len(shape):
        raise ValueError(f"{what}: index depth {depth} exceeds the rank {len(shape)} of shape {tuple(shape)}")
    index = []
    for k in builtins.range(depth):
        part = indices[..., k]
        _check_indices(xp, part, shape[k], f"{what}, dimension {k} of shape {tuple(shape)}")
        index.append(part)
    return tuple(index)


def _nd_out_dims(indices: TensorShape, inner: Optional[List[Optional[int]]], op_type: str) -> TensorShape:
    """indices.shape[:-1] + inner, the shape GatherNd produces and ScatterNd's updates must have."""
    if indices.rank is None or inner is None:
        return TensorShape(None)
    if indices.rank == 0:
        raise ValueError(f"{op_type}: indices must have rank >= 1, got a scalar")
    return TensorShape(indices.dims[:-1] + tuple(inner))


def _inner_dims(dims: Optional[Sequence[Optional[int]]], depth: Optional[int], op_type: str
                ) -> Optional[List[Optional[int]]]:
    if dims is None or depth is None:
        return None
    if depth > len(dims):
        raise ValueError(f"{op_type}: index depth {depth} exceeds the rank {len(dims)} of shape {list(dims)}")
    return list(dims[depth:])


@register_op
class GatherNd(OpDef):
    """y[i...] = params[indices[i..., 0], ..., indices[i..., K-1]]; y.shape = indices.shape[:-1] + params.shape[K:]."""

    op_type = "GatherNd"
    attrs = {"Tparams": None, "Tindices": None}

    def infer(self, op):
        params, indices = op.inputs
        if not indices.dtype.is_integer:
            raise TypeError(f"GatherNd: indices must be integers, got {indices.dtype.name}")
        depth = indices.shape.dims[-1] if indices.shape.rank else None
        dims = params.shape.dims if params.shape.rank is not None else None
        return [(params.dtype, _nd_out_dims(indices.shape, _inner_dims(dims, depth, "GatherNd"), "GatherNd"))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp

        def gather_nd_kernel(params, indices):
            return params[_nd_index(xp, indices, params.shape, "GatherNd")]
        return gather_nd_kernel

    def grad(self, op, dy):
        params, indices = op.inputs
        return [scatter_nd(indices, dy, shape(params, out_type=indices.dtype)), None]


def gather_nd(params: Any, indices: Any, name: Optional[str] = None, batch_dims: int = 0) -> Tensor:
    """Gathers slices of `params` addressed by the last dimension of `indices` (TF1's tf.gather_nd).

    Args:
        params: the tensor to read from.
        indices: integer tensor of shape [..., K]; each row indexes the first K dimensions of `params`.
        name: op name.
        batch_dims: only 0 is supported.

    Returns:
        Tensor of shape indices.shape[:-1] + params.shape[K:].
    """
    if batch_dims != 0:
        raise ValueError(f"gather_nd: batch_dims={batch_dims} is not supported (only 0)")
    graph = graph_of([params, indices])
    p = convert_to_tensor(params, graph=graph)
    return graph.create_op("GatherNd", [p, _ints(graph, indices)], name=name or "GatherNd").outputs[0]


@register_op
class ScatterNd(OpDef):
    """y = zeros(shape); y[indices[i..., :]] += updates[i...] (duplicate indices add up, as in TF)."""

    op_type = "ScatterNd"
    attrs = {"T": None, "Tindices": None}

    def infer(self, op):
        indices, updates, shape_t = op.inputs
        if not indices.dtype.is_integer:
            raise TypeError(f"ScatterNd: indices must be integers, got {indices.dtype.name}")
        if indices.dtype != shape_t.dtype:
            raise TypeError(f"ScatterNd: indices ({indices.dtype.name}) and shape ({shape_t.dtype.name}) must share "
                            "a dtype")
        out = _shape_value(shape_t)
        if out is None and shape_t.shape.rank == 1 and shape_t.shape.dims[0] is not None:
            out = [None] * shape_t.shape.dims[0]
        depth = indices.shape.dims[-1] if indices.shape.rank else None
        expected = _nd_out_dims(indices.shape, _inner_dims(out, depth, "ScatterNd"), "ScatterNd")
        if not expected.is_compatible_with(updates.shape):
            raise ValueError(f"ScatterNd: updates shape {updates.shape} must be indices.shape[:-1] + shape[K:] = "
                             f"{expected} (indices {indices.shape}, shape {out})")
        return [(updates.dtype, TensorShape(out))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp

        def scatter_nd_kernel(indices, updates, out_shape):
            out_shape = tuple(int(d) for d in out_shape.tolist())
            index = _nd_index(xp, indices, out_shape, "ScatterNd")
            expected = indices.shape[:-1] + out_shape[indices.shape[-1]:]
            if updates.shape != expected:
                raise ValueError(f"ScatterNd: updates shape {updates.shape} must be {expected} for indices "
                                 f"{indices.shape} into shape {out_shape}")
            out = xp.zeros(out_shape, dtype=updates.dtype)
            _scatter_add(xp, out, index, updates)
            return out
        return scatter_nd_kernel

    def grad(self, op, dy):
        indices = op.inputs[0]
        return [None, gather_nd(dy, indices), None]


def scatter_nd(indices: Any, updates: Any, shape: Any, name: Optional[str] = None) -> Tensor:
    """Scatters `updates` into a zero tensor of `shape` at `indices`, summing duplicates (TF1's tf.scatter_nd).

    Args:
        indices: integer tensor of shape [..., K] addressing the first K dimensions of the output.
        updates: tensor of shape indices.shape[:-1] + shape[K:].
        shape: the output shape (1-D, same integer dtype as indices).
        name: op name.

    Returns:
        Tensor of `shape` and the dtype of `updates`.
    """
    graph = graph_of([indices, updates, shape])
    i = _ints(graph, indices)
    u = convert_to_tensor(updates, graph=graph)
    s = _ints(graph, shape, dtype=i.dtype)
    return graph.create_op("ScatterNd", [i, u, s], name=name or "ScatterNd").outputs[0]
