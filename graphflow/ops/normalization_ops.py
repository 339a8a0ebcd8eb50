"""Normalisation ops of gf.nn: moments, batch_normalization, fused_batch_norm (FusedBatchNormV3) and LRN."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.shapes import TensorShape
from ..framework.registry import register_op
from ..framework.tensor import Tensor
from . import math_ops
from .builder import FLOATS, apply_op
from .core_ops import stop_gradient
from .nn_ops import NNOp

__all__ = ["moments", "batch_normalization", "fused_batch_norm", "local_response_normalization", "lrn"]


def moments(x: Any, axes: Sequence[int], shift: Any = None, name: Optional[str] = None,
            keep_dims: Optional[bool] = None, keepdims: Optional[bool] = None) -> Tuple[Tensor, Tensor]:
    """Mean and variance of `x` over `axes`: mean = E[x], variance = E[(x - mean)²] (biased).

    Args:
        x: a floating Tensor (float16 is computed in float32, as TF does).
        axes: the axes to reduce.
        shift: unused (kept for TF1's signature).
        name: name scope.
        keep_dims / keepdims: keep the reduced axes with size 1.

    Returns:
        (mean, variance).
    """
    keep = bool(keepdims if keepdims is not None else (keep_dims or False))
    x = convert_to_tensor(x)
    axes = list(axes)
    with x.graph.name_scope(name or "moments"):
        y = math_ops.cast(x, dtypes.float32) if x.dtype == dtypes.float16 else x
        mean_kept = math_ops.reduce_mean(y, axes, keepdims=True, name="mean")
        # the mean's own gradient through the variance is zero at the mean, so stopping it changes nothing but cost
        variance = math_ops.reduce_mean(math_ops.squared_difference(y, stop_gradient(mean_kept)), axes,
                                        keepdims=keep, name="variance")
        mean = mean_kept if keep else math_ops.reduce_mean(y, axes, keepdims=False, name="mean_squeezed")
        if x.dtype == dtypes.float16:
            return math_ops.cast(mean, dtypes.float16), math_ops.cast(variance, dtypes.float16)
        return mean, variance


def batch_normalization(x: Any, mean: Any, variance: Any, offset: Any, scale: Any, variance_epsilon: float,
                        name: Optional[str] = None) -> Tensor:
    """y = scale * (x - mean) / sqrt(variance + variance_epsilon) + offset, all broadcasting against `x`.

    Args:
        x: input Tensor.
        mean, variance: statistics broadcastable to `x`.
        offset: beta, or None for 0.
        scale: gamma, or None for 1.
        variance_epsilon: small float avoiding division by zero.
        name: name scope.

    Returns:
        The normalised Tensor, shaped like `x`.
    """
    x = convert_to_tensor(x)
    with x.graph.name_scope(name or "batchnorm"):
        inv = math_ops.rsqrt(convert_to_tensor(variance, dtype=x.dtype, graph=x.graph) + variance_epsilon)
        if scale is not None:
            inv = inv * scale
        shift = -convert_to_tensor(mean, dtype=x.dtype, graph=x.graph) * inv
        if offset is not None:
            shift = offset + shift
        return x * inv + shift


# ---------------------------------------------------------------------------------------------------------------------
# FusedBatchNormV3
# ---------------------------------------------------------------------------------------------------------------------
def _channel_axis(data_format: str, rank: int) -> int:
    if data_format not in ("NHWC", "NCHW", "NDHWC", "NCDHW"):
        raise ValueError(f"FusedBatchNorm data_format must be NHWC, NCHW, NDHWC or NCDHW, got {data_format!r}")
    return 1 if data_format.startswith("NC") else rank - 1


def _stat_shape(x, axis):
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return shape


@register_op
class FusedBatchNormV3(NNOp):
    """Batch normalisation in one op. Inputs (x, scale, offset, mean, variance); outputs (y, batch_mean,
    batch_variance, reserve_space_1, reserve_space_2, reserve_space_3).

    Training: y = scale * (x - m) / sqrt(v + epsilon) + offset with m, v the batch mean and biased variance over all
    axes but the channel one; batch_variance is the Bessel-corrected v * n / (n - 1) (as TF), and with
    exponential_avg_factor f != 1 both statistics are blended into the `mean`/`variance` inputs: (1 - f) old + f new.
    Inference: the `mean` and `variance` inputs normalise and are passed through.
    reserve_space_1/2 hold the mean and the (biased) variance the gradient needs.
    """

    op_type = "FusedBatchNormV3"
    attrs = {"T": None, "U": None, "epsilon": 0.0001, "exponential_avg_factor": 1.0, "data_format": "NHWC",
             "is_training": True}

    def infer(self, op):
        x, scale, offset, mean, variance = op.inputs
        if x.dtype not in FLOATS:
            raise TypeError(f"FusedBatchNormV3: x must be floating, got {x.dtype.name}")
        if x.shape.rank is not None and x.shape.rank not in (4, 5):
            raise ValueError(f"FusedBatchNormV3: x must be 4-D or 5-D, got shape {x.shape}")
        channels = TensorShape([None])
        if x.shape.rank is not None:
            channels = TensorShape([x.shape.dims[_channel_axis(op.attrs["data_format"], x.shape.rank)]])
        for what, t in (("scale", scale), ("offset", offset)):
            if t.shape.rank is not None and t.shape.rank != 1:
                raise ValueError(f"FusedBatchNormV3: {what} must be 1-D, got shape {t.shape}")
            if not t.shape.is_compatible_with(channels):
                raise ValueError(f"FusedBatchNormV3: {what} of shape {t.shape} does not match the {channels[0]} "
                                 f"channels of x {x.shape} ({op.attrs['data_format']})")
            channels = channels.merge_with(t.shape)
        if not op.attrs["is_training"]:
            for what, t in (("mean", mean), ("variance", variance)):
                if not t.shape.is_compatible_with(channels):
                    raise ValueError(f"FusedBatchNormV3: {what} of shape {t.shape} does not match the channels "
                                     f"{channels} of x in inference mode")
        stat = scale.dtype
        return [(x.dtype, x.shape), (stat, channels), (stat, channels), (stat, channels), (stat, channels),
                (stat, TensorShape([0]))]

    def kernel(self, xp, x, scale, offset, mean, variance, epsilon, exponential_avg_factor, data_format,
               is_training):
        axis = _channel_axis(data_format, x.ndim)
        if scale.shape != (x.shape[axis],) or offset.shape != (x.shape[axis],):
            raise ValueError(f"scale {scale.shape} and offset {offset.shape} must match the {x.shape[axis]} "
                             f"channels of x {x.shape}")
        reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
        shape = _stat_shape(x, axis)
        # statistics in at least float32, as TF's kernels accumulate float16 in float32
        xs = x.astype(np.promote_types(x.dtype, scale.dtype), copy=False)
        if is_training:
            m = xs.mean(axis=reduce_axes)
            v = xp.square(xs - m.reshape(shape)).mean(axis=reduce_axes)
            n = x.size // x.shape[axis]
            corrected = v * (n / max(n - 1, 1))
            f = exponential_avg_factor
            batch_mean, batch_var = m, corrected
            if f != 1.0:
                batch_mean = (1 - f) * mean + f * m
                batch_var = (1 - f) * variance + f * corrected
        else:
            m, v = mean, variance
            batch_mean, batch_var = mean, variance
        inv = scale / xp.sqrt(v + epsilon)
        y = (xs - m.reshape(shape)) * inv.reshape(shape) + offset.reshape(shape)
        stat = scale.dtype
        return (y.astype(x.dtype, copy=False), batch_mean.astype(stat, copy=False), batch_var.astype(stat, copy=False),
                m.astype(stat, copy=False), v.astype(stat, copy=False), xp.zeros((0,), stat))

    def grad(self, op, dy, *unused_statistic_grads):
        # As in TF, only y is differentiated: the statistic outputs feed moving averages, not the loss.
        x, scale = op.inputs[0], op.inputs[1]
        dx, dscale, doffset, _, _ = apply_op(
            "FusedBatchNormGradV3", [dy, x, scale, op.outputs[3], op.outputs[4], op.outputs[5]],
            {"epsilon": op.attrs["epsilon"], "data_format": op.attrs["data_format"],
             "is_training": op.attrs["is_training"]})
        return [dx, dscale, doffset, None, None]


@register_op
class FusedBatchNormGradV3(NNOp):
    """Gradients of FusedBatchNormV3's y. Inputs (dy, x, scale, reserve_space_1 = mean, reserve_space_2 = variance,
    reserve_space_3); outputs (dx, dscale, doffset, reserve_space_4, reserve_space_5).

    With x̂ = (x - mean) / sqrt(variance + epsilon): doffset = Σ dy, dscale = Σ dy x̂ and
    training: dx = scale / sqrt(variance + epsilon) · (dy - mean(dy) - x̂ · mean(dy x̂));
    inference (statistics are constants): dx = scale / sqrt(variance + epsilon) · dy.
    """

    op_type = "FusedBatchNormGradV3"
    attrs = {"T": None, "U": None, "epsilon": 0.0001, "data_format": "NHWC", "is_training": True}
    grad = None

    def infer(self, op):
        dy, x, scale = op.inputs[:3]
        channels = scale.shape
        return [(x.dtype, x.shape.merge_with(dy.shape)), (scale.dtype, channels), (scale.dtype, channels),
                (scale.dtype, TensorShape([0])), (scale.dtype, TensorShape([0]))]

    def kernel(self, xp, dy, x, scale, mean, variance, reserve, epsilon, data_format, is_training):
        axis = _channel_axis(data_format, x.ndim)
        reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
        shape = _stat_shape(x, axis)
        wide = np.promote_types(x.dtype, scale.dtype)
        dys, xs = dy.astype(wide, copy=False), x.astype(wide, copy=False)
        rstd = 1 / xp.sqrt(variance + epsilon)
        x_hat = (xs - mean.reshape(shape)) * rstd.reshape(shape)
        doffset = dys.sum(axis=reduce_axes)
        dscale = (dys * x_hat).sum(axis=reduce_axes)
        if is_training:
            n = x.size // x.shape[axis]
            centred = dys - (doffset / n).reshape(shape) - x_hat * (dscale / n).reshape(shape)
            dx = centred * (scale * rstd).reshape(shape)
        else:
            dx = dys * (scale * rstd).reshape(shape)
        empty = xp.zeros((0,), scale.dtype)
        return (dx.astype(x.dtype, copy=False), dscale.astype(scale.dtype, copy=False),
                doffset.astype(scale.dtype, copy=False), empty, empty.copy())


def fused_batch_norm(x: Any, scale: Any, offset: Any, mean: Any = None, variance: Any = None, epsilon: float = 0.001,
                     data_format: str = "NHWC", is_training: bool = True, name: Optional[str] = None,
                     exponential_avg_factor: float = 1.0) -> Tuple[Tensor, Tensor, Tensor]:
    """Batch normalisation of a 4-D/5-D `x` in one op (TF op FusedBatchNormV3, gradient FusedBatchNormGradV3).

    Args:
        x: input, NHWC or NCHW (NDHWC/NCDHW for 5-D).
        scale, offset: 1-D gamma and beta over channels.
        mean, variance: population statistics; required for inference (is_training=False) or when
            exponential_avg_factor != 1, otherwise unused.
        epsilon: added to the variance (raised to at least 1.001e-5, as TF's cuDNN constraint requires).
        data_format: channel layout.
        is_training: normalise with batch statistics (True) or the given `mean`/`variance` (False).
        name: op name.
        exponential_avg_factor: blend factor for the returned running statistics.

    Returns:
        (y, batch_mean, batch_variance); in training batch_variance is the unbiased (n - 1) estimate although y uses
        the biased one, as in TF. In inference the given mean and variance are returned.
    """
    graph = graph_of([x, scale, offset, mean, variance])
    x = convert_to_tensor(x, graph=graph)
    scale = convert_to_tensor(scale, graph=graph)
    offset = convert_to_tensor(offset, dtype=scale.dtype, graph=graph)
    if (not is_training or exponential_avg_factor != 1.0) and (mean is None or variance is None):
        raise ValueError("fused_batch_norm needs mean and variance when is_training is False or "
                         "exponential_avg_factor != 1.0")
    empty = np.zeros((0,), dtype=scale.dtype.numpy)
    mean = convert_to_tensor(empty if mean is None else mean, dtype=scale.dtype, graph=graph)
    variance = convert_to_tensor(empty if variance is None else variance, dtype=scale.dtype, graph=graph)
    epsilon = max(float(epsilon), 1.001e-5)
    outputs = apply_op("FusedBatchNormV3", [x, scale, offset, mean, variance],
                       {"epsilon": epsilon, "exponential_avg_factor": float(exponential_avg_factor),
                        "data_format": data_format, "is_training": bool(is_training)},
                       name=name or "FusedBatchNormV3")
    return outputs[0], outputs[1], outputs[2]


# ---------------------------------------------------------------------------------------------------------------------
# Local response normalisation
# ---------------------------------------------------------------------------------------------------------------------
def _window_sum(xp, a, radius: int):
    """Σ a[..., j] over |j - i| <= radius along the last axis, via a cumulative sum (O(depth) per row)."""
    depth = a.shape[-1]
    padded = xp.concatenate([xp.zeros(a.shape[:-1] + (1,), a.dtype), xp.cumsum(a, axis=-1)], axis=-1)
    hi = np.minimum(np.arange(depth) + radius + 1, depth)
    lo = np.maximum(np.arange(depth) - radius, 0)
    return padded[..., hi] - padded[..., lo]


@register_op
class LRN(NNOp):
    """y = x / (bias + alpha · Σ_{|j - i| <= depth_radius} x_j²)^beta over the last (depth) axis of a 4-D input."""

    op_type = "LRN"
    attrs = {"T": None, "depth_radius": 5, "bias": 1.0, "alpha": 1.0, "beta": 0.5}

    def infer(self, op):
        x = op.inputs[0]
        if x.dtype not in FLOATS:
            raise TypeError(f"LRN needs a floating input, got {x.dtype.name}")
        if x.shape.rank is not None and x.shape.rank != 4:
            raise ValueError(f"LRN needs a 4-D input, got shape {x.shape}")
        return [(x.dtype, x.shape)]

    def kernel(self, xp, x, depth_radius, bias, alpha, beta):
        norm = bias + alpha * _window_sum(xp, x * x, int(depth_radius))
        return (x * norm ** -beta).astype(x.dtype, copy=False)

    def grad(self, op, dy):
        attrs = {k: op.attrs[k] for k in ("depth_radius", "bias", "alpha", "beta")}
        return [apply_op("LRNGrad", [dy, op.inputs[0], op.outputs[0]], attrs)]


@register_op
class LRNGrad(NNOp):
    """dx_i = dy_i N_i^(-beta) - 2 alpha beta x_i Σ_{|j - i| <= r} dy_j y_j / N_j, with N = bias + alpha Σ x²."""

    op_type = "LRNGrad"
    attrs = {"T": None, "depth_radius": 5, "bias": 1.0, "alpha": 1.0, "beta": 0.5}
    grad = None

    def infer(self, op):
        return [(op.inputs[1].dtype, op.inputs[1].shape)]

    def kernel(self, xp, dy, x, y, depth_radius, bias, alpha, beta):
        radius = int(depth_radius)
        norm = bias + alpha * _window_sum(xp, x * x, radius)
        # y_j / N_j = x_j N_j^(-beta-1); the window is symmetric, so the same window sum gathers over j
        spread = _window_sum(xp, dy * y / norm, radius)
        return (dy * norm ** -beta - 2 * alpha * beta * x * spread).astype(x.dtype, copy=False)


def local_response_normalization(input: Any, depth_radius: int = 5, bias: float = 1.0, alpha: float = 1.0,
                                 beta: float = 0.5, name: Optional[str] = None) -> Tensor:
    """Local response normalisation over the last axis of a 4-D Tensor (TF op LRN, gradient LRNGrad).

    y[..., d] = input[..., d] / (bias + alpha · Σ_{d' = d - depth_radius}^{d + depth_radius} input[..., d']²)^beta.
    """
    return apply_op("LRN", [input], {"depth_radius": int(depth_radius), "bias": float(bias), "alpha": float(alpha),
                                     "beta": float(beta)}, name=name or "LRN")


lrn = local_response_normalization
