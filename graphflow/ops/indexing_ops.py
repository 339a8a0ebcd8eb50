"""Indexing ops: Slice, StridedSlice and Tensor.__getitem__, OneHot (gathers and scatters live in gather_ops)."""
from __future__ import annotations

import builtins
from typing import Any, List, Optional, Sequence, Union

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor, register_overload
from . import math_ops
from .array_ops import _shape_value, shape, stack
from .builder import const_value

__all__ = ["slice", "strided_slice", "one_hot", "newaxis"]

newaxis = None  # `x[gf.newaxis]` inserts a dimension of size 1, as in numpy


# ---------------------------------------------------------------------------------------------------------------------
# Helpers shared by the shape functions and gradients
# ---------------------------------------------------------------------------------------------------------------------
def _scalar_value(tensor: Tensor) -> Optional[int]:
    """The value of a constant scalar (or one-element) integer tensor, else None."""
    value = const_value(tensor)
    return None if value is None else int(np.asarray(value).reshape(-1)[0])


def _axis(axis: int, rank: int, op_type: str, extra: int = 0) -> int:
    """`axis` made non-negative for a rank-`rank` tensor (`extra` = 1 where a new dimension may be addressed)."""
    size = rank + extra
    if not -size <= axis < size:
        raise ValueError(f"{op_type}: axis {axis} is out of range for a tensor of rank {rank} "
                         f"(expected [{-size}, {size}))")
    return axis % size if size else 0


def _int(array) -> int:
    """A Python int from a scalar or one-element index array (numpy or CuPy)."""
    return int(array.reshape(-1)[0])


def _ints(graph, value: Any, dtype=dtypes.int32) -> Tensor:
    """An integer tensor for an index-like argument (shape, axis, begin …)."""
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        return convert_to_tensor(value)
    return convert_to_tensor(value, dtype=dtype, graph=graph)


def _dim_of(x: Tensor, axis: Union[int, Tensor]) -> Union[int, Tensor]:
    """x.shape[axis] as a Python int when statically known, else as a scalar int32 tensor."""
    if isinstance(axis, int) and x.shape.rank is not None and x.shape.dims[axis] is not None:
        return x.shape.dims[axis]
    from .gather_ops import gather  # gather_ops builds on this module
    return gather(shape(x), axis)


def _shape_of(x: Tensor, dtype=dtypes.int32) -> Union[List[int], Tensor]:
    if x.shape.is_fully_defined():
        return x.shape.as_list()
    return shape(x, out_type=dtype)


def _same_rank_dims(op, values: Sequence[Tensor]) -> Optional[int]:
    ranks = {t.shape.rank for t in values if t.shape.rank is not None}
    if len(ranks) > 1:
        raise ValueError(f"{op.type}: all inputs must have the same rank, got shapes {[str(t.shape) for t in values]}")
    return ranks.pop() if ranks else None


# ---------------------------------------------------------------------------------------------------------------------
# Slice / StridedSlice / StridedSliceGrad / Tensor.__getitem__
# ---------------------------------------------------------------------------------------------------------------------
@register_op
class Slice(OpDef):
    """y = x[begin[i] : begin[i] + size[i]] in every dimension; size -1 means "to the end"."""

    op_type = "Slice"
    attrs = {"T": None, "Index": None}
    may_alias_input = True

    def infer(self, op):
        x, begin_t, size_t = op.inputs
        begin, size = _shape_value(begin_t), _shape_value(size_t)
        rank = x.shape.rank
        if rank is None and size is not None:
            rank = len(size)
        if rank is None:
            return [(x.dtype, TensorShape(None))]
        dims = x.shape.dims if x.shape.rank is not None else (None,) * rank
        begin = begin if begin is not None else [None] * rank
        size = size if size is not None else [None] * rank
        if len(begin) != rank or len(size) != rank:
            raise ValueError(f"Slice: begin {begin} and size {size} must each have {rank} entries for shape {x.shape}")
        out = []
        for d, b, s in zip(dims, begin, size):
            if s == -1:
                s = None if d is None or b is None else d - b
            if b is not None and s is not None and d is not None and (b < 0 or s < 0 or b + s > d):
                raise ValueError(f"Slice: begin {begin} with size {size} is out of bounds for shape {x.shape}")
            out.append(s)
        return [(x.dtype, TensorShape(out))]

    def make_kernel(self, op, ctx):
        def slice_kernel(x, begin, size):
            if len(begin) != x.ndim or len(size) != x.ndim:
                raise ValueError(f"Slice: begin and size need {x.ndim} entries for shape {x.shape}, got "
                                 f"{len(begin)} and {len(size)}")
            index = []
            for d, b, s in zip(x.shape, begin, size):
                b, s = int(b), int(s)
                end = d if s == -1 else b + s
                if b < 0 or end > d or end < b:
                    raise ValueError(f"Slice: begin {list(map(int, begin))} with size {list(map(int, size))} is "
                                     f"out of bounds for shape {x.shape}")
                index.append(builtins.slice(b, end))
            return x[tuple(index)]
        return slice_kernel

    def grad(self, op, dy):
        from .shape_ops import pad  # shape_ops builds on this module
        x, begin_t, _ = op.inputs
        y = op.outputs[0]
        begin = _shape_value(begin_t)
        if x.shape.is_fully_defined() and y.shape.is_fully_defined() and begin is not None and None not in begin:
            paddings = [[b, d - b - s] for b, d, s in zip(begin, x.shape.as_list(), y.shape.as_list())]
            return [pad(dy, paddings), None, None]
        after = shape(x, out_type=begin_t.dtype) - begin_t - shape(y, out_type=begin_t.dtype)
        return [pad(dy, stack([begin_t, after], axis=1)), None, None]


def slice(input_: Any, begin: Any, size: Any, name: Optional[str] = None) -> Tensor:
    """Extracts x[begin : begin + size] (size -1: to the end of that dimension)."""
    x = convert_to_tensor(input_)
    begin_t = _ints(x.graph, begin)
    size_t = _ints(x.graph, size, dtype=begin_t.dtype)
    return x.graph.create_op("Slice", [x, begin_t, size_t], name=name or "Slice").outputs[0]


_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _bit(attrs, mask: str, i: int) -> bool:
    return bool((attrs[mask] >> i) & 1)


def _strided_index(attrs, begin, end, strides) -> tuple:
    """The numpy index tuple equivalent to a StridedSlice spec (Python slicing semantics, like TF's)."""
    index = []
    for i in builtins.range(len(strides)):
        if _bit(attrs, "ellipsis_mask", i):
            index.append(Ellipsis)
        elif _bit(attrs, "new_axis_mask", i):
            index.append(None)
        elif _bit(attrs, "shrink_axis_mask", i):
            index.append(int(begin[i]))
        else:
            index.append(builtins.slice(None if _bit(attrs, "begin_mask", i) else int(begin[i]),
                                        None if _bit(attrs, "end_mask", i) else int(end[i]), int(strides[i])))
    return tuple(index)


def _strided_shape(op_type: str, attrs, dims, begin, end, strides) -> Optional[List[Optional[int]]]:
    """Static output dims of a strided slice of `dims` (values may be None where unknown); None if rank unknown."""
    n = len(strides)
    if builtins.bin(attrs["ellipsis_mask"] & ((1 << n) - 1)).count("1") > 1:
        raise ValueError(f"{op_type}: only one ellipsis is allowed, got ellipsis_mask={attrs['ellipsis_mask']}")
    if dims is None:
        return None
    consumed = builtins.sum(1 for i in builtins.range(n)
                            if not _bit(attrs, "ellipsis_mask", i) and not _bit(attrs, "new_axis_mask", i))
    out, dim = [], 0
    for i in builtins.range(n):
        if _bit(attrs, "ellipsis_mask", i):
            span = max(len(dims) - consumed, 0)
            out.extend(dims[dim:dim + span])
            dim += span
            continue
        if _bit(attrs, "new_axis_mask", i):
            out.append(1)
            continue
        if dim >= len(dims):
            raise ValueError(f"{op_type}: too many indices ({consumed}) for a tensor of rank {len(dims)}")
        d, b, e, s = dims[dim], begin[i], end[i], strides[i]
        dim += 1
        if s == 0:
            raise ValueError(f"{op_type}: stride {i} is zero")
        if _bit(attrs, "shrink_axis_mask", i):
            if d is not None and b is not None and not -d <= b < d:
                raise ValueError(f"{op_type}: index {b} is out of bounds for dimension {dim - 1} of size {d}")
            continue
        unknown_bound = ((not _bit(attrs, "begin_mask", i) and b is None)
                         or (not _bit(attrs, "end_mask", i) and e is None))
        if d is None or s is None or unknown_bound:
            out.append(None)
        else:
            b = None if _bit(attrs, "begin_mask", i) else b
            e = None if _bit(attrs, "end_mask", i) else e
            out.append(len(builtins.range(*builtins.slice(b, e, s).indices(d))))
    return out + list(dims[dim:])


def _spec_values(tensors: Sequence[Tensor]) -> Optional[List[List[Optional[int]]]]:
    """Static begin/end/strides (entries None where unknown), or None when their length is unknown."""
    n = tensors[0].shape.dims[0] if tensors[0].shape.rank == 1 else None
    if n is None:
        return None
    return [_shape_value(t) or [None] * n for t in tensors]


class _StridedSliceBase(OpDef):
    attrs = {"T": None, "Index": None, "begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0,
             "shrink_axis_mask": 0}

    def _index_fn(self, op, begin_t, end_t, strides_t):
        """A function (begin, end, strides) -> index tuple; precomputed when the spec is constant."""
        attrs = op.attrs
        values = [const_value(t) for t in (begin_t, end_t, strides_t)]
        if all(v is not None for v in values):
            fixed = _strided_index(attrs, *[np.asarray(v).reshape(-1) for v in values])
            return lambda begin, end, strides: fixed
        return lambda begin, end, strides: _strided_index(attrs, begin, end, strides)


@register_op
class StridedSlice(_StridedSliceBase):
    """y = x[begin:end:strides] per dimension, with TF's masks for omitted bounds, `...`, newaxis and indexing."""

    op_type = "StridedSlice"
    may_alias_input = True

    def infer(self, op):
        x = op.inputs[0]
        spec = _spec_values(op.inputs[1:])
        if spec is None:
            return [(x.dtype, TensorShape(None))]
        out = _strided_shape(op.type, op.attrs, x.shape.dims, *spec)
        return [(x.dtype, TensorShape(out))]

    def make_kernel(self, op, ctx):
        index_fn, xp = self._index_fn(op, *op.inputs[1:]), ctx.xp

        def strided_slice_kernel(x, begin, end, strides):
            out = x[index_fn(begin, end, strides)]
            return out if isinstance(out, xp.ndarray) else xp.asarray(out)
        return strided_slice_kernel

    def grad(self, op, dy):
        x, begin, end, strides = op.inputs
        masks = {k: op.attrs[k] for k in _MASKS}
        x_shape = _ints(x.graph, _shape_of(x, begin.dtype), dtype=begin.dtype)
        dx = x.graph.create_op("StridedSliceGrad", [x_shape, begin, end, strides, dy], masks).outputs[0]
        return [dx, None, None, None]


@register_op
class StridedSliceGrad(_StridedSliceBase):
    """Zeros of `shape` with dy written where StridedSlice(begin, end, strides) read. Inputs: (shape, b, e, s, dy)."""

    op_type = "StridedSliceGrad"

    def infer(self, op):
        shape_t, dy = op.inputs[0], op.inputs[4]
        dims = _shape_value(shape_t)
        if dims is None:
            n = shape_t.shape.dims[0] if shape_t.shape.rank == 1 else None
            return [(dy.dtype, TensorShape(None if n is None else [None] * n))]
        return [(dy.dtype, TensorShape(dims))]

    def make_kernel(self, op, ctx):
        index_fn, xp = self._index_fn(op, *op.inputs[1:4]), ctx.xp

        def strided_slice_grad(shape_value, begin, end, strides, dy):
            out = xp.zeros(tuple(int(d) for d in shape_value), dtype=dy.dtype)
            out[index_fn(begin, end, strides)] = dy
            return out
        return strided_slice_grad

    def grad(self, op, ddx):
        masks = {k: op.attrs[k] for k in _MASKS}
        return [None, None, None, None, strided_slice(ddx, *op.inputs[1:4], **masks)]


def strided_slice(input_: Any, begin: Any, end: Any, strides: Any = None, begin_mask: int = 0, end_mask: int = 0,
                  ellipsis_mask: int = 0, new_axis_mask: int = 0, shrink_axis_mask: int = 0, var: Any = None,
                  name: Optional[str] = None) -> Tensor:
    """x[begin:end:strides] with TF's bit masks (bit i of a mask refers to entry i of begin/end/strides)."""
    x = convert_to_tensor(input_)
    begin_t = _ints(x.graph, begin)
    end_t = _ints(x.graph, end, dtype=begin_t.dtype)
    if strides is None:
        strides = [1] * len(_shape_value(begin_t) or [])
    strides_t = _ints(x.graph, strides, dtype=begin_t.dtype)
    attrs = {"begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": ellipsis_mask,
             "new_axis_mask": new_axis_mask, "shrink_axis_mask": shrink_axis_mask}
    return x.graph.create_op("StridedSlice", [x, begin_t, end_t, strides_t], attrs,
                             name=name or "strided_slice").outputs[0]


def _index_part(value: Any, what: str) -> Any:
    """Checks one index component: a Python/numpy int or a scalar integer tensor."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Tensor indices must be integers, slices, None or Ellipsis; got the bool {value!r} as {what}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if hasattr(value, "_as_tensor"):
        value = value._as_tensor()
    if isinstance(value, Tensor):
        if not value.dtype.is_integer:
            raise TypeError(f"Tensor used as {what} must be an integer scalar, got {value.dtype.name} ({value.name})")
        if value.shape.rank not in (None, 0):
            raise TypeError(f"Tensor used as {what} must be a scalar, got shape {value.shape} ({value.name}); "
                            "use gf.gather or gf.boolean_mask for array indexing")
        return value
    raise TypeError(f"Tensor indices must be integers, slices, None, Ellipsis or scalar integer tensors; "
                    f"got {value!r} ({type(value).__name__}) as {what}")


def _pack_indices(graph, values: List[Any]) -> Tensor:
    tensors = [v for v in values if isinstance(v, Tensor)]
    if not tensors:
        return convert_to_tensor(values, dtype=dtypes.int32, graph=graph)
    dtype = dtypes.int64 if any(t.dtype == dtypes.int64 for t in tensors) else dtypes.int32
    parts = [math_ops.cast(v, dtype) if isinstance(v, Tensor) and v.dtype != dtype else v for v in values]
    return stack([convert_to_tensor(p, dtype=dtype, graph=graph) for p in parts])


def _getitem(tensor: Tensor, key: Any) -> Tensor:
    """Tensor[key] with numpy basic indexing: ints, slices (any step), None/newaxis, Ellipsis, scalar int tensors."""
    keys = key if isinstance(key, tuple) else (key,)
    begin, end, strides = [], [], []
    masks = dict.fromkeys(_MASKS, 0)
    for i, k in enumerate(keys):
        bit = 1 << i
        if isinstance(k, builtins.slice):
            step = 1 if k.step is None else _index_part(k.step, "a slice step")
            if isinstance(step, int) and step == 0:
                raise ValueError(f"slice step cannot be zero (indexing {tensor.name})")
            begin.append(0 if k.start is None else _index_part(k.start, "a slice start"))
            end.append(0 if k.stop is None else _index_part(k.stop, "a slice stop"))
            strides.append(step)
            masks["begin_mask"] |= bit if k.start is None else 0
            masks["end_mask"] |= bit if k.stop is None else 0
            continue
        begin.append(0)
        end.append(0)
        strides.append(1)
        if k is Ellipsis:
            masks["ellipsis_mask"] |= bit
        elif k is None:
            masks["new_axis_mask"] |= bit
        else:
            index = _index_part(k, "an index")
            begin[-1], end[-1] = index, index + 1
            masks["shrink_axis_mask"] |= bit
    graph = tensor.graph
    begin_t, end_t, strides_t = (_pack_indices(graph, v) for v in (begin, end, strides))
    dtype = dtypes.int64 if dtypes.int64 in (begin_t.dtype, end_t.dtype, strides_t.dtype) else dtypes.int32
    begin_t, end_t, strides_t = (t if t.dtype == dtype else math_ops.cast(t, dtype)
                                 for t in (begin_t, end_t, strides_t))
    return strided_slice(tensor, begin_t, end_t, strides_t, **masks)


register_overload("__getitem__", _getitem)


@register_op
class OneHot(OpDef):
    """y = on_value where indices == k along the new `axis` (k in [0, depth)), off_value elsewhere."""

    op_type = "OneHot"
    attrs = {"axis": -1, "T": None, "TI": None}
    grad = None

    def infer(self, op):
        indices, depth_t, on, off = op.inputs
        if on.dtype != off.dtype:
            raise TypeError(f"OneHot: on_value ({on.dtype.name}) and off_value ({off.dtype.name}) must share a dtype")
        depth = _scalar_value(depth_t)
        if indices.shape.rank is None:
            return [(on.dtype, TensorShape(None))]
        dims = indices.shape.as_list()
        axis = op.attrs["axis"]
        dims.insert(len(dims) if axis == -1 else _axis(axis, len(dims), "OneHot", extra=1), depth)
        return [(on.dtype, TensorShape(dims))]

    def make_kernel(self, op, ctx):
        xp, axis = ctx.xp, op.attrs["axis"]

        def one_hot_kernel(indices, depth, on, off):
            hot = indices[..., None] == xp.arange(_int(depth), dtype=indices.dtype)
            if axis != -1:
                hot = xp.moveaxis(hot, -1, axis)
            return xp.where(hot, on, off).astype(on.dtype)
        return one_hot_kernel


def one_hot(indices: Any, depth: Any, on_value: Any = None, off_value: Any = None, axis: Optional[int] = None,
            dtype: Any = None, name: Optional[str] = None) -> Tensor:
    """One-hot encodes integer `indices` into a new dimension of size `depth` at `axis` (default: last)."""
    graph = graph_of([indices, depth, on_value, off_value])
    if dtype is None:
        # as TF1: the dtype of on_value, else of off_value (Python ints give int32), else float32
        given = on_value if on_value is not None else off_value
        dtype = dtypes.float32 if given is None else convert_to_tensor(given, graph=graph).dtype
    dtype = dtypes.as_dtype(dtype)
    values = [convert_to_tensor(1 if on_value is None else on_value, dtype=dtype, graph=graph),
              convert_to_tensor(0 if off_value is None else off_value, dtype=dtype, graph=graph)]
    inputs = [_ints(graph, indices), _ints(graph, depth)] + values
    return graph.create_op("OneHot", inputs, {"axis": -1 if axis is None else int(axis)},
                           name=name or "one_hot").outputs[0]
