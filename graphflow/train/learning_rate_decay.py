"""Learning-rate schedules (TF1's tf.train.*_decay): graph ops computing the rate from the global step."""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from ..framework import dtypes
from ..framework.convert import convert_to_tensor
from ..framework.graph import get_default_graph
from ..framework.tensor import Tensor
from ..ops import core_ops, math_ops

__all__ = ["exponential_decay", "piecewise_constant", "polynomial_decay", "natural_exp_decay", "inverse_time_decay",
           "cosine_decay"]


def _require_step(global_step: Any, what: str) -> None:
    if global_step is None:
        raise ValueError(f"global_step is required for {what}.")


def _as_float(value: Any, dtype: Any = None) -> Tensor:
    """`value` as a float Tensor: numbers take `dtype` (default float32), integer Tensors are cast to it."""
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        tensor = convert_to_tensor(value)
        target = dtype or (tensor.dtype if tensor.dtype.is_floating else dtypes.float32)
        return tensor if tensor.dtype == target else math_ops.cast(tensor, target)
    return core_ops.constant(value, dtype=dtype or dtypes.float32)


def _decay_progress(learning_rate: Any, global_step: Any, decay_steps: Any, staircase: bool):
    """(learning rate, global_step / decay_steps — floored when `staircase`), in the learning rate's dtype."""
    lr = _as_float(learning_rate)
    progress = math_ops.divide(_as_float(global_step, lr.dtype), _as_float(decay_steps, lr.dtype))
    if staircase:
        progress = math_ops.floor(progress)
    return lr, progress


def exponential_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: Optional[str] = None) -> Tensor:
    """learning_rate * decay_rate ^ (global_step / decay_steps); the exponent is floored when `staircase`."""
    _require_step(global_step, "exponential_decay")
    with get_default_graph().name_scope(name or "ExponentialDecay"):
        lr, progress = _decay_progress(learning_rate, global_step, decay_steps, staircase)
        return math_ops.multiply(lr, math_ops.pow(_as_float(decay_rate, lr.dtype), progress))


def natural_exp_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: Optional[str] = None) -> Tensor:
    """learning_rate * exp(-decay_rate * global_step / decay_steps) (exponent floored when `staircase`)."""
    _require_step(global_step, "natural_exp_decay")
    with get_default_graph().name_scope(name or "NaturalExpDecay"):
        lr, progress = _decay_progress(learning_rate, global_step, decay_steps, staircase)
        rate = _as_float(decay_rate, lr.dtype)
        return math_ops.multiply(lr, math_ops.exp(math_ops.negative(math_ops.multiply(rate, progress))))


def inverse_time_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                       staircase: bool = False, name: Optional[str] = None) -> Tensor:
    """learning_rate / (1 + decay_rate * global_step / decay_steps) (quotient floored when `staircase`)."""
    _require_step(global_step, "inverse_time_decay")
    with get_default_graph().name_scope(name or "InverseTimeDecay"):
        lr, progress = _decay_progress(learning_rate, global_step, decay_steps, staircase)
        denom = math_ops.add(_as_float(1.0, lr.dtype), math_ops.multiply(_as_float(decay_rate, lr.dtype), progress))
        return math_ops.divide(lr, denom)


def polynomial_decay(learning_rate: Any, global_step: Any, decay_steps: Any, end_learning_rate: Any = 0.0001,
                     power: Any = 1.0, cycle: bool = False, name: Optional[str] = None) -> Tensor:
    """(learning_rate - end) * (1 - step / decay_steps) ^ power + end.

    Without `cycle`, step = min(global_step, decay_steps); with it, decay_steps is stretched to the next multiple
    that is at least global_step (and at least one period): decay_steps * max(ceil(global_step / decay_steps), 1).
    """
    _require_step(global_step, "polynomial_decay")
    with get_default_graph().name_scope(name or "PolynomialDecay"):
        lr = _as_float(learning_rate)
        step = _as_float(global_step, lr.dtype)
        steps = _as_float(decay_steps, lr.dtype)
        end = _as_float(end_learning_rate, lr.dtype)
        if cycle:
            periods = math_ops.maximum(math_ops.ceil(math_ops.divide(step, steps)), _as_float(1.0, lr.dtype))
            steps = math_ops.multiply(steps, periods)
        else:
            step = math_ops.minimum(step, steps)
        remaining = math_ops.subtract(_as_float(1.0, lr.dtype), math_ops.divide(step, steps))
        scale = math_ops.pow(remaining, _as_float(power, lr.dtype))
        return math_ops.add(math_ops.multiply(math_ops.subtract(lr, end), scale), end)


def cosine_decay(learning_rate: Any, global_step: Any, decay_steps: Any, alpha: Any = 0.0,
                 name: Optional[str] = None) -> Tensor:
    """learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(global_step, decay_steps) / decay_steps)) + alpha)."""
    _require_step(global_step, "cosine_decay")
    with get_default_graph().name_scope(name or "CosineDecay"):
        lr = _as_float(learning_rate)
        steps = _as_float(decay_steps, lr.dtype)
        step = math_ops.minimum(_as_float(global_step, lr.dtype), steps)
        angle = math_ops.multiply(_as_float(math.pi, lr.dtype), math_ops.divide(step, steps))
        cosine = math_ops.multiply(_as_float(0.5, lr.dtype), math_ops.add(_as_float(1.0, lr.dtype), math_ops.cos(angle)))
        alpha_t = _as_float(alpha, lr.dtype)
        decayed = math_ops.add(math_ops.multiply(math_ops.subtract(_as_float(1.0, lr.dtype), alpha_t), cosine), alpha_t)
        return math_ops.multiply(lr, decayed)


def piecewise_constant(x: Any, boundaries: Sequence[Any], values: Sequence[Any], name: Optional[str] = None) -> Tensor:
    """values[0] while x <= boundaries[0], values[i] while boundaries[i-1] < x <= boundaries[i], values[-1] after.

    Raises:
        ValueError: len(values) != len(boundaries) + 1.
    """
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"The length of boundaries ({len(boundaries)}) should be 1 less than the length of values "
                         f"({len(values)})")
    with get_default_graph().name_scope(name or "PiecewiseConstant"):
        x_t = convert_to_tensor(x)
        value_ts = [convert_to_tensor(v) for v in values]
        dtype = value_ts[0].dtype
        value_ts = [v if v.dtype == dtype else math_ops.cast(v, dtype) for v in value_ts]
        bounds = [convert_to_tensor(b, dtype=x_t.dtype) if not isinstance(b, Tensor) else b for b in boundaries]
        # exactly one interval indicator is 1, so the sum of value * indicator is that value, unrounded
        indicators = []
        for i in range(len(value_ts)):
            above = math_ops.greater(x_t, bounds[i - 1]) if i > 0 else None
            below = math_ops.less_equal(x_t, bounds[i]) if i < len(bounds) else None
            inside = above if below is None else below if above is None else math_ops.logical_and(above, below)
            indicators.append(math_ops.multiply(value_ts[i], math_ops.cast(inside, dtype)))
        return math_ops.add_n(indicators) if len(indicators) > 1 else core_ops.identity(indicators[0])
