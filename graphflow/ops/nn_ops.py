"""Neural-network activations, softmax, bias_add, l2_loss and the cross-entropy losses of gf.nn."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor
from . import array_ops, math_ops
from .math_ops import stable_sigmoid
from .builder import FLOATS, NUMERIC, apply_op

__all__ = ["relu", "relu6", "leaky_relu", "elu", "selu", "softplus", "softsign", "softmax", "log_softmax",
           "bias_add", "l2_loss", "xw_plus_b", "zero_fraction", "l2_normalize"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class NNOp(OpDef):
    """OpDef whose kernel receives only the attrs that change the computation, not dtype attrs (T, Tlabels, U…)."""

    type_attrs = ("T", "Tlabels", "U", "Tidx", "Tindices", "Tparams")

    def make_kernel(self, op, ctx):
        kernel, xp = self.kernel, ctx.xp
        attrs = {k: v for k, v in op.attrs.items() if k not in self.type_attrs and not k.startswith("_")}
        return lambda *arrays: kernel(xp, *arrays, **attrs)


# ---------------------------------------------------------------------------------------------------------------------
# Activations: each forward op has a dedicated gradient op taking (dy, saved value), as TF's ReluGrad/EluGrad/…
# ---------------------------------------------------------------------------------------------------------------------
class _Activation(NNOp):
    """y = f(x) elementwise on floating tensors; the gradient is the op `grad_op_type`(dy, x or y)."""

    attrs = {"T": None}
    allowed = FLOATS
    grad_op_type = ""
    grad_uses_output = False  # whether the gradient op reads y instead of x

    def infer(self, op):
        x = op.inputs[0]
        if x.dtype not in self.allowed:
            raise TypeError(f"{op.type} does not support dtype {x.dtype.name} (input {x.name})")
        return [(x.dtype, x.shape)]

    def grad(self, op, dy):
        saved = op.outputs[0] if self.grad_uses_output else op.inputs[0]
        attrs = {k: v for k, v in op.attrs.items() if k == "alpha"}
        return [apply_op(self.grad_op_type, [dy, saved], attrs, name=self.grad_op_type)]


class _ActivationGrad(NNOp):
    """dx = g(dy, saved): the derivative of an activation applied to the incoming gradient."""

    attrs = {"T": None}

    def infer(self, op):
        dy, saved = op.inputs
        if dy.dtype != saved.dtype:
            raise TypeError(f"{op.type}: gradient is {dy.dtype.name} but the saved value is {saved.dtype.name}")
        return [(dy.dtype, dy.shape.merge_with(saved.shape))]


@register_op
class Relu(_Activation):
    """y = max(x, 0)."""

    op_type = "Relu"
    allowed = NUMERIC
    grad_op_type = "ReluGrad"
    # As TF: y > 0 exactly where x > 0, and reading y lets x die after the forward pass (and a bias add before the
    # Relu fuse into the op that feeds it, see ops.fusion).
    grad_uses_output = True
    fresh_output = True

    def make_kernel(self, op, ctx):
        maximum = ctx.xp.maximum
        return lambda x: maximum(x, x.dtype.type(0))

    def make_inplace_kernel(self, op, ctx):
        maximum = ctx.xp.maximum
        return lambda x: maximum(x, x.dtype.type(0), out=x)


@register_op
class ReluGrad(_ActivationGrad):
    """dx = dy where x > 0, else 0."""

    op_type = "ReluGrad"
    fresh_output = True
    same_shape_inputs = True  # dy and x never broadcast

    def kernel(self, xp, dy, x):
        # dy times the 0/1 mask, exactly as TF computes it (and several times faster than xp.where here)
        return xp.multiply(dy, x > 0, dtype=dy.dtype)

    def make_inplace_kernel(self, op, ctx):
        multiply = ctx.xp.multiply
        return lambda dy, x: multiply(dy, x > 0, out=dy)

    def grad(self, op, ddx):
        return [apply_op("ReluGrad", [ddx, op.inputs[1]]), None]


@register_op
class Relu6(_Activation):
    """y = min(max(x, 0), 6)."""

    op_type = "Relu6"
    allowed = NUMERIC
    grad_op_type = "Relu6Grad"

    def kernel(self, xp, x):
        return xp.clip(x, 0, 6).astype(x.dtype, copy=False)


@register_op
class Relu6Grad(_ActivationGrad):
    """dx = dy where 0 < x < 6, else 0."""

    op_type = "Relu6Grad"

    def kernel(self, xp, dy, x):
        return xp.multiply(dy, (x > 0) & (x < 6), dtype=dy.dtype)

    def grad(self, op, ddx):
        return [apply_op("Relu6Grad", [ddx, op.inputs[1]]), None]


@register_op
class LeakyRelu(_Activation):
    """y = x where x > 0, else alpha * x."""

    op_type = "LeakyRelu"
    attrs = {"T": None, "alpha": 0.2}
    grad_op_type = "LeakyReluGrad"

    def kernel(self, xp, x, alpha):
        return xp.where(x > 0, x, x * x.dtype.type(alpha))


@register_op
class LeakyReluGrad(_ActivationGrad):
    """dx = dy where x > 0, else alpha * dy."""

    op_type = "LeakyReluGrad"
    attrs = {"T": None, "alpha": 0.2}

    def kernel(self, xp, dy, x, alpha):
        return xp.where(x > 0, dy, dy * dy.dtype.type(alpha))

    def grad(self, op, ddx):
        return [apply_op("LeakyReluGrad", [ddx, op.inputs[1]], {"alpha": op.attrs["alpha"]}), None]


@register_op
class Elu(_Activation):
    """y = x where x > 0, else exp(x) - 1."""

    op_type = "Elu"
    grad_op_type = "EluGrad"
    grad_uses_output = True

    def kernel(self, xp, x):
        return xp.where(x > 0, x, xp.expm1(xp.minimum(x, 0)))


@register_op
class EluGrad(_ActivationGrad):
    """dx = dy where y > 0, else dy * (y + 1)   (y = elu(x), so y + 1 = exp(x) there)."""

    op_type = "EluGrad"
    grad = None

    def kernel(self, xp, dy, y):
        return xp.where(y > 0, dy, dy * (y + 1))


@register_op
class Selu(_Activation):
    """y = scale * x where x > 0, else scale * alpha * (exp(x) - 1), with TF's fixed scale and alpha."""

    op_type = "Selu"
    grad_op_type = "SeluGrad"
    grad_uses_output = True

    def kernel(self, xp, x):
        t = x.dtype.type
        return xp.where(x > 0, t(_SELU_SCALE) * x, t(_SELU_SCALE * _SELU_ALPHA) * xp.expm1(xp.minimum(x, 0)))


@register_op
class SeluGrad(_ActivationGrad):
    """dx = scale * dy where y > 0, else dy * (y + scale * alpha)."""

    op_type = "SeluGrad"
    grad = None

    def kernel(self, xp, dy, y):
        t = dy.dtype.type
        return xp.where(y > 0, dy * t(_SELU_SCALE), dy * (y + t(_SELU_SCALE * _SELU_ALPHA)))


@register_op
class Softplus(_Activation):
    """y = log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) so large |x| neither overflows nor loses bits."""

    op_type = "Softplus"
    grad_op_type = "SoftplusGrad"

    def kernel(self, xp, x):
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


@register_op
class SoftplusGrad(_ActivationGrad):
    """dx = dy * sigmoid(x)."""

    op_type = "SoftplusGrad"
    grad = None

    def kernel(self, xp, dy, x):
        return dy * stable_sigmoid(xp, x)


@register_op
class Softsign(_Activation):
    """y = x / (1 + |x|)."""

    op_type = "Softsign"
    grad_op_type = "SoftsignGrad"

    def kernel(self, xp, x):
        return x / (1 + xp.abs(x))


@register_op
class SoftsignGrad(_ActivationGrad):
    """dx = dy / (1 + |x|)²."""

    op_type = "SoftsignGrad"
    grad = None

    def kernel(self, xp, dy, x):
        return dy / xp.square(1 + xp.abs(x))


def _activation_builder(op_type: str, doc: str):
    def builder(features: Any, name: Optional[str] = None) -> Tensor:
        return apply_op(op_type, [features], name=name or op_type)
    builder.__name__ = op_type.lower()
    builder.__doc__ = f"{doc}\n\n    Args:\n        features: a floating Tensor.\n        name: op name.\n\n" \
                      f"    Returns:\n        A Tensor of the same shape and dtype (TF op {op_type})."
    return builder


relu = _activation_builder("Relu", "Rectified linear unit: max(features, 0).")
relu6 = _activation_builder("Relu6", "min(max(features, 0), 6).")
elu = _activation_builder("Elu", "Exponential linear unit: features where > 0, else exp(features) - 1.")
selu = _activation_builder("Selu", "Scaled exponential linear unit (Klambauer et al.): scale * elu-like with alpha.")
softplus = _activation_builder("Softplus", "log(exp(features) + 1), numerically stable.")
softsign = _activation_builder("Softsign", "features / (abs(features) + 1).")


def leaky_relu(features: Any, alpha: float = 0.2, name: Optional[str] = None) -> Tensor:
    """Leaky ReLU: features where features > 0, else alpha * features (TF op LeakyRelu).

    Args:
        features: a floating Tensor.
        alpha: slope for negative inputs (a Python number, stored as the op's attr).
        name: op name.

    Returns:
        A Tensor of the same shape and dtype.
    """
    return apply_op("LeakyRelu", [features], {"alpha": float(alpha)}, name=name or "LeakyRelu")


# ---------------------------------------------------------------------------------------------------------------------
# Softmax and log-softmax along the last axis
# ---------------------------------------------------------------------------------------------------------------------
class _LastAxisOp(NNOp):
    """Floating op over the last axis that keeps the input's shape."""

    attrs = {"T": None}

    def infer(self, op):
        x = op.inputs[0]
        if x.dtype not in FLOATS:
            raise TypeError(f"{op.type} needs a floating input, got {x.dtype.name} ({x.name})")
        if x.shape.rank == 0:
            raise ValueError(f"{op.type} needs an input of rank >= 1, got a scalar ({x.name})")
        return [(x.dtype, x.shape)]


@register_op
class Softmax(_LastAxisOp):
    """y = exp(x - max(x)) / sum(exp(x - max(x))) over the last axis; subtracting the max keeps exp from overflowing."""

    op_type = "Softmax"

    def kernel(self, xp, x):
        e = xp.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def grad(self, op, dy):
        y = op.outputs[0]
        return [(dy - math_ops.reduce_sum(dy * y, -1, keepdims=True)) * y]


@register_op
class LogSoftmax(_LastAxisOp):
    """y = x - max(x) - log(sum(exp(x - max(x)))) over the last axis."""

    op_type = "LogSoftmax"

    def kernel(self, xp, x):
        shifted = x - x.max(axis=-1, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))

    def grad(self, op, dy):
        y = op.outputs[0]
        return [dy - math_ops.exp(y) * math_ops.reduce_sum(dy, -1, keepdims=True)]


def _dynamic_perm(x: Tensor, axis: int, swap: bool) -> Tensor:
    """A permutation (built at run time, for unknown rank) moving `axis` last: a swap, or a rotation of the tail."""
    rank = array_ops.rank(x)
    i = array_ops.range(0, rank)
    a = math_ops.floormod(convert_to_tensor(np.int32(axis), graph=x.graph), rank)
    last = rank - 1
    is_last = math_ops.cast(math_ops.equal(i, last), dtypes.int32)
    if swap:
        is_axis = math_ops.cast(math_ops.equal(i, a), dtypes.int32)
        return i + is_axis * (last - a) + is_last * (a - last)
    shifted = i + math_ops.cast(math_ops.greater_equal(i, a), dtypes.int32)
    return shifted + is_last * (a - last - 1)


def _axis_perm(x: Tensor, axis: int, swap: bool, what: str):
    """None when `axis` is already last, else the permutation moving it last (a list when the rank is known)."""
    rank = x.shape.rank
    if axis == -1 or (rank is not None and axis == rank - 1):
        return None
    if rank is None:
        return _dynamic_perm(x, axis, swap)
    if not -rank <= axis < rank:
        raise ValueError(f"{what}: axis {axis} is out of range for {x.name} of rank {rank}")
    axis %= rank
    if swap:
        perm = list(range(rank))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        return perm
    return [i for i in range(rank) if i != axis] + [axis]


def _along_last_axis(fn, x: Tensor, axis: int, what: str) -> Tensor:
    """Applies a last-axis op along `axis` by swapping that axis with the last one and back (a swap is self-inverse)."""
    perm = _axis_perm(x, axis, True, what)
    if perm is None:
        return fn(x)
    return array_ops.transpose(fn(array_ops.transpose(x, perm)), perm)


def softmax(logits: Any, axis: int = -1, name: Optional[str] = None, dim: Optional[int] = None) -> Tensor:
    """Softmax along `axis`: exp(x_i) / sum_j exp(x_j), computed after subtracting the max (TF op Softmax).

    Args:
        logits: a floating Tensor.
        axis: the axis to normalise (TF1's `dim` is accepted as an alias).
        name: op name.

    Returns:
        A Tensor like `logits` whose slices along `axis` sum to 1.
    """
    axis = dim if dim is not None else axis
    x = convert_to_tensor(logits)
    return _along_last_axis(lambda t: apply_op("Softmax", [t], name=name or "Softmax"), x, axis, "softmax")


def log_softmax(logits: Any, axis: int = -1, name: Optional[str] = None, dim: Optional[int] = None) -> Tensor:
    """log(softmax(logits)) along `axis`, computed stably as x - max - log(sum(exp(x - max))) (TF op LogSoftmax)."""
    axis = dim if dim is not None else axis
    x = convert_to_tensor(logits)
    return _along_last_axis(lambda t: apply_op("LogSoftmax", [t], name=name or "LogSoftmax"), x, axis, "log_softmax")


# ---------------------------------------------------------------------------------------------------------------------
# bias_add and l2_loss
# ---------------------------------------------------------------------------------------------------------------------
def _channel_axis(data_format: str, rank: int) -> int:
    """Index of the channel dimension: 1 for NC… layouts (rank >= 3), else the last."""
    if data_format not in ("NHWC", "NCHW", "NDHWC", "NCDHW", "NWC", "NCW"):
        raise ValueError(f"data_format must be NHWC or NCHW (or their 1-D/3-D variants), got {data_format!r}")
    return 1 if data_format.startswith("NC") and rank >= 3 else rank - 1


def _bias_along_channels(value: Any, bias: Any, data_format: str) -> Any:
    """`bias` reshaped to broadcast along `value`'s channel axis, after checking that their sizes match."""
    axis = _channel_axis(data_format, value.ndim)
    if value.shape[axis] != bias.shape[0]:
        raise ValueError(f"bias of shape {bias.shape} does not match channel dimension {value.shape[axis]} of "
                         f"value shape {value.shape}")
    shape = [1] * value.ndim
    shape[axis] = bias.shape[0]
    return bias.reshape(shape)


@register_op
class BiasAdd(NNOp):
    """y = value + bias, with the rank-1 bias added along the channel dimension (last for NHWC, 1 for NCHW)."""

    op_type = "BiasAdd"
    attrs = {"T": None, "data_format": "NHWC"}

    def infer(self, op):
        value, bias = op.inputs
        if value.dtype != bias.dtype:
            raise TypeError(f"BiasAdd: value is {value.dtype.name} but bias is {bias.dtype.name}")
        if bias.shape.rank is not None and bias.shape.rank != 1:
            raise ValueError(f"BiasAdd: bias must be rank 1, got shape {bias.shape}")
        rank = value.shape.rank
        if rank is not None:
            if rank < 2:
                raise ValueError(f"BiasAdd: value must have rank >= 2, got shape {value.shape}")
            channels = value.shape.dims[_channel_axis(op.attrs["data_format"], rank)]
            size = bias.shape.dims[0] if bias.shape.rank == 1 else None
            if channels is not None and size is not None and channels != size:
                raise ValueError(f"BiasAdd: bias of shape {bias.shape} does not match the channel dimension "
                                 f"({channels}) of value shape {value.shape} with data_format "
                                 f"{op.attrs['data_format']}")
        return [(value.dtype, value.shape)]

    fresh_output = True

    def kernel(self, xp, value, bias, data_format):
        return value + _bias_along_channels(value, bias, data_format)

    def make_inplace_kernel(self, op, ctx):
        add, data_format = ctx.xp.add, op.attrs["data_format"]
        return lambda value, bias: add(value, _bias_along_channels(value, bias, data_format), out=value)

    def grad(self, op, dy):
        return [dy, apply_op("BiasAddGrad", [dy], {"data_format": op.attrs["data_format"]})]


@register_op
class BiasAddGrad(NNOp):
    """db = sum of dy over every dimension except the channel one."""

    op_type = "BiasAddGrad"
    attrs = {"T": None, "data_format": "NHWC"}

    def infer(self, op):
        dy = op.inputs[0]
        if dy.shape.rank is None:
            return [(dy.dtype, TensorShape([None]))]
        return [(dy.dtype, TensorShape([dy.shape.dims[_channel_axis(op.attrs["data_format"], dy.shape.rank)]]))]

    def kernel(self, xp, dy, data_format):
        axis = _channel_axis(data_format, dy.ndim)
        return dy.sum(axis=tuple(i for i in range(dy.ndim) if i != axis))

    def grad(self, op, ddb):
        dy = op.inputs[0]
        # d(sum over non-channel axes)/d dy broadcasts ddb back along those axes
        return [apply_op("BiasAdd", [array_ops.zeros_like(dy), ddb], {"data_format": op.attrs["data_format"]})]


def bias_add(value: Any, bias: Any, data_format: Optional[str] = None, name: Optional[str] = None) -> Tensor:
    """Adds a rank-1 `bias` along the channel dimension of `value` (TF op BiasAdd).

    Args:
        value: a Tensor of rank >= 2.
        bias: a rank-1 Tensor whose size is value's channel dimension.
        data_format: "NHWC" (channels last, default) or "NCHW" (channels at dimension 1).
        name: op name.

    Returns:
        value + bias broadcast along the channel dimension.
    """
    graph = graph_of([value, bias])
    value = convert_to_tensor(value, graph=graph)
    bias = convert_to_tensor(bias, dtype=value.dtype, graph=graph)
    return apply_op("BiasAdd", [value, bias], {"data_format": data_format or "NHWC"}, name=name or "BiasAdd")


@register_op
class L2Loss(NNOp):
    """y = sum(x²) / 2, a scalar."""

    op_type = "L2Loss"
    attrs = {"T": None}

    def infer(self, op):
        x = op.inputs[0]
        if x.dtype not in FLOATS:
            raise TypeError(f"L2Loss needs a floating input, got {x.dtype.name} ({x.name})")
        return [(x.dtype, TensorShape([]))]

    def kernel(self, xp, x):
        return xp.asarray((x * x).sum() / 2, dtype=x.dtype)

    def grad(self, op, dy):
        return [op.inputs[0] * dy]


def l2_loss(t: Any, name: Optional[str] = None) -> Tensor:
    """Half the squared L2 norm: sum(t²) / 2, without the square root (TF op L2Loss)."""
    return apply_op("L2Loss", [t], name=name or "L2Loss")


def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: Optional[str] = None,
                 dim: Any = None) -> Tensor:
    """x / ||x||₂ along `axis`, as TF: x * rsqrt(max(sum(x², axis, keepdims), epsilon)).

    Args:
        x: a float tensor.
        axis: dimension(s) to normalise along (None: all); `dim` is TF1's deprecated alias.
        epsilon: lower bound on the squared norm, so zero vectors stay finite.
        name: name scope.
    """
    from .math_ops import maximum, rsqrt
    from .reduction_ops import reduce_sum
    axis = dim if axis is None else axis
    x = convert_to_tensor(x)
    with x.graph.name_scope(name or "l2_normalize"):
        squared = reduce_sum(x * x, axis, keepdims=True)
        return x * rsqrt(maximum(squared, convert_to_tensor(epsilon, dtype=x.dtype, graph=x.graph)))


def xw_plus_b(x: Any, weights: Any, biases: Any, name: Optional[str] = None) -> Tensor:
    """matmul(x, weights) + biases, as TF1's tf.nn.xw_plus_b (MatMul then BiasAdd)."""
    x = convert_to_tensor(x)
    with x.graph.name_scope(name or "xw_plus_b"):
        return bias_add(math_ops.matmul(x, weights), biases)


def zero_fraction(value: Any, name: Optional[str] = None) -> Tensor:
    """The fraction of zeros in `value` (a float32 scalar), e.g. to watch ReLU sparsity."""
    x = convert_to_tensor(value)
    with x.graph.name_scope(name or "zero_fraction"):
        zero = np.zeros((), dtype=x.dtype.numpy)
        return math_ops.reduce_mean(math_ops.cast(math_ops.equal(x, zero), dtypes.float32))
