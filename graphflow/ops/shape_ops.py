"""Array ops that slice, join, split, gather, pad and tile tensors: shape functions, kernels, gradients, Tensor[...]."""
from __future__ import annotations

import builtins
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor
from . import array_ops, math_ops
from .array_ops import _shape_value, reshape, shape, stack, transpose
from .core_ops import identity
from .reduction_ops import reduce_sum
from .gather_ops import gather
from .select_ops import where
from .indexing_ops import (_axis, _dim_of, _int, _ints, _same_rank_dims, _scalar_value, _shape_of,  # noqa: F401
                           slice)

__all__ = ["expand_dims", "squeeze", "concat", "unstack", "split", "pad", "tile", "reverse", "boolean_mask"]


# ---------------------------------------------------------------------------------------------------------------------
# ExpandDims / Squeeze
# ---------------------------------------------------------------------------------------------------------------------
@register_op
class ExpandDims(OpDef):
    """Inserts a dimension of size 1 at `dim` (in [-rank-1, rank]): y.shape = x.shape[:a] + (1,) + x.shape[a:]."""

    op_type = "ExpandDims"
    attrs = {"T": None, "Tdim": None}
    may_alias_input = True

    def infer(self, op):
        x, dim = op.inputs
        axis, rank = _scalar_value(dim), x.shape.rank
        if rank is None:
            return [(x.dtype, TensorShape(None))]
        if axis is None:
            return [(x.dtype, TensorShape([None] * (rank + 1)))]
        dims = x.shape.as_list()
        dims.insert(_axis(axis, rank, "ExpandDims", extra=1), 1)
        return [(x.dtype, TensorShape(dims))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda x, dim: xp.expand_dims(x, _int(dim))

    def grad(self, op, dy):
        return [reshape(dy, _shape_of(op.inputs[0])), None]


def expand_dims(input: Any, axis: Any = None, name: Optional[str] = None, dim: Any = None) -> Tensor:
    """Inserts a size-1 dimension at `axis` (TF1's `dim` is accepted as an alias)."""
    if axis is None:
        axis = dim
    if axis is None:
        raise ValueError("expand_dims needs an axis")
    x = convert_to_tensor(input)
    return x.graph.create_op("ExpandDims", [x, _ints(x.graph, axis)], name=name or "ExpandDims").outputs[0]


@register_op
class Squeeze(OpDef):
    """Removes size-1 dimensions: those listed in `squeeze_dims`, or all of them when the list is empty."""

    op_type = "Squeeze"
    attrs = {"T": None, "squeeze_dims": []}
    may_alias_input = True

    def infer(self, op):
        x = op.inputs[0]
        if x.shape.rank is None:
            return [(x.dtype, TensorShape(None))]
        dims = x.shape.as_list()
        wanted = {_axis(a, len(dims), "Squeeze") for a in op.attrs["squeeze_dims"]}
        if not wanted:
            if None in dims:
                return [(x.dtype, TensorShape(None))]
            wanted = {i for i, d in enumerate(dims) if d == 1}
        for i in wanted:
            if dims[i] not in (1, None):
                raise ValueError(f"Squeeze: cannot squeeze dimension {i} of shape {x.shape}: its size is {dims[i]}, "
                                 "not 1")
        return [(x.dtype, TensorShape([d for i, d in enumerate(dims) if i not in wanted]))]

    def make_kernel(self, op, ctx):
        xp, axes = ctx.xp, tuple(op.attrs["squeeze_dims"])
        return lambda x: xp.squeeze(x, axis=axes or None)

    def grad(self, op, dy):
        return [reshape(dy, _shape_of(op.inputs[0]))]


def squeeze(input: Any, axis: Any = None, name: Optional[str] = None, squeeze_dims: Any = None) -> Tensor:
    """Removes dimensions of size 1 (all of them, or those in `axis`)."""
    if axis is None:
        axis = squeeze_dims
    axes = [] if axis is None else ([int(axis)] if isinstance(axis, (int, np.integer)) else [int(a) for a in axis])
    x = convert_to_tensor(input)
    return x.graph.create_op("Squeeze", [x], {"squeeze_dims": axes}, name=name or "Squeeze").outputs[0]


# ---------------------------------------------------------------------------------------------------------------------
# ConcatV2 / Unpack / Split / SplitV
# ---------------------------------------------------------------------------------------------------------------------
@register_op
class ConcatV2(OpDef):
    """Joins N tensors along `axis` (the last input); all other dimensions must agree."""

    op_type = "ConcatV2"
    attrs = {"N": None, "T": None, "Tidx": None}

    def infer(self, op):
        values, axis_t = op.inputs[:-1], op.inputs[-1]
        for t in values[1:]:
            if t.dtype != values[0].dtype:
                raise TypeError(f"ConcatV2: inputs must share a dtype, got {values[0].dtype.name} and {t.dtype.name}")
        rank = _same_rank_dims(op, values)
        axis = _scalar_value(axis_t)
        if rank is None:
            return [(values[0].dtype, TensorShape(None))]
        if axis is None:
            return [(values[0].dtype, TensorShape([None] * rank))]
        axis = _axis(axis, rank, "ConcatV2")
        out = [None if i == axis else d for i, d in enumerate(_merged_dims(values, rank, axis))]
        sizes = [t.shape.dims[axis] for t in values if t.shape.rank is not None]
        out[axis] = sum(sizes) if len(sizes) == len(values) and None not in sizes else None
        return [(values[0].dtype, TensorShape(out))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda *arrays: xp.concatenate(arrays[:-1], axis=_int(arrays[-1]))

    def grad(self, op, dy):
        values, axis_t = op.inputs[:-1], op.inputs[-1]
        axis = _scalar_value(axis_t)
        if axis is not None and values[0].shape.rank is not None:
            axis = axis % values[0].shape.rank
        elif axis is None or axis < 0:
            axis = math_ops.floormod(axis_t, array_ops.rank(values[0]))
        sizes = [_dim_of(t, axis) for t in values]
        return list(split(dy, sizes if all(isinstance(s, int) for s in sizes) else stack(sizes), axis)) + [None]


def _merged_dims(values: Sequence[Tensor], rank: int, axis: int) -> List[Optional[int]]:
    merged = [None] * rank
    for t in values:
        if t.shape.rank is None:
            continue
        for i, d in enumerate(t.shape.dims):
            if i == axis or d is None:
                continue
            if merged[i] is not None and merged[i] != d:
                raise ValueError(f"ConcatV2: dimension {i} differs between inputs ({merged[i]} vs {d}); shapes "
                                 f"{[str(v.shape) for v in values]} can only differ in dimension {axis}")
            merged[i] = d
    return merged


def concat(values: Sequence[Any], axis: Any, name: str = "concat") -> Tensor:
    """Concatenates tensors along `axis`; a single value is returned as an identity."""
    values = list(values)
    if not values:
        raise ValueError("concat needs at least one value")
    graph = graph_of(values)
    tensors = [convert_to_tensor(v, graph=graph) for v in values]
    if len(tensors) == 1:
        return identity(tensors[0], name=name)
    return graph.create_op("ConcatV2", tensors + [_ints(graph, axis)], {"N": len(tensors)}, name=name).outputs[0]


@register_op
class Unpack(OpDef):
    """Splits x along `axis` into `num` tensors, each without that dimension."""

    op_type = "Unpack"
    attrs = {"num": None, "axis": 0, "T": None}
    may_alias_input = True

    def infer(self, op):
        x, num = op.inputs[0], op.attrs["num"]
        if x.shape.rank is None:
            return [(x.dtype, TensorShape(None))] * num
        dims = x.shape.as_list()
        axis = _axis(op.attrs["axis"], len(dims), "Unpack")
        if dims[axis] is not None and dims[axis] != num:
            raise ValueError(f"Unpack: cannot unstack dimension {axis} of size {dims[axis]} into {num} tensors "
                             f"(shape {x.shape})")
        return [(x.dtype, TensorShape(dims[:axis] + dims[axis + 1:]))] * num

    def make_kernel(self, op, ctx):
        xp, axis, num = ctx.xp, op.attrs["axis"], op.attrs["num"]

        def unpack(x):
            if x.shape[axis] != num:
                raise ValueError(f"Unpack expected {num} entries along axis {axis}, got shape {x.shape}")
            return tuple(xp.asarray(part) for part in xp.moveaxis(x, axis, 0))
        return unpack

    def grad(self, op, *dys):
        return [stack(list(dys), axis=op.attrs["axis"])]


def unstack(value: Any, num: Optional[int] = None, axis: int = 0, name: str = "unstack") -> List[Tensor]:
    """Splits `value` along `axis` into a list of tensors with that dimension removed."""
    x = convert_to_tensor(value)
    if num is None:
        if x.shape.rank is None:
            raise ValueError(f"unstack: cannot infer num from {x.name} of unknown rank; pass num")
        num = x.shape.dims[_axis(axis, x.shape.rank, "Unpack")]
        if num is None:
            raise ValueError(f"unstack: cannot infer num from shape {x.shape} (dimension {axis} unknown); pass num")
    return list(x.graph.create_op("Unpack", [x], {"num": int(num), "axis": int(axis)}, name=name).outputs)


@register_op
class Split(OpDef):
    """Splits `value` along `split_dim` into `num_split` equal parts. Inputs: (split_dim, value)."""

    op_type = "Split"
    attrs = {"num_split": None, "T": None}

    def infer(self, op):
        axis_t, x = op.inputs
        num = op.attrs["num_split"]
        axis = _scalar_value(axis_t)
        if x.shape.rank is None:
            return [(x.dtype, TensorShape(None))] * num
        dims = x.shape.as_list()
        if axis is None:
            return [(x.dtype, TensorShape([None] * len(dims)))] * num
        axis = _axis(axis, len(dims), "Split")
        if dims[axis] is not None:
            if dims[axis] % num:
                raise ValueError(f"Split: dimension {axis} of shape {x.shape} (size {dims[axis]}) is not evenly "
                                 f"divisible into {num} parts")
            dims[axis] //= num
        return [(x.dtype, TensorShape(dims))] * num

    def make_kernel(self, op, ctx):
        xp, num = ctx.xp, op.attrs["num_split"]

        def split_kernel(axis, x):
            axis = _int(axis)
            if x.shape[axis] % num:
                raise ValueError(f"Split: dimension {axis} of size {x.shape[axis]} is not divisible by {num}")
            return tuple(xp.split(x, num, axis=axis))
        return split_kernel

    def grad(self, op, *dys):
        return [None, concat(list(dys), op.inputs[0])]


@register_op
class SplitV(OpDef):
    """Splits `value` along `split_dim` into parts of `size_splits` (one may be -1). Inputs: (value, sizes, dim)."""

    op_type = "SplitV"
    attrs = {"num_split": None, "T": None, "Tlen": None}

    def infer(self, op):
        x, sizes_t, axis_t = op.inputs
        num = op.attrs["num_split"]
        sizes, axis = _shape_value(sizes_t), _scalar_value(axis_t)
        if x.shape.rank is None:
            return [(x.dtype, TensorShape(None))] * num
        dims = x.shape.as_list()
        if axis is None:
            return [(x.dtype, TensorShape([None] * len(dims)))] * num
        axis = _axis(axis, len(dims), "SplitV")
        if sizes is None:
            sizes = [None] * num
        if len(sizes) != num:
            raise ValueError(f"SplitV: {len(sizes)} size_splits given for num_split={num}")
        if sizes.count(-1) > 1:
            raise ValueError(f"SplitV: at most one size_splits entry may be -1, got {sizes}")
        known = [s for s in sizes if s not in (None, -1)]
        if -1 in sizes and dims[axis] is not None and None not in sizes:
            sizes = [dims[axis] - builtins.sum(known) if s == -1 else s for s in sizes]
        if dims[axis] is not None and None not in sizes and -1 not in sizes and builtins.sum(sizes) != dims[axis]:
            raise ValueError(f"SplitV: size_splits {sizes} do not sum to dimension {axis} of shape {x.shape}")
        return [(x.dtype, TensorShape(dims[:axis] + [None if s == -1 else s] + dims[axis + 1:])) for s in sizes]

    def make_kernel(self, op, ctx):
        xp = ctx.xp

        def split_v(x, sizes, axis):
            axis = _int(axis) % x.ndim
            sizes = [int(s) for s in sizes]
            if sizes.count(-1) == 1:
                sizes[sizes.index(-1)] = x.shape[axis] - builtins.sum(s for s in sizes if s != -1)
            if builtins.sum(sizes) != x.shape[axis] or min(sizes) < 0:
                raise ValueError(f"SplitV: size_splits {sizes} do not sum to dimension {axis} of shape {x.shape}")
            return tuple(xp.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis))
        return split_v

    def grad(self, op, *dys):
        return [concat(list(dys), op.inputs[2]), None, None]


def split(value: Any, num_or_size_splits: Any, axis: Any = 0, num: Optional[int] = None,
          name: str = "split") -> List[Tensor]:
    """Splits `value` along `axis`: into that many equal parts (an int) or parts of the given sizes (a list/tensor)."""
    x = convert_to_tensor(value)
    axis_t = _ints(x.graph, axis)
    if isinstance(num_or_size_splits, (int, np.integer)):
        attrs = {"num_split": int(num_or_size_splits)}
        return list(x.graph.create_op("Split", [axis_t, x], attrs, name=name).outputs)
    sizes = _ints(x.graph, num_or_size_splits)
    if num is None:
        num = sizes.shape.dims[0] if sizes.shape.rank == 1 else None
        if num is None:
            raise ValueError(f"split: cannot infer the number of parts from size_splits {sizes.name}; pass num")
    return list(x.graph.create_op("SplitV", [x, sizes, axis_t], {"num_split": int(num)}, name=name).outputs)



# ---------------------------------------------------------------------------------------------------------------------
# Pad / PadV2 / MirrorPad / MirrorPadGrad / Tile
# ---------------------------------------------------------------------------------------------------------------------
class _PadBase(OpDef):
    """y.shape[i] = paddings[i, 0] + x.shape[i] + paddings[i, 1]."""

    def infer(self, op):
        x, paddings_t = op.inputs[:2]
        flat = _shape_value(paddings_t)
        rank = x.shape.rank
        if rank is None and paddings_t.shape.rank == 2:
            rank = paddings_t.shape.dims[0]
        if rank is None:
            return [(x.dtype, TensorShape(None))]
        if not paddings_t.shape.is_compatible_with([rank, 2]):
            raise ValueError(f"{op.type}: paddings must have shape [{rank}, 2] for input {x.shape}, got "
                             f"{paddings_t.shape}")
        flat = flat if flat is not None else [None] * (2 * rank)
        if any(p is not None and p < 0 for p in flat):
            raise ValueError(f"{op.type}: paddings must be non-negative, got {flat}")
        dims = x.shape.dims if x.shape.rank is not None else (None,) * rank
        self._check_mirror(op, dims, flat)
        return [(x.dtype, TensorShape([None if None in (d, flat[2 * i], flat[2 * i + 1]) else
                                       d + flat[2 * i] + flat[2 * i + 1] for i, d in enumerate(dims)]))]

    def _check_mirror(self, op, dims, flat) -> None:
        """Constant padding accepts any amounts; MirrorPad overrides this with its size limits."""

    def grad(self, op, dy):
        x, paddings_t = op.inputs[:2]
        flat = _shape_value(paddings_t)
        if flat is not None and x.shape.is_fully_defined():
            begin = flat[0::2]
        else:
            begin = reshape(slice(paddings_t, [0, 0], [-1, 1]), [-1])
        return [slice(dy, begin, _shape_of(x, paddings_t.dtype))] + [None] * (len(op.inputs) - 1)


@register_op
class Pad(_PadBase):
    op_type = "Pad"
    attrs = {"T": None, "Tpaddings": None}

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda x, paddings: xp.pad(x, _pairs(paddings), mode="constant")


@register_op
class PadV2(_PadBase):
    op_type = "PadV2"
    attrs = {"T": None, "Tpaddings": None}

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda x, paddings, value: xp.pad(x, _pairs(paddings), mode="constant", constant_values=value)


def _pairs(paddings) -> List[Tuple[int, int]]:
    return [(int(a), int(b)) for a, b in np.asarray(paddings.tolist()).reshape(-1, 2)]


def _mirror_offset(mode: str) -> int:
    """REFLECT excludes the edge element (pads must be < dim); SYMMETRIC repeats it (pads must be <= dim)."""
    return 1 if mode == "REFLECT" else 0


def _check_mirror_pads(op_type: str, mode: str, dims, pairs) -> None:
    offset = _mirror_offset(mode)
    for i, (d, (before, after)) in enumerate(zip(dims, pairs)):
        if d is not None and max(before, after) > d - offset:
            raise ValueError(f"{op_type}: {mode} paddings ({before}, {after}) too large for dimension {i} of size {d}")


@register_op
class MirrorPad(_PadBase):
    """Pads by mirroring the input at its borders (`mode` REFLECT or SYMMETRIC)."""

    op_type = "MirrorPad"
    attrs = {"T": None, "Tpaddings": None, "mode": "REFLECT"}

    def _check_mirror(self, op, dims, flat) -> None:
        pairs = [(before or 0, after or 0) for before, after in zip(flat[0::2], flat[1::2])]
        _check_mirror_pads(op.type, op.attrs["mode"], dims, pairs)

    def make_kernel(self, op, ctx):
        xp, mode = ctx.xp, op.attrs["mode"]

        def mirror_pad(x, paddings):
            pairs = _pairs(paddings)
            _check_mirror_pads("MirrorPad", mode, x.shape, pairs)
            return xp.pad(x, pairs, mode=mode.lower())
        return mirror_pad

    def grad(self, op, dy):
        x, paddings_t = op.inputs
        dx = x.graph.create_op("MirrorPadGrad", [dy, paddings_t], {"mode": op.attrs["mode"]}).outputs[0]
        return [dx, None]


@register_op
class MirrorPadGrad(OpDef):
    """The adjoint of MirrorPad: folds the mirrored borders of dy back onto the elements they copied."""

    op_type = "MirrorPadGrad"
    attrs = {"T": None, "Tpaddings": None, "mode": "REFLECT"}

    def infer(self, op):
        dy, paddings_t = op.inputs
        flat = _shape_value(paddings_t)
        if dy.shape.rank is None or flat is None:
            return [(dy.dtype, TensorShape(None if dy.shape.rank is None else [None] * dy.shape.rank))]
        return [(dy.dtype, TensorShape([None if d is None else d - flat[2 * i] - flat[2 * i + 1]
                                        for i, d in enumerate(dy.shape.dims)]))]

    def make_kernel(self, op, ctx):
        xp, offset = ctx.xp, _mirror_offset(op.attrs["mode"])

        def mirror_pad_grad(dy, paddings):
            out = dy
            for axis, (before, after) in enumerate(_pairs(paddings)):
                n = out.shape[axis] - before - after
                out = xp.moveaxis(out, axis, 0)
                core = out[before:before + n].copy()
                if before:
                    core[offset:offset + before] += out[:before][::-1]
                if after:
                    core[n - offset - after:n - offset] += out[before + n:][::-1]
                out = xp.moveaxis(core, 0, axis)
            return out
        return mirror_pad_grad

    def grad(self, op, ddx):
        return [ddx.graph.create_op("MirrorPad", [ddx, op.inputs[1]], {"mode": op.attrs["mode"]}).outputs[0], None]


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", name: Optional[str] = None,
        constant_values: Any = 0) -> Tensor:
    """Pads `tensor` with paddings[i] = [before, after] per dimension; mode CONSTANT, REFLECT or SYMMETRIC."""
    x = convert_to_tensor(tensor)
    paddings_t = _ints(x.graph, paddings)
    mode = mode.upper()
    if mode == "CONSTANT":
        if not isinstance(constant_values, Tensor) and np.all(np.asarray(constant_values) == 0):
            return x.graph.create_op("Pad", [x, paddings_t], name=name or "Pad").outputs[0]
        value = convert_to_tensor(constant_values, dtype=x.dtype, graph=x.graph)
        return x.graph.create_op("PadV2", [x, paddings_t, value], name=name or "PadV2").outputs[0]
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f"pad: mode must be CONSTANT, REFLECT or SYMMETRIC, got {mode!r}")
    return x.graph.create_op("MirrorPad", [x, paddings_t], {"mode": mode}, name=name or "MirrorPad").outputs[0]


@register_op
class Tile(OpDef):
    """Repeats the input `multiples[i]` times along dimension i: y.shape[i] = x.shape[i] * multiples[i]."""

    op_type = "Tile"
    attrs = {"T": None, "Tmultiples": None}

    def infer(self, op):
        x, multiples_t = op.inputs
        multiples = _shape_value(multiples_t)
        rank = x.shape.rank if x.shape.rank is not None else (multiples_t.shape.dims or [None])[0]
        if rank is None:
            return [(x.dtype, TensorShape(None))]
        if multiples is not None and len(multiples) != rank:
            raise ValueError(f"Tile: multiples {multiples} must have one entry per dimension of {x.shape}")
        multiples = multiples or [None] * rank
        dims = x.shape.dims if x.shape.rank is not None else (None,) * rank
        return [(x.dtype, TensorShape([None if d is None or m is None else d * m for d, m in zip(dims, multiples)]))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp

        def tile_kernel(x, multiples):
            if len(multiples) != x.ndim:
                raise ValueError(f"Tile: multiples {list(multiples)} must have one entry per dimension of {x.shape}")
            return xp.tile(x, tuple(int(m) for m in multiples))
        return tile_kernel

    def grad(self, op, dy):
        x, multiples_t = op.inputs
        multiples = _shape_value(multiples_t)
        # dy viewed as [m0, d0, m1, d1, …] sums over the m axes back to x's shape
        if x.shape.is_fully_defined() and multiples is not None and None not in multiples:
            split_shape = [v for pair in zip(multiples, x.shape.as_list()) for v in pair]
            axes = list(builtins.range(0, len(split_shape), 2))
        else:
            split_shape = reshape(transpose(stack([multiples_t, shape(x, out_type=multiples_t.dtype)])), [-1])
            axes = array_ops.range(0, array_ops.size(split_shape), 2)
        return [reduce_sum(reshape(dy, split_shape), axes), None]


def tile(input: Any, multiples: Any, name: Optional[str] = None) -> Tensor:
    """Repeats `input` `multiples[i]` times along each dimension i."""
    x = convert_to_tensor(input)
    return x.graph.create_op("Tile", [x, _ints(x.graph, multiples)], name=name or "Tile").outputs[0]


@register_op
class ReverseV2(OpDef):
    """Reverses the input along each dimension listed in `axis`."""

    op_type = "ReverseV2"
    attrs = {"T": None, "Tidx": None}

    def infer(self, op):
        x, axis_t = op.inputs
        axes = _shape_value(axis_t)
        if axes is not None and x.shape.rank is not None:
            for a in axes:
                _axis(a, x.shape.rank, "ReverseV2")
        return [(x.dtype, x.shape)]

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda x, axis: xp.flip(x, axis=tuple(int(a) for a in np.asarray(axis.tolist()).reshape(-1)))

    def grad(self, op, dy):
        return [reverse(dy, op.inputs[1]), None]


def reverse(tensor: Any, axis: Any, name: Optional[str] = None) -> Tensor:
    """Reverses `tensor` along the dimensions in `axis`."""
    x = convert_to_tensor(tensor)
    axis_t = _ints(x.graph, [axis] if isinstance(axis, (int, np.integer)) else axis)
    return x.graph.create_op("ReverseV2", [x, axis_t], name=name or "ReverseV2").outputs[0]


def boolean_mask(tensor: Any, mask: Any, name: str = "boolean_mask", axis: Optional[int] = None) -> Tensor:
    """The elements (or slices) of `tensor` where the boolean `mask` is true, flattened over the mask's dimensions.

    mask.shape must match tensor.shape[axis:axis + mask.rank]; the result has shape
    tensor.shape[:axis] + [N] + tensor.shape[axis + mask.rank:], N the number of true entries.
    """
    x = convert_to_tensor(tensor)
    m = convert_to_tensor(mask, dtype=dtypes.bool_, graph=x.graph)
    m_rank = m.shape.rank
    if m_rank is None or m_rank == 0:
        raise ValueError(f"boolean_mask: the mask's rank must be known and non-zero, got {m.shape}")
    axis = 0 if axis is None else axis
    with x.graph.name_scope(name):
        if x.shape.rank is not None:
            axis = _axis(axis, x.shape.rank, "boolean_mask")
            if not TensorShape(x.shape.dims[axis:axis + m_rank]).is_compatible_with(m.shape):
                raise ValueError(f"boolean_mask: mask shape {m.shape} does not match dimensions {axis}.. of "
                                 f"tensor shape {x.shape}")
        if x.shape.rank is not None:
            # a partly static target keeps the static dims the mask does not cover
            dims = [d if d is not None else shape(x)[i] for i, d in enumerate(x.shape.dims)]
            flat_shape = stack(dims[:axis] + [-1] + dims[axis + m_rank:])
        else:
            dims = shape(x)
            flat_shape = concat([dims[:axis], [-1], dims[axis + m_rank:]], 0)
        flat = reshape(x, flat_shape)
        indices = squeeze(where(reshape(m, [-1])), axis=[1])
        return gather(flat, indices, axis=axis)
