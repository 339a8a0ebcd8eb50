"""gf.nn dropout, embedding_lookup, in_top_k and top_k: shape functions, kernels and gradients."""
from __future__ import annotations

import collections
import numbers
from typing import Any, List, Optional

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.registry import register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor
from . import gather_ops, math_ops, shape_ops
from .builder import FLOATS, NUMERIC, apply_op, const_value
from .nn_ops import NNOp
from .random_ops import seed_attrs

__all__ = ["dropout", "embedding_lookup", "in_top_k", "top_k"]

# ---------------------------------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------------------------------
@register_op
class Dropout(NNOp):
    """y = x · mask with mask = (u >= rate) / (1 - rate), u ~ U[0, 1) of shape `noise_shape` broadcast against x.

    Inputs (x, rate); outputs (y, mask). graphflow op (TF builds dropout from RandomUniform, Floor and Mul); one op
    keeps the mask as an output so the gradient, dy · mask, reuses exactly the units kept in the forward pass.
    `noise_shape` attr: [] for x's shape, else a list whose -1 entries take x's dimension.
    """

    op_type = "Dropout"
    stateful = True
    attrs = {"T": None, "seed": 0, "seed2": 0, "noise_shape": []}

    def infer(self, op):
        x, rate = op.inputs
        if x.dtype not in FLOATS:
            raise TypeError(f"dropout needs a floating x, got {x.dtype.name} ({x.name})")
        if rate.dtype != x.dtype or rate.shape.rank not in (None, 0):
            raise ValueError(f"Dropout: rate must be a scalar of x's dtype, got {rate.dtype.name} {rate.shape}")
        return [(x.dtype, x.shape), (x.dtype, self._mask_shape(op))]

    @staticmethod
    def _mask_shape(op) -> TensorShape:
        x, noise = op.inputs[0].shape, list(op.attrs["noise_shape"])
        if not noise:
            return x
        if x.rank is None:
            return TensorShape([None if d == -1 else d for d in noise])
        if len(noise) != x.rank:
            raise ValueError(f"Dropout: noise_shape {noise} must have the rank of x {x}")
        dims = []
        for d, xd in zip(noise, x.dims):
            if d != -1 and d != 1 and xd is not None and d != xd:
                raise ValueError(f"Dropout: noise_shape {noise} does not broadcast to x's shape {x}")
            dims.append(xd if d == -1 else d)
        return TensorShape(dims)

    def make_kernel(self, op, ctx):
        xp, rng, noise = ctx.xp, ctx.rng(op), list(op.attrs["noise_shape"])

        def dropout_kernel(x, rate):
            rate = float(rate)
            if not 0 <= rate < 1:
                raise ValueError(f"rate must be in [0, 1), got {rate} (keep_prob {1 - rate})")
            shape = x.shape if not noise else tuple(x.shape[i] if d == -1 else d for i, d in enumerate(noise))
            kept = rng.random(shape) >= rate
            mask = xp.asarray(kept.astype(x.dtype) * x.dtype.type(1 / (1 - rate)))
            return x * mask, mask
        return dropout_kernel

    def grad(self, op, dy, unused_mask_grad):
        return [dy * op.outputs[1], None]


def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: Optional[int] = None,
            name: Optional[str] = None, rate: Any = None) -> Tensor:
    """Zeroes each element of `x` with probability rate = 1 - keep_prob and scales the rest by 1 / keep_prob.

    Args:
        x: a floating Tensor.
        keep_prob: probability of keeping each element (TF1 form); a Python number or a scalar Tensor.
        noise_shape: shape of the random keep/drop decisions, broadcast against x (e.g. [batch, 1, 1, channels]
            drops whole channels); None entries take x's dimension.
        seed: op seed; with the graph seed (gf.set_random_seed) it fixes the masks, which repeat in a new Session.
        name: op name.
        rate: probability of dropping each element (TF2 form); give either rate or keep_prob.

    Returns:
        A Tensor shaped like `x`; `x` itself when keep_prob is the Python number 1 (or rate 0).
    """
    if (keep_prob is None) == (rate is None):
        raise ValueError("dropout takes exactly one of keep_prob and rate")
    x = convert_to_tensor(x)
    graph = x.graph
    given = keep_prob if rate is None else rate
    if isinstance(given, numbers.Real):
        value = float(given)
        if rate is None and not 0 < value <= 1:
            raise ValueError(f"keep_prob must be a scalar in (0, 1], got {value}")
        if rate is not None and not 0 <= value < 1:
            raise ValueError(f"rate must be a scalar in [0, 1), got {value}")
        drop = 1 - value if rate is None else value
        if drop == 0:
            return x
        rate_t = convert_to_tensor(np.asarray(drop, dtype=x.dtype.numpy), graph=graph)
    else:
        given_t = convert_to_tensor(given, dtype=x.dtype, graph=graph)
        rate_t = 1 - given_t if rate is None else given_t
    noise: List[int] = []
    if noise_shape is not None:
        if isinstance(noise_shape, Tensor):
            value = const_value(noise_shape)
            if value is None:
                raise ValueError("dropout: noise_shape must be known when the graph is built (a list or constant)")
            noise_shape = np.asarray(value).tolist()
        noise = [-1 if d is None else int(d) for d in noise_shape]
    with graph.name_scope(name or "dropout"):
        y, _ = apply_op("Dropout", [x, rate_t], {**seed_attrs(seed, graph), "noise_shape": noise})
    return y


# ---------------------------------------------------------------------------------------------------------------------
# embedding_lookup
# ---------------------------------------------------------------------------------------------------------------------
def embedding_lookup(params: Any, ids: Any, partition_strategy: str = "mod", name: Optional[str] = None,
                     validate_indices: bool = True, max_norm: Optional[float] = None) -> Tensor:
    """Rows of `params` at `ids`: result[i...] = params[ids[i...]] (a GatherV2 along axis 0).

    Args:
        params: a Tensor, or a list of Tensors sharded along axis 0 by `partition_strategy` (TF's layouts:
            "mod" puts id i in shard i % P at row i // P; "div" gives each shard a contiguous block of ids).
        ids: int32/int64 Tensor of row ids; an id out of range raises InvalidArgumentError when run.
        partition_strategy: "mod" or "div" (only matters for several shards).
        name: name scope.
        validate_indices: unused (kept for TF1's signature).
        max_norm: if given, each looked-up row with a larger L2 norm is scaled down to this norm.

    Returns:
        A Tensor of shape ids.shape + params.shape[1:].
    """
    shards = list(params) if isinstance(params, (list, tuple)) else [params]
    if not shards:
        raise ValueError("embedding_lookup needs at least one params tensor")
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"partition_strategy must be 'mod' or 'div', got {partition_strategy!r}")
    graph = graph_of(shards + [ids])
    shards = [convert_to_tensor(p, graph=graph) for p in shards]
    ids = convert_to_tensor(ids, graph=graph)
    with graph.name_scope(name or "embedding_lookup"):
        if len(shards) == 1:
            rows = gather_ops.gather(shards[0], ids)
        else:
            table = shape_ops.concat(shards, 0)
            if partition_strategy == "div":
                # shards of a "div" layout, concatenated in order, are the original table
                rows = gather_ops.gather(table, ids)
            else:
                sizes = [p.shape.dims[0] if p.shape.rank else None for p in shards]
                if any(s is None for s in sizes):
                    raise ValueError("embedding_lookup with the 'mod' strategy needs the row count of every shard "
                                     f"at build time; got {sizes}")
                offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(ids.dtype.numpy)
                count = convert_to_tensor(np.asarray(len(shards), dtype=ids.dtype.numpy), graph=graph)
                index = gather_ops.gather(convert_to_tensor(offsets, graph=graph), math_ops.floormod(ids, count)) \
                    + math_ops.floordiv(ids, count)
                rows = gather_ops.gather(table, index)
        if max_norm is None:
            return rows
        if rows.shape.rank is None or ids.shape.rank is None:
            raise ValueError("embedding_lookup with max_norm needs known ranks of params and ids")
        axes = list(range(ids.shape.rank, rows.shape.rank))
        norm = math_ops.sqrt(math_ops.reduce_sum(math_ops.square(rows), axes, keepdims=True))
        return rows * max_norm / math_ops.maximum(norm, max_norm)


# ---------------------------------------------------------------------------------------------------------------------
# in_top_k and top_k
# ---------------------------------------------------------------------------------------------------------------------
@register_op
class InTopKV2(NNOp):
    """out[i] = whether predictions[i, targets[i]] is among the k largest of row i.

    Ties straddling the k-th place count as in the top k (fewer than k predictions are strictly larger);
    a non-finite prediction or an out-of-range target gives False, as in TF.
    """

    op_type = "InTopKV2"
    attrs = {"T": None}
    grad = None

    def infer(self, op):
        predictions, targets, k = op.inputs
        if predictions.dtype not in FLOATS:
            raise TypeError(f"in_top_k: predictions must be floating, got {predictions.dtype.name}")
        if targets.dtype not in (dtypes.int32, dtypes.int64) or k.dtype != targets.dtype:
            raise TypeError(f"in_top_k: targets and k must share an int32/int64 dtype, got {targets.dtype.name} "
                            f"and {k.dtype.name}")
        if predictions.shape.rank is not None and predictions.shape.rank != 2:
            raise ValueError(f"in_top_k: predictions must be 2-D, got shape {predictions.shape}")
        if targets.shape.rank is not None and targets.shape.rank != 1:
            raise ValueError(f"in_top_k: targets must be 1-D, got shape {targets.shape}")
        batch = TensorShape([predictions.shape.dims[0] if predictions.shape.rank else None])
        if not batch.is_compatible_with(targets.shape):
            raise ValueError(f"in_top_k: targets {targets.shape} must have one entry per row of predictions "
                             f"{predictions.shape}")
        return [(dtypes.bool_, batch.merge_with(targets.shape))]

    def kernel(self, xp, predictions, targets, k):
        if predictions.shape[0] != targets.shape[0]:
            raise ValueError(f"targets of shape {targets.shape} do not match predictions of shape {predictions.shape}")
        classes = predictions.shape[1]
        valid = (targets >= 0) & (targets < classes)
        safe = xp.where(valid, targets, 0)
        target_values = xp.take_along_axis(predictions, safe[:, None].astype(np.int64), axis=1)
        larger = (predictions > target_values).sum(axis=1)
        return valid & xp.isfinite(target_values[:, 0]) & (larger < int(k))


def in_top_k(predictions: Any, targets: Any, k: Any, name: Optional[str] = None) -> Tensor:
    """Whether each target class is among the top `k` predictions of its row (TF op InTopKV2).

    Args:
        predictions: float Tensor [batch, classes].
        targets: int32/int64 Tensor [batch] of class ids.
        k: number of top elements to look at (Python int or scalar Tensor).
        name: op name.

    Returns:
        A bool Tensor [batch].
    """
    graph = graph_of([predictions, targets, k])
    predictions = convert_to_tensor(predictions, graph=graph)
    targets = convert_to_tensor(targets, graph=graph)
    k = convert_to_tensor(k, dtype=targets.dtype, graph=graph)
    return apply_op("InTopKV2", [predictions, targets, k], name=name or "in_top_k")


def _static_k(op) -> Optional[int]:
    value = const_value(op.inputs[1])
    return None if value is None else int(value)


@register_op
class TopKV2(NNOp):
    """values, indices = the k largest entries of each last-axis row, largest first, and their int32 positions.

    Equal values keep their order (the lower index first), as in TF.
    """

    op_type = "TopKV2"
    attrs = {"T": None, "sorted": True}

    def infer(self, op):
        x, k = op.inputs
        if x.dtype not in NUMERIC:
            raise TypeError(f"top_k does not support dtype {x.dtype.name}")
        if k.dtype != dtypes.int32 or k.shape.rank not in (None, 0):
            raise TypeError(f"top_k: k must be an int32 scalar, got {k.dtype.name} {k.shape}")
        kv = _static_k(op)
        if kv is not None and kv < 0:
            raise ValueError(f"top_k: k must be non-negative, got {kv}")
        if x.shape.rank is None:
            return [(x.dtype, TensorShape(None)), (dtypes.int32, TensorShape(None))]
        if x.shape.rank == 0:
            raise ValueError("top_k: input must have rank >= 1, got a scalar")
        last = x.shape.dims[-1]
        if kv is not None and last is not None and last < kv:
            raise ValueError(f"top_k: input must have at least k={kv} columns, got shape {x.shape}")
        shape = TensorShape(list(x.shape.dims[:-1]) + [kv])
        return [(x.dtype, shape), (dtypes.int32, shape)]

    def kernel(self, xp, x, k, sorted):
        k = int(k)
        if not 0 <= k <= x.shape[-1]:
            raise ValueError(f"input must have at least k={k} columns, got shape {x.shape}")
        # a stable sort of the negated values puts equal values in index order
        order = xp.argsort(-x if x.dtype.kind == "f" else -x.astype(np.int64), axis=-1, kind="stable")[..., :k]
        return xp.take_along_axis(x, order, axis=-1), order.astype(np.int32)

    def grad(self, op, dvalues, unused_index_grad):
        return [apply_op("TopKV2Grad", [dvalues, op.outputs[1], op.inputs[0]]), None]


@register_op
class TopKV2Grad(NNOp):
    """dx = zeros like x with dvalues scattered along the last axis to the positions top_k picked.

    graphflow op (TF composes this from ScatterNd); inputs (dvalues, indices, x).
    """

    op_type = "TopKV2Grad"
    attrs = {"T": None}

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[2].shape)]

    def kernel(self, xp, dvalues, indices, x):
        n, k = x.shape[-1], indices.shape[-1]
        count = int(np.prod(x.shape[:-1]))
        out = xp.zeros((count, n), dvalues.dtype)
        out[xp.arange(count)[:, None], indices.reshape(count, k)] = dvalues.reshape(count, k)  # indices within a row are distinct
        return out.reshape(x.shape)

    def grad(self, op, ddx):
        # scattering is linear in dvalues: its adjoint gathers back from the same positions
        return [apply_op("TopKV2GradGather", [ddx, op.inputs[1]]), None, None]


@register_op
class TopKV2GradGather(NNOp):
    """out = take_along_axis(x, indices, -1): the adjoint of TopKV2Grad (graphflow op, for second derivatives)."""

    op_type = "TopKV2GradGather"
    attrs = {"T": None}
    grad = None

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[1].shape)]

    def kernel(self, xp, x, indices):
        return xp.take_along_axis(x, indices.astype(np.int64), axis=-1)


# TF1 names the result type TopKV2; the class of that name here is the op
TopKResult = collections.namedtuple("TopKV2", ["values", "indices"])


def top_k(input: Any, k: Any = 1, sorted: bool = True, name: Optional[str] = None) -> TopKResult:
    """The `k` largest entries along the last axis and their indices (TF op TopKV2).

    Args:
        input: Tensor of rank >= 1 with at least k columns.
        k: Python int or int32 scalar Tensor.
        sorted: results largest first (always true here; TF leaves the order unspecified when False).
        name: op name.

    Returns:
        TopKV2(values, indices), a namedtuple as in TF1: values like input with last dimension k; indices int32
        positions in the last axis.
        The gradient scatters into the picked positions.
    """
    graph = graph_of([input, k])
    x = convert_to_tensor(input, graph=graph)
    k_t = convert_to_tensor(k, dtype=dtypes.int32, graph=graph)
    values, indices = apply_op("TopKV2", [x, k_t], {"sorted": bool(sorted)}, name=name or "TopKV2")
    return TopKResult(values, indices)
