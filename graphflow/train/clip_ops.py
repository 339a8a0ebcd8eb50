"""Norm clipping (clip_by_norm, clip_by_global_norm, clip_by_average_norm) and global_norm, built from graph ops."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ..framework.convert import convert_to_tensor, graph_of
from ..framework.tensor import Tensor
from ..ops import array_ops, core_ops, math_ops

__all__ = ["clip_by_norm", "clip_by_global_norm", "global_norm", "clip_by_average_norm"]


def _safe_sqrt(squared_sum: Tensor) -> Tensor:
    """sqrt(max(s, tiny)): equal to sqrt(s) wherever a clip threshold can matter, and with a finite gradient at 0."""
    tiny = np.finfo(squared_sum.dtype.numpy).tiny
    return math_ops.sqrt(math_ops.maximum(squared_sum, core_ops.constant(tiny, dtype=squared_sum.dtype)))


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: Optional[str] = None) -> Tensor:
    """t * clip_norm / max(||t||₂, clip_norm): `t` rescaled so its L2 norm (over `axes`, default all) is at most
    clip_norm.

    Args:
        t: a float Tensor.
        clip_norm: positive scalar.
        axes: the axes over which norms are taken (others are clipped independently).
    """
    t = convert_to_tensor(t)
    with t.graph.name_scope(name or "clip_by_norm"):
        clip = convert_to_tensor(clip_norm, dtype=t.dtype)
        l2norm = _safe_sqrt(math_ops.reduce_sum(math_ops.multiply(t, t), axes, keepdims=True))
        return math_ops.divide(math_ops.multiply(t, clip), math_ops.maximum(l2norm, clip))


def global_norm(t_list: Sequence[Any], name: Optional[str] = None) -> Tensor:
    """sqrt(sum of squares of every element of every tensor in `t_list`); None entries are ignored.

    Raises:
        TypeError: `t_list` is not a sequence.
        ValueError: `t_list` holds no tensor.
    """
    if isinstance(t_list, (Tensor, str)) or not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    tensors = [convert_to_tensor(t) for t in t_list if t is not None]
    if not tensors:
        raise ValueError("global_norm needs at least one tensor that is not None")
    graph = graph_of(tensors)
    with graph.name_scope(name or "global_norm"):
        dtype = tensors[0].dtype
        squares = []
        for t in tensors:
            square_sum = math_ops.reduce_sum(math_ops.multiply(t, t))
            squares.append(square_sum if square_sum.dtype == dtype else math_ops.cast(square_sum, dtype))
        total = math_ops.add_n(squares) if len(squares) > 1 else squares[0]
        return math_ops.sqrt(total, name="global_norm")


def clip_by_global_norm(t_list: Sequence[Any], clip_norm: Any, use_norm: Any = None,
                        name: Optional[str] = None) -> Tuple[List[Optional[Tensor]], Tensor]:
    """Scales every tensor by clip_norm / max(global_norm, clip_norm), so their joint L2 norm is at most clip_norm.

    Args:
        t_list: tensors (None entries pass through as None).
        clip_norm: positive scalar.
        use_norm: a precomputed global norm (default: global_norm(t_list)).

    Returns:
        (list of clipped tensors, the global norm). An infinite norm gives NaN tensors, as in TF.
    """
    if isinstance(t_list, (Tensor, str)) or not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    norm = global_norm(t_list) if use_norm is None else convert_to_tensor(use_norm)
    graph = norm.graph
    with graph.name_scope(name or "clip_by_global_norm"):
        clip = convert_to_tensor(clip_norm, dtype=norm.dtype)
        one = core_ops.constant(1.0, dtype=norm.dtype)
        # clip * min(1/norm, 1/clip) is 1 when norm <= clip, clip/norm otherwise; adding (norm - norm), as TF does,
        # turns an infinite or NaN norm into NaN everywhere instead of silently zeroing the finite entries
        scale = math_ops.multiply(clip, math_ops.minimum(math_ops.divide(one, norm), math_ops.divide(one, clip)))
        scale = math_ops.add(scale, math_ops.subtract(norm, norm))
        clipped: List[Optional[Tensor]] = []
        for i, t in enumerate(t_list):
            if t is None:
                clipped.append(None)
                continue
            t = convert_to_tensor(t)
            factor = scale if scale.dtype == t.dtype else math_ops.cast(scale, t.dtype)
            clipped.append(math_ops.multiply(t, factor, name=f"clip_by_global_norm_{i}"))
    return clipped, norm


def clip_by_average_norm(t: Any, clip_norm: Any, name: Optional[str] = None) -> Tensor:
    """t * clip_norm * min(n / ||t||₂, 1 / clip_norm) with n = t's element count: the norm divided by n is at most
    clip_norm."""
    t = convert_to_tensor(t)
    with t.graph.name_scope(name or "clip_by_average_norm"):
        clip = convert_to_tensor(clip_norm, dtype=t.dtype)
        count = math_ops.cast(array_ops.size(t), t.dtype)
        inverse_norm = math_ops.rsqrt(math_ops.reduce_sum(math_ops.multiply(t, t)))
        one = core_ops.constant(1.0, dtype=t.dtype)
        return math_ops.multiply(math_ops.multiply(t, clip),
                                 math_ops.minimum(math_ops.multiply(inverse_norm, count), math_ops.divide(one, clip)))
