"""Array ops: shape queries, reshape, transpose, broadcast, pack, fill and friends — shape functions, kernels, grads."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np

from ..framework import dtypes
from ..framework.convert import constant, convert_to_tensor, graph_of
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape, as_shape, broadcast_shapes
from ..framework.tensor import Tensor
from .builder import apply_op, const_value

__all__ = ["shape", "size", "rank", "reshape", "stack", "zeros_like", "ones_like", "fill", "zeros", "ones",
           "broadcast_to", "transpose", "range", "linspace", "lin_space", "meshgrid"]


def _shape_value(tensor: Tensor) -> Optional[List[int]]:
    value = const_value(tensor)
    if value is None:
        # a Shape op of a statically known shape is known too
        if tensor.op.type == "Shape" and tensor.op.inputs[0].shape.is_fully_defined():
            return tensor.op.inputs[0].shape.as_list()
        if tensor.op.type == "Pack" and all(t.shape.rank == 0 for t in tensor.op.inputs):
            parts = [const_value(t) for t in tensor.op.inputs]
            return [None if p is None else int(p) for p in parts]
        return None
    return [int(v) for v in np.asarray(value).reshape(-1)]


# ---------------------------------------------------------------------------------------------------------------------
# Shape queries
# ---------------------------------------------------------------------------------------------------------------------
@register_op
class Shape(OpDef):
    """The shape of the input as a 1-D integer tensor."""

    op_type = "Shape"
    attrs = {"out_type": dtypes.int32, "T": None}
    grad = None

    def infer(self, op):
        rank = op.inputs[0].shape.rank
        return [(dtypes.as_dtype(op.attrs["out_type"]), TensorShape([rank]))]

    def make_kernel(self, op, ctx):
        out = dtypes.as_dtype(op.attrs["out_type"]).numpy
        return lambda x: np.asarray(np.shape(x), dtype=out)


@register_op
class Size(OpDef):
    """The number of elements of the input."""

    op_type = "Size"
    attrs = {"out_type": dtypes.int32, "T": None}
    grad = None

    def infer(self, op):
        return [(dtypes.as_dtype(op.attrs["out_type"]), TensorShape(()))]

    def make_kernel(self, op, ctx):
        out = dtypes.as_dtype(op.attrs["out_type"]).numpy
        return lambda x: np.asarray(np.size(x), dtype=out)


@register_op
class Rank(OpDef):
    """The number of dimensions of the input."""

    op_type = "Rank"
    attrs = {"T": None}
    grad = None

    def infer(self, op):
        return [(dtypes.int32, TensorShape(()))]

    def make_kernel(self, op, ctx):
        return lambda x: np.asarray(np.ndim(x), dtype=np.int32)


def shape(input: Any, name: Optional[str] = None, out_type: Any = dtypes.int32) -> Tensor:
    """The dynamic shape of `input` as a 1-D tensor."""
    return apply_op("Shape", [input], {"out_type": dtypes.as_dtype(out_type)}, name=name or "Shape")


def size(input: Any, name: Optional[str] = None, out_type: Any = dtypes.int32) -> Tensor:
    """The number of elements of `input`."""
    return apply_op("Size", [input], {"out_type": dtypes.as_dtype(out_type)}, name=name or "Size")


def rank(input: Any, name: Optional[str] = None) -> Tensor:
    """The rank of `input`."""
    return apply_op("Rank", [input], name=name or "Rank")


# ---------------------------------------------------------------------------------------------------------------------
# Reshape / transpose / broadcast
# ---------------------------------------------------------------------------------------------------------------------
@register_op
class Reshape(OpDef):
    """Same elements in a new shape; one -1 entry is inferred."""

    op_type = "Reshape"
    attrs = {"T": None, "Tshape": None}
    may_alias_input = True

    def infer(self, op):
        x, target = op.inputs
        dims = _shape_value(target)
        if dims is None:
            n = target.shape.dims[0] if target.shape.rank == 1 else None
            return [(x.dtype, TensorShape(None if n is None else [None] * n))]
        if sum(1 for d in dims if d == -1) > 1:
            raise ValueError(f"Reshape: only one dimension may be -1, got {dims}")
        known = x.shape.num_elements()
        if -1 in dims:
            rest = int(np.prod([d for d in dims if d not in (-1, None)])) if dims else 1
            if known is not None and None not in dims:
                if rest == 0 or known % rest:
                    raise ValueError(f"Cannot reshape a tensor with {known} elements to shape {dims}")
                dims = [known // rest if d == -1 else d for d in dims]
            else:
                dims = [None if d == -1 else d for d in dims]
        elif known is not None and None not in dims and int(np.prod(dims)) != known:
            raise ValueError(f"Cannot reshape a tensor with {known} elements to shape {dims} "
                             f"({int(np.prod(dims))} elements)")
        return [(x.dtype, TensorShape(dims))]

    def make_kernel(self, op, ctx):
        static = _shape_value(op.inputs[1])
        if static is not None and None not in static:
            target = tuple(static)
            return lambda x, _shape: x.reshape(target)
        return lambda x, target: x.reshape(tuple(int(d) for d in target))

    def grad(self, op, dy):
        x = op.inputs[0]
        return [reshape(dy, x.shape.as_list() if x.shape.is_fully_defined() else shape(x)), None]


def reshape(tensor: Any, shape: Any, name: Optional[str] = None) -> Tensor:
    """`tensor` with a new shape (one dimension may be -1)."""
    x = convert_to_tensor(tensor)
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    target = convert_to_tensor(shape, dtype=dtypes.int32, graph=x.graph) if not isinstance(shape, Tensor) else shape
    return x.graph.create_op("Reshape", [x, target], name=name or "Reshape").outputs[0]


@register_op
class Transpose(OpDef):
    """Permutes dimensions: y.shape[i] = x.shape[perm[i]]."""

    op_type = "Transpose"
    attrs = {"T": None, "Tperm": None}
    may_alias_input = True

    def infer(self, op):
        x, perm = op.inputs
        p = _shape_value(perm)
        if p is None or x.shape.rank is None:
            return [(x.dtype, TensorShape(None if x.shape.rank is None else [None] * x.shape.rank))]
        if sorted(p) != list(builtins_range(x.shape.rank)):
            raise ValueError(f"Transpose: perm {p} is not a permutation of the {x.shape.rank} dims of {x.shape}")
        dims = x.shape.as_list()
        return [(x.dtype, TensorShape([dims[i] for i in p]))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda x, perm: xp.transpose(x, tuple(int(i) for i in perm))

    def grad(self, op, dy):
        p = _shape_value(op.inputs[1])
        if p is not None:
            return [transpose(dy, list(np.argsort(p))), None]
        return [transpose(dy, apply_op("InvertPermutation", [op.inputs[1]])), None]


@register_op
class InvertPermutation(OpDef):
    op_type = "InvertPermutation"
    attrs = {"T": None}
    grad = None

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[0].shape)]

    def make_kernel(self, op, ctx):
        return lambda p: np.argsort(p).astype(p.dtype)


def transpose(a: Any, perm: Any = None, name: str = "transpose", conjugate: bool = False) -> Tensor:
    """Permutes the dimensions of `a` (reverses them when perm is None)."""
    x = convert_to_tensor(a)
    if perm is None:
        if x.shape.rank is None:
            raise ValueError("transpose without perm needs a known rank")
        perm = list(builtins_range(x.shape.rank - 1, -1, -1))
    perm_t = convert_to_tensor(perm, dtype=dtypes.int32, graph=x.graph) if not isinstance(perm, Tensor) else perm
    return x.graph.create_op("Transpose", [x, perm_t], name=name).outputs[0]


@register_op
class BroadcastTo(OpDef):
    """Broadcasts the input to `shape` (numpy rules)."""

    op_type = "BroadcastTo"
    attrs = {"T": None, "Tidx": None}
    may_alias_input = True

    def infer(self, op):
        x, target = op.inputs
        dims = _shape_value(target)
        if dims is None:
            return [(x.dtype, TensorShape(None))]
        out = broadcast_shapes(x.shape, dims)
        if out.as_list() != [d if d is not None else o for d, o in zip(dims, out.as_list())]:
            raise ValueError(f"Cannot broadcast shape {x.shape} to {dims}")
        return [(x.dtype, TensorShape(dims).merge_with(out))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda x, target: xp.broadcast_to(x, tuple(int(d) for d in target))

    def grad(self, op, dy):
        from .math_ops import sum_to
        return [sum_to(dy, op.inputs[0]), None]


def broadcast_to(input: Any, shape: Any, name: Optional[str] = None) -> Tensor:
    """`input` broadcast to `shape`."""
    x = convert_to_tensor(input)
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    target = convert_to_tensor(shape, dtype=dtypes.int32, graph=x.graph) if not isinstance(shape, Tensor) else shape
    if x.shape.is_fully_defined() and _shape_value(target) == x.shape.as_list():
        return x
    return x.graph.create_op("BroadcastTo", [x, target], name=name or "BroadcastTo").outputs[0]


# ---------------------------------------------------------------------------------------------------------------------
# Pack / fill / like
# ---------------------------------------------------------------------------------------------------------------------
@register_op
class Pack(OpDef):
    """Stacks N tensors of one shape along a new `axis`."""

    op_type = "Pack"
    attrs = {"axis": 0, "N": None, "T": None}

    def infer(self, op):
        first = op.inputs[0]
        merged = first.shape
        for t in op.inputs[1:]:
            if t.dtype != first.dtype:
                raise TypeError(f"Pack inputs must share a dtype: {first.dtype.name} vs {t.dtype.name}")
            try:
                merged = merged.merge_with(t.shape)
            except ValueError:
                raise ValueError(f"Pack inputs must have the same shape: {first.shape} vs {t.shape}") from None
        if merged.rank is None:
            return [(first.dtype, TensorShape(None))]
        axis = op.attrs["axis"]
        rank = merged.rank + 1
        if not -rank <= axis < rank:
            raise ValueError(f"Pack axis {axis} out of range for {rank}-D output")
        dims = merged.as_list()
        dims.insert(axis % rank, len(op.inputs))
        return [(first.dtype, TensorShape(dims))]

    def make_kernel(self, op, ctx):
        xp, axis = ctx.xp, op.attrs["axis"]
        return lambda *xs: xp.stack(xs, axis=axis)

    def grad(self, op, dy):
        return list(unstack(dy, num=len(op.inputs), axis=op.attrs["axis"]))


def stack(values: Sequence[Any], axis: int = 0, name: str = "stack") -> Tensor:
    """Stacks tensors of one shape along a new `axis`."""
    values = list(values)
    if not values:
        raise ValueError("stack needs at least one value")
    graph = graph_of(values)
    tensors = [convert_to_tensor(v, graph=graph) for v in values]
    return graph.create_op("Pack", tensors, {"axis": axis, "N": len(tensors)}, name=name).outputs[0]


def unstack(value: Any, num: Optional[int] = None, axis: int = 0, name: str = "unstack"):
    """Splits `value` along `axis` into a list of tensors (defined with the other split ops)."""
    from .shape_ops import unstack as _unstack
    return _unstack(value, num=num, axis=axis, name=name)


class _Like(OpDef):
    attrs = {"T": None}
    grad = None
    fill_value = 0

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[0].shape)]

    def make_kernel(self, op, ctx):
        xp, value = ctx.xp, self.fill_value
        return lambda x: xp.full(np.shape(x), value, dtype=x.dtype)


@register_op
class ZerosLike(_Like):
    op_type = "ZerosLike"


@register_op
class OnesLike(_Like):
    op_type = "OnesLike"
    fill_value = 1


@register_op
class Fill(OpDef):
    """A tensor of shape `dims` filled with the scalar `value`."""

    op_type = "Fill"
    attrs = {"T": None, "index_type": None}

    def infer(self, op):
        dims, value = op.inputs
        if value.shape.rank not in (None, 0):
            raise ValueError(f"Fill value must be a scalar, got shape {value.shape}")
        static = _shape_value(dims)
        return [(value.dtype, TensorShape(static) if static is not None else TensorShape(None))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda dims, value: xp.full(tuple(int(d) for d in dims), value, dtype=value.dtype)

    def grad(self, op, dy):
        from .reduction_ops import reduce_sum
        return [None, reduce_sum(dy)]


def _like(op_type: str, tensor: Any, dtype: Any, name: Optional[str]) -> Tensor:
    x = convert_to_tensor(tensor)
    if dtype is not None and dtypes.as_dtype(dtype) != x.dtype:
        from .math_ops import cast
        return cast(x.graph.create_op(op_type, [x], name=name or op_type).outputs[0], dtype)
    return x.graph.create_op(op_type, [x], name=name or op_type).outputs[0]


def zeros_like(tensor: Any, dtype: Any = None, name: Optional[str] = None, optimize: bool = True) -> Tensor:
    """Zeros with the shape (and dtype, unless given) of `tensor`."""
    return _like("ZerosLike", tensor, dtype, name)


def ones_like(tensor: Any, dtype: Any = None, name: Optional[str] = None, optimize: bool = True) -> Tensor:
    """Ones with the shape (and dtype, unless given) of `tensor`."""
    return _like("OnesLike", tensor, dtype, name)


def fill(dims: Any, value: Any, name: Optional[str] = None) -> Tensor:
    """A tensor of shape `dims` filled with `value`."""
    graph = graph_of([dims, value])
    dims_t = convert_to_tensor(dims, dtype=dtypes.int32, graph=graph) if not isinstance(dims, Tensor) else dims
    value_t = convert_to_tensor(value, graph=graph)
    return graph.create_op("Fill", [dims_t, value_t], name=name or "Fill").outputs[0]


def _filled(shape: Any, dtype: Any, value: Any, name: str) -> Tensor:
    dt = dtypes.as_dtype(dtype)
    if isinstance(shape, Tensor):
        return fill(shape, np.asarray(value, dtype=dt.numpy), name=name)
    dims = as_shape(shape).as_list() if not isinstance(shape, (int, np.integer)) else [int(shape)]
    return constant(np.full(dims, value, dtype=dt.numpy), name=name)


def zeros(shape: Any, dtype: Any = dtypes.float32, name: str = "zeros") -> Tensor:
    """A tensor of zeros."""
    return _filled(shape, dtype, 0, name)


def ones(shape: Any, dtype: Any = dtypes.float32, name: str = "ones") -> Tensor:
    """A tensor of ones."""
    return _filled(shape, dtype, 1, name)


# ---------------------------------------------------------------------------------------------------------------------
# Range
# ---------------------------------------------------------------------------------------------------------------------
builtins_range = range


@register_op
class Range(OpDef):
    """start, start+delta, … up to (not including) limit."""

    op_type = "Range"
    attrs = {"Tidx": None}
    grad = None

    def infer(self, op):
        start, limit, delta = op.inputs
        values = [const_value(t) for t in op.inputs]
        if all(v is not None for v in values):
            n = len(np.arange(*[v.item() for v in values]))
            return [(start.dtype, TensorShape([n]))]
        return [(start.dtype, TensorShape([None]))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda start, limit, delta: xp.arange(start, limit, delta, dtype=start.dtype)


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str = "range") -> Tensor:
    """Like Python's range, as a 1-D tensor."""
    if limit is None:
        start, limit = 0, start
    graph = graph_of([start, limit, delta])
    values = [start, limit, delta]
    if dtype is None:
        tensors = [v for v in values if isinstance(v, Tensor)]
        if tensors:
            dtype = tensors[0].dtype
        elif any(isinstance(v, float) for v in values):
            dtype = dtypes.float32
        else:
            dtype = dtypes.int32
    tensors = [convert_to_tensor(v, dtype=dtype, graph=graph) for v in values]
    return graph.create_op("Range", tensors, name=name).outputs[0]


@register_op
class LinSpace(OpDef):
    """`num` evenly spaced values from start to stop, both included."""

    op_type = "LinSpace"
    attrs = {"T": None, "Tidx": None}
    grad = None

    def infer(self, op):
        start, stop, num = op.inputs
        if not start.dtype.is_floating or start.dtype != stop.dtype:
            raise TypeError(f"LinSpace needs float start and stop of one dtype, got {start.dtype.name} and "
                            f"{stop.dtype.name}")
        if not num.dtype.is_integer:
            raise TypeError(f"LinSpace: num must be an integer, got {num.dtype.name}")
        count = const_value(num)
        return [(start.dtype, TensorShape([None if count is None else int(count)]))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda start, stop, num: xp.linspace(start, stop, int(num), dtype=start.dtype)


def linspace(start: Any, stop: Any, num: Any, name: Optional[str] = None) -> Tensor:
    """A 1-D tensor of `num` evenly spaced values from `start` to `stop` inclusive (TF's lin_space)."""
    graph = graph_of([start, stop, num])
    start_t = convert_to_tensor(start, graph=graph, preferred_dtype=dtypes.float32)
    stop_t = convert_to_tensor(stop, dtype=start_t.dtype, graph=graph)
    num_t = convert_to_tensor(num, dtype=dtypes.int32, graph=graph) if not isinstance(num, Tensor) else num
    return graph.create_op("LinSpace", [start_t, stop_t, num_t], name=name or "LinSpace").outputs[0]


lin_space = linspace


def meshgrid(*args: Any, indexing: str = "xy", name: str = "meshgrid") -> List[Tensor]:
    """Coordinate matrices from 1-D coordinate vectors, as numpy.meshgrid ("xy" or "ij" indexing)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    graph = graph_of(list(args))
    vectors = [reshape(convert_to_tensor(a, graph=graph), [-1]) for a in args]
    count = len(vectors)
    with graph.name_scope(name):
        outputs = []
        for index, vector in enumerate(vectors):
            shape_list = [1] * count
            shape_list[index] = -1
            if indexing == "xy" and count >= 2 and index < 2:
                shape_list[0], shape_list[1] = shape_list[1], shape_list[0]
            outputs.append(reshape(vector, shape_list))
        sizes = [size(v) for v in vectors]
        if indexing == "xy" and count >= 2:
            sizes[0], sizes[1] = sizes[1], sizes[0]
        full = stack(sizes)
        return [broadcast_to(o, full) for o in outputs]
