"""Cross-entropy losses from logits, numerically stable for large logits: softmax, sparse, sigmoid, weighted."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..framework import dtypes, errors
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.registry import register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor
from . import array_ops, math_ops
from .builder import FLOATS, apply_op
from .core_ops import stop_gradient

from .nn_ops import NNOp, _axis_perm, relu

__all__ = ["softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
           "sparse_softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits",
           "weighted_cross_entropy_with_logits"]


# ---------------------------------------------------------------------------------------------------------------------
# Cross-entropy losses
# ---------------------------------------------------------------------------------------------------------------------
def _expand_last(t: Tensor, like: Tensor) -> Tensor:
    """`t` (shaped like `like` without its last axis) reshaped to broadcast against `like`: a trailing axis of 1."""
    if like.shape.is_fully_defined():
        return array_ops.reshape(t, like.shape.as_list()[:-1] + [1])
    last = convert_to_tensor(np.array([-1], dtype=np.int32), graph=like.graph)
    return array_ops.reshape(t, apply_op("ReducedShape", [array_ops.shape(like), last]))


def _second_order_term(logits: Tensor, grad_backprop: Tensor) -> Optional[Tensor]:
    """Gradient through the backprop output (softmax - labels) w.r.t. logits; None when nothing flows into it."""
    if grad_backprop.op.type == "ZerosLike":
        return None
    probs = apply_op("Softmax", [logits])
    return (grad_backprop - math_ops.reduce_sum(grad_backprop * probs, -1, keepdims=True)) * probs


def _log_probs(xp, logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


@register_op
class SoftmaxCrossEntropyWithLogits(NNOp):
    """loss = -sum(labels * log_softmax(features)) over the last axis; backprop = softmax(features) - labels.

    Inputs (features, labels) of one shape; any rank >= 1 (TF's kernel takes rank 2), the class axis last.
    """

    op_type = "SoftmaxCrossEntropyWithLogits"
    attrs = {"T": None}

    def infer(self, op):
        logits, labels = op.inputs
        if logits.dtype not in FLOATS or labels.dtype != logits.dtype:
            raise TypeError(f"{op.type}: logits and labels must share a floating dtype, got {logits.dtype.name} "
                            f"and {labels.dtype.name}")
        if not logits.shape.is_compatible_with(labels.shape):
            raise ValueError(f"{op.type}: logits and labels must have the same shape, got logits {logits.shape} "
                             f"and labels {labels.shape}")
        shape = logits.shape.merge_with(labels.shape)
        if shape.rank == 0:
            raise ValueError(f"{op.type}: logits must have rank >= 1, got a scalar")
        loss_shape = TensorShape(shape.dims[:-1]) if shape.rank is not None else TensorShape(None)
        return [(logits.dtype, loss_shape), (logits.dtype, shape)]

    def kernel(self, xp, logits, labels):
        if logits.shape != labels.shape:
            raise ValueError(f"logits and labels must have the same shape, got {logits.shape} and {labels.shape}")
        log_p = _log_probs(xp, logits)
        return -(labels * log_p).sum(axis=-1), xp.exp(log_p) - labels

    def grad(self, op, grad_loss, grad_backprop):
        logits = op.inputs[0]
        g = _expand_last(grad_loss, logits)
        grad_logits = g * op.outputs[1]
        grad_labels = -g * apply_op("LogSoftmax", [logits])
        extra = _second_order_term(logits, grad_backprop)
        if extra is not None:
            grad_logits = grad_logits + extra
            grad_labels = grad_labels - grad_backprop  # backprop = softmax - labels
        return [grad_logits, grad_labels]


@register_op
class SparseSoftmaxCrossEntropyWithLogits(NNOp):
    """loss = -log_softmax(features)[label] over the last axis; backprop = softmax(features) - one_hot(label).

    Inputs: features [..., classes] floating, labels [...] int32/int64 in [0, classes) (checked at run time).
    """

    op_type = "SparseSoftmaxCrossEntropyWithLogits"
    attrs = {"T": None, "Tlabels": None}

    def infer(self, op):
        logits, labels = op.inputs
        if logits.dtype not in FLOATS:
            raise TypeError(f"{op.type}: logits must be floating, got {logits.dtype.name}")
        if labels.dtype not in (dtypes.int32, dtypes.int64):
            raise TypeError(f"{op.type}: labels must be int32 or int64, got {labels.dtype.name}")
        shape = logits.shape
        if shape.rank == 0:
            raise ValueError(f"{op.type}: logits must have rank >= 1, got a scalar")
        if shape.rank is not None and labels.shape.rank is not None:
            if labels.shape.rank != shape.rank - 1 or not labels.shape.is_compatible_with(TensorShape(shape.dims[:-1])):
                raise ValueError(f"{op.type}: the shape of labels ({labels.shape}) must equal the shape of logits "
                                 f"({shape}) without its last dimension")
        loss_shape = TensorShape(shape.dims[:-1]).merge_with(labels.shape) if shape.rank is not None else labels.shape
        return [(logits.dtype, loss_shape), (logits.dtype, shape)]

    def make_kernel(self, op, ctx):
        xp = ctx.xp

        def sparse_xent(logits, labels):
            classes = logits.shape[-1]
            if labels.shape != logits.shape[:-1]:
                raise ValueError(f"labels shape {labels.shape} must equal logits shape {logits.shape} without its "
                                 "last dimension")
            bad = (labels < 0) | (labels >= classes)
            if labels.size and bool(bad.any()):
                value = int(labels[bad].reshape(-1)[0])
                raise errors.InvalidArgumentError(
                    None, op, f"Received a label value of {value} which is outside the valid range of "
                              f"[0, {classes}) (logits shape {tuple(logits.shape)})")
            log_p = _log_probs(xp, logits)
            one_hot = labels[..., None] == xp.arange(classes, dtype=labels.dtype)
            loss = -xp.where(one_hot, log_p, xp.zeros((), log_p.dtype)).sum(axis=-1)
            return loss, xp.exp(log_p) - one_hot.astype(logits.dtype)
        return sparse_xent

    def grad(self, op, grad_loss, grad_backprop):
        logits = op.inputs[0]
        grad_logits = _expand_last(grad_loss, logits) * op.outputs[1]
        extra = _second_order_term(logits, grad_backprop)
        return [grad_logits if extra is None else grad_logits + extra, None]


def _check_named(sentinel: Any, fn: str) -> None:
    if sentinel is not None:
        raise ValueError(f"Only call `{fn}` with named arguments (labels=..., logits=..., ...)")


def _move_axis_last(t: Tensor, axis: int, what: str) -> Tensor:
    perm = _axis_perm(t, axis, False, what)
    return t if perm is None else array_ops.transpose(t, perm)


def softmax_cross_entropy_with_logits_v2(labels: Any, logits: Any, axis: Optional[int] = None,
                                         name: Optional[str] = None, dim: Optional[int] = None) -> Tensor:
    """Cross entropy between `labels` (a distribution per row) and softmax(`logits`), computed stably.

    loss = -sum_i labels_i * log_softmax(logits)_i along `axis`. Gradients flow into both logits and labels.

    Args:
        labels: Tensor of the shape and dtype of `logits`; each slice along `axis` a probability distribution.
        logits: unscaled log-probabilities.
        axis: the class axis (default last; `dim` is TF1's alias).
        name: op name.

    Returns:
        The loss, with `logits`' shape minus the class axis.
    """
    axis = -1 if axis is None and dim is None else (axis if axis is not None else dim)
    graph = graph_of([labels, logits])
    logits = convert_to_tensor(logits, graph=graph)
    labels = convert_to_tensor(labels, dtype=logits.dtype, graph=graph)
    if not logits.shape.is_compatible_with(labels.shape):
        raise ValueError(f"softmax_cross_entropy_with_logits: logits and labels must have the same shape, got "
                         f"logits {logits.shape} and labels {labels.shape}")
    what = "softmax_cross_entropy_with_logits"
    loss, _ = apply_op("SoftmaxCrossEntropyWithLogits", [_move_axis_last(logits, axis, what),
                                                         _move_axis_last(labels, axis, what)],
                       name=name or "SoftmaxCrossEntropyWithLogits")
    return loss


def softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None, dim: int = -1,
                                      name: Optional[str] = None, axis: Optional[int] = None) -> Tensor:
    """TF1's softmax cross entropy: as the _v2 version, but no gradient flows into `labels` (they are constants)."""
    _check_named(_sentinel, "softmax_cross_entropy_with_logits")
    labels = stop_gradient(convert_to_tensor(labels, graph=graph_of([labels, logits])))
    return softmax_cross_entropy_with_logits_v2(labels, logits, axis=axis if axis is not None else dim, name=name)


def sparse_softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                             name: Optional[str] = None) -> Tensor:
    """Cross entropy of softmax(`logits`) against integer class `labels`: -log_softmax(logits)[label].

    Args:
        labels: int32/int64 Tensor shaped like `logits` without its last axis, values in [0, classes); a value out
            of range raises InvalidArgumentError when run.
        logits: floating Tensor [..., classes].
        name: op name.

    Returns:
        The loss, shaped like `labels`.
    """
    _check_named(_sentinel, "sparse_softmax_cross_entropy_with_logits")
    graph = graph_of([labels, logits])
    logits = convert_to_tensor(logits, graph=graph)
    labels = convert_to_tensor(labels, graph=graph)
    if logits.shape.rank is not None and labels.shape.rank is not None and (
            labels.shape.rank != logits.shape.rank - 1
            or not labels.shape.is_compatible_with(TensorShape(logits.shape.dims[:-1]))):
        raise ValueError(f"Shape mismatch: the shape of labels (received {labels.shape}) should equal the shape of "
                         f"logits except for the last dimension (received {logits.shape}).")
    loss, _ = apply_op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels],
                       name=name or "SparseSoftmaxCrossEntropyWithLogits")
    return loss


def _same_shape_pair(labels: Any, logits: Any, fn: str):
    graph = graph_of([labels, logits])
    logits = convert_to_tensor(logits, graph=graph)
    labels = convert_to_tensor(labels, dtype=logits.dtype, graph=graph)
    if not logits.shape.is_compatible_with(labels.shape):
        raise ValueError(f"{fn}: logits and labels must have the same shape ({logits.shape} vs {labels.shape})")
    return labels, logits


def sigmoid_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                      name: Optional[str] = None) -> Tensor:
    """Elementwise logistic loss -z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)) for labels z and logits x.

    Computed as max(x, 0) - x z + log(1 + exp(-|x|)), which neither overflows nor loses precision for large |x|.

    Returns:
        A Tensor shaped like `logits`.
    """
    _check_named(_sentinel, "sigmoid_cross_entropy_with_logits")
    labels, logits = _same_shape_pair(labels, logits, "sigmoid_cross_entropy_with_logits")
    with logits.graph.name_scope(name or "logistic_loss"):
        return relu(logits) - logits * labels + math_ops.log1p(math_ops.exp(-math_ops.abs(logits)))


def weighted_cross_entropy_with_logits(labels: Any = None, logits: Any = None, pos_weight: Any = None,
                                       name: Optional[str] = None, targets: Any = None) -> Tensor:
    """Logistic loss with positive examples weighted by `pos_weight`: -q z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)).

    Computed stably as (1 - z) x + (1 + (q - 1) z) (log(1 + exp(-|x|)) + max(-x, 0)).

    Args:
        labels: Tensor like `logits` (TF1's `targets` is accepted as an alias).
        logits: floating Tensor.
        pos_weight: coefficient q on the positive term.
        name: name scope.

    Returns:
        A Tensor shaped like `logits`.
    """
    labels = targets if labels is None else labels
    if labels is None or logits is None or pos_weight is None:
        raise ValueError("weighted_cross_entropy_with_logits needs labels, logits and pos_weight")
    labels, logits = _same_shape_pair(labels, logits, "weighted_cross_entropy_with_logits")
    with logits.graph.name_scope(name or "logistic_loss"):
        pos_weight = convert_to_tensor(pos_weight, dtype=logits.dtype, graph=logits.graph)
        log_weight = 1 + (pos_weight - 1) * labels
        softplus_neg = math_ops.log1p(math_ops.exp(-math_ops.abs(logits))) + relu(-logits)
        return (1 - labels) * logits + log_weight * softplus_neg
