"""gf.losses: standard losses collected in the LOSSES collection.

Every loss computes per-element losses ℓ, weighs them (w broadcast to ℓ's shape) and reduces them as `reduction`
says; the default SUM_BY_NONZERO_WEIGHTS gives Σ w·ℓ / #{w ≠ 0} (0 when no weight is nonzero), as in TF1.
"""
from __future__ import annotations

from typing import Any, List, Optional

from ..framework import dtypes
from ..framework.convert import convert_to_tensor
from ..framework.graph import GraphKeys, get_default_graph
from ..framework.tensor import Tensor
from ..ops import array_ops, core_ops, math_ops, reduction_ops, select_ops

__all__ = ["Reduction", "compute_weighted_loss", "absolute_difference", "mean_squared_error", "huber_loss",
           "log_loss", "hinge_loss", "softmax_cross_entropy", "sparse_softmax_cross_entropy",
           "sigmoid_cross_entropy", "add_loss", "get_losses", "get_regularization_losses",
           "get_regularization_loss", "get_total_loss", "cosine_distance"]


class Reduction:
    """How compute_weighted_loss reduces weighted per-element losses."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_OVER_NONZERO_WEIGHTS,
                cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: str) -> None:
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key!r}; use one of {cls.all()}")


def _safe_divide(numerator: Tensor, denominator: Tensor) -> Tensor:
    # 0 / 0 → 0: a batch whose weights are all zero contributes no loss
    zero = core_ops.constant(0, dtype=denominator.dtype)
    is_zero = math_ops.equal(denominator, zero)
    safe = select_ops.where_v2(is_zero, core_ops.constant(1, dtype=denominator.dtype), denominator)
    return select_ops.where_v2(is_zero, core_ops.constant(0, dtype=numerator.dtype), numerator / safe)


def compute_weighted_loss(losses: Any, weights: Any = 1.0, scope: Optional[str] = None,
                          loss_collection: Optional[str] = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weighs per-element `losses` by `weights` (broadcast), reduces them, and adds the result to `loss_collection`.

    Args:
        losses: Tensor of per-element losses.
        weights: scalar or Tensor broadcastable to losses.
        reduction: a Reduction key: NONE (weighted losses), SUM (Σ wℓ), MEAN (Σ wℓ / Σ w), SUM_OVER_BATCH_SIZE
            (Σ wℓ / size of ℓ), SUM_BY_NONZERO_WEIGHTS (Σ wℓ / number of nonzero broadcast weights).

    Returns:
        The loss Tensor (scalar unless reduction is NONE).
    """
    Reduction.validate(reduction)
    losses = convert_to_tensor(losses)
    graph = losses.graph
    with graph.name_scope(scope or "weighted_loss"):
        weights = convert_to_tensor(weights, dtype=losses.dtype)
        weighted = math_ops.multiply(losses, weights)
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            total = reduction_ops.reduce_sum(weighted)
            if reduction == Reduction.SUM:
                loss = total
            else:
                broadcast_weights = math_ops.multiply(weights, array_ops.ones_like(losses))
                if reduction == Reduction.MEAN:
                    denominator = reduction_ops.reduce_sum(broadcast_weights)
                elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                    denominator = math_ops.cast(array_ops.size(losses), losses.dtype)
                else:
                    nonzero = math_ops.not_equal(broadcast_weights, core_ops.constant(0, dtype=losses.dtype))
                    denominator = reduction_ops.reduce_sum(math_ops.cast(nonzero, losses.dtype))
                loss = _safe_divide(total, denominator)
        loss = core_ops.identity(loss, name="value")
    if loss_collection is not None:
        graph.add_to_collection(loss_collection, loss)
    return loss


def _pair(labels: Any, predictions: Any, what: str):
    predictions = convert_to_tensor(predictions)
    labels = convert_to_tensor(labels, dtype=predictions.dtype)
    if not labels.shape.is_compatible_with(predictions.shape):
        raise ValueError(f"{what}: labels shape {labels.shape} is incompatible with predictions shape "
                         f"{predictions.shape}")
    return labels, predictions


def absolute_difference(labels: Any, predictions: Any, weights: Any = 1.0, scope: Optional[str] = None,
                        loss_collection: Optional[str] = GraphKeys.LOSSES,
                        reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """ℓ = |predictions - labels|, weighted and reduced (see compute_weighted_loss)."""
    labels, predictions = _pair(labels, predictions, "absolute_difference")
    with predictions.graph.name_scope(scope or "absolute_difference") as name:
        losses = math_ops.abs(predictions - labels)
        return compute_weighted_loss(losses, weights, name, loss_collection, reduction)


def mean_squared_error(labels: Any, predictions: Any, weights: Any = 1.0, scope: Optional[str] = None,
                       loss_collection: Optional[str] = GraphKeys.LOSSES,
                       reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """ℓ = (predictions - labels)², weighted and reduced."""
    labels, predictions = _pair(labels, predictions, "mean_squared_error")
    with predictions.graph.name_scope(scope or "mean_squared_error") as name:
        losses = math_ops.squared_difference(predictions, labels)
        return compute_weighted_loss(losses, weights, name, loss_collection, reduction)


def cosine_distance(labels: Any, predictions: Any, axis: Optional[int] = None, weights: Any = 1.0,
                    scope: Optional[str] = None, loss_collection: Optional[str] = GraphKeys.LOSSES,
                    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS, dim: Optional[int] = None) -> Tensor:
    """ℓ = 1 - Σ_axis labels · predictions, for labels and predictions already unit-normalised along `axis`."""
    if axis is None:
        axis = dim
    if axis is None:
        raise ValueError("cosine_distance: you must specify axis")
    labels, predictions = _pair(labels, predictions, "cosine_distance")
    with predictions.graph.name_scope(scope or "cosine_distance_loss") as name:
        losses = 1 - reduction_ops.reduce_sum(predictions * labels, axis, keepdims=True)
        return compute_weighted_loss(losses, weights, name, loss_collection, reduction)


def huber_loss(labels: Any, predictions: Any, weights: Any = 1.0, delta: float = 1.0, scope: Optional[str] = None,
               loss_collection: Optional[str] = GraphKeys.LOSSES,
               reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """ℓ = ½e² for |e| ≤ delta, delta·(|e| - ½delta) beyond, with e = predictions - labels."""
    labels, predictions = _pair(labels, predictions, "huber_loss")
    with predictions.graph.name_scope(scope or "huber_loss") as name:
        error = math_ops.abs(predictions - labels)
        delta_t = core_ops.constant(delta, dtype=error.dtype)
        quadratic = math_ops.minimum(error, delta_t)
        losses = 0.5 * quadratic * quadratic + delta_t * (error - quadratic)
        return compute_weighted_loss(losses, weights, name, loss_collection, reduction)


def log_loss(labels: Any, predictions: Any, weights: Any = 1.0, epsilon: float = 1e-7, scope: Optional[str] = None,
             loss_collection: Optional[str] = GraphKeys.LOSSES,
             reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """ℓ = -y log(p + ε) - (1 - y) log(1 - p + ε) for probabilities p."""
    labels, predictions = _pair(labels, predictions, "log_loss")
    with predictions.graph.name_scope(scope or "log_loss") as name:
        losses = (-labels * math_ops.log(predictions + epsilon)
                  - (1.0 - labels) * math_ops.log(1.0 - predictions + epsilon))
        return compute_weighted_loss(losses, weights, name, loss_collection, reduction)


def hinge_loss(labels: Any, logits: Any, weights: Any = 1.0, scope: Optional[str] = None,
               loss_collection: Optional[str] = GraphKeys.LOSSES,
               reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """ℓ = max(0, 1 - (2y - 1)·logits) for labels y in {0, 1}."""
    labels, logits = _pair(labels, logits, "hinge_loss")
    with logits.graph.name_scope(scope or "hinge_loss") as name:
        signs = 2.0 * labels - 1.0
        losses = math_ops.maximum(1.0 - signs * logits, core_ops.constant(0, dtype=logits.dtype))
        return compute_weighted_loss(losses, weights, name, loss_collection, reduction)


def softmax_cross_entropy(onehot_labels: Any, logits: Any, weights: Any = 1.0, label_smoothing: float = 0,
                          scope: Optional[str] = None, loss_collection: Optional[str] = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """ℓ_i = -Σ_c y_ic log softmax(logits_i)_c per row, with y smoothed to y(1 - s) + s / C when label_smoothing s > 0.

    Args:
        onehot_labels: [batch, C] target distributions.
        logits: [batch, C].
        weights: scalar or [batch].
    """
    from .. import nn
    onehot_labels, logits = _pair(onehot_labels, logits, "softmax_cross_entropy")
    with logits.graph.name_scope(scope or "softmax_cross_entropy_loss") as name:
        if label_smoothing > 0:
            num_classes = math_ops.cast(array_ops.shape(onehot_labels)[-1], logits.dtype)
            onehot_labels = onehot_labels * (1.0 - label_smoothing) + label_smoothing / num_classes
        losses = nn.softmax_cross_entropy_with_logits_v2(labels=core_ops.stop_gradient(onehot_labels), logits=logits,
                                                         name="xentropy")
        return compute_weighted_loss(losses, weights, name, loss_collection, reduction)


def sparse_softmax_cross_entropy(labels: Any, logits: Any, weights: Any = 1.0, scope: Optional[str] = None,
                                 loss_collection: Optional[str] = GraphKeys.LOSSES,
                                 reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """ℓ_i = -log softmax(logits_i)[labels_i] for integer class labels [batch]."""
    from .. import nn
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels)
    if not labels.dtype.is_integer:
        raise ValueError(f"sparse_softmax_cross_entropy: labels must be integers, got {labels.dtype.name}")
    with logits.graph.name_scope(scope or "sparse_softmax_cross_entropy_loss") as name:
        losses = nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, name, loss_collection, reduction)


def sigmoid_cross_entropy(multi_class_labels: Any, logits: Any, weights: Any = 1.0, label_smoothing: float = 0,
                          scope: Optional[str] = None, loss_collection: Optional[str] = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Elementwise ℓ = -z log σ(x) - (1 - z) log(1 - σ(x)), labels smoothed to z(1 - s) + s/2."""
    from .. import nn
    labels, logits = _pair(multi_class_labels, logits, "sigmoid_cross_entropy")
    with logits.graph.name_scope(scope or "sigmoid_cross_entropy_loss") as name:
        if label_smoothing > 0:
            labels = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing
        losses = nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits, name="logistic_loss")
        return compute_weighted_loss(losses, weights, name, loss_collection, reduction)


def add_loss(loss: Any, loss_collection: Optional[str] = GraphKeys.LOSSES) -> None:
    """Adds an externally computed loss to `loss_collection`."""
    if loss_collection is not None:
        loss = convert_to_tensor(loss)
        loss.graph.add_to_collection(loss_collection, loss)


def get_losses(scope: Optional[str] = None, loss_collection: str = GraphKeys.LOSSES) -> List[Tensor]:
    """The losses in `loss_collection` (names matching `scope` when given)."""
    return get_default_graph().get_collection(loss_collection, scope)


def get_regularization_losses(scope: Optional[str] = None) -> List[Tensor]:
    """The regularization losses (from get_variable's and the layers' regularizers)."""
    return get_default_graph().get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope: Optional[str] = None, name: str = "total_regularization_loss") -> Tensor:
    """The sum of the regularization losses, or a scalar 0.0 when there are none."""
    losses = get_regularization_losses(scope)
    if losses:
        return math_ops.add_n(losses, name=name)
    return core_ops.constant(0.0, dtype=dtypes.float32, name=name)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss",
                   scope: Optional[str] = None) -> Tensor:
    """The sum of the LOSSES collection, plus the regularization losses unless told otherwise.

    Raises:
        ValueError: there are no losses.
    """
    losses = get_losses(scope)
    if add_regularization_losses:
        losses += get_regularization_losses(scope)
    if not losses:
        raise ValueError("No losses to sum: add losses with gf.losses.* or gf.losses.add_loss first")
    return math_ops.add_n(losses, name=name)
