"""Initializers usable with get_variable: zeros, ones, constant, random, glorot, he, variance_scaling.

An initializer is a callable `init(shape, dtype=None, partition_info=None) -> Tensor` building the ops that compute
a variable's initial value (TF1's tf.initializers / *_initializer classes).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from ..framework import dtypes
from ..framework.shapes import as_shape
from ..framework.tensor import Tensor
from . import array_ops, core_ops

__all__ = ["Initializer", "zeros_initializer", "ones_initializer", "constant_initializer",
           "random_normal_initializer", "truncated_normal_initializer", "random_uniform_initializer",
           "variance_scaling_initializer", "glorot_uniform_initializer", "glorot_normal_initializer",
           "he_normal", "he_uniform", "lecun_normal", "lecun_uniform"]


def _shape_list(shape: Any) -> list:
    return as_shape(shape).as_list()


def _float_dtype(dtype: Any, initializer: str) -> dtypes.DType:
    dtype = dtypes.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError(f"{initializer} needs a floating-point dtype, got {dtype.name}")
    return dtype


class Initializer:
    """Base class: `__call__(shape, dtype=None, partition_info=None)` returns the initial-value Tensor."""

    dtype: dtypes.DType = dtypes.float32

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define __call__")

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments (for from_config)."""
        return {}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Initializer":
        return cls(**config)


class zeros_initializer(Initializer):  # noqa: N801 - TF1's name
    """All zeros."""

    def __init__(self, dtype: Any = dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        return array_ops.zeros(_shape_list(shape), dtype or self.dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"dtype": self.dtype.name}


class ones_initializer(Initializer):  # noqa: N801 - TF1's name
    """All ones."""

    def __init__(self, dtype: Any = dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        return array_ops.ones(_shape_list(shape), dtype or self.dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"dtype": self.dtype.name}


class constant_initializer(Initializer):  # noqa: N801 - TF1's name
    """A constant: a scalar fills the shape; a list or array with as many elements is reshaped to it.

    Args:
        value: scalar, list or array.
        dtype: default dtype when the call gives none.
        verify_shape: require `value`'s own shape to equal the requested shape.
    """

    def __init__(self, value: Any = 0, dtype: Any = dtypes.float32, verify_shape: bool = False):
        self.value = value
        self.dtype = dtypes.as_dtype(dtype)
        self.verify_shape = verify_shape

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = dtypes.as_dtype(dtype or self.dtype)
        dims = _shape_list(shape)
        value = np.asarray(self.value, dtype=dtype.numpy)
        if self.verify_shape and list(value.shape) != dims:
            raise TypeError(f"constant_initializer: expected shape {dims}, value has shape {list(value.shape)}")
        if value.size == 1:
            value = np.full(dims, value.reshape(()), dtype=dtype.numpy)
        elif value.size == int(np.prod(dims)):
            value = value.reshape(dims)
        else:
            raise ValueError(f"constant_initializer: {value.size} values cannot fill shape {dims} "
                             f"({int(np.prod(dims))} elements)")
        return core_ops.constant(value, dtype=dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"value": self.value, "dtype": self.dtype.name, "verify_shape": self.verify_shape}


class random_normal_initializer(Initializer):  # noqa: N801 - TF1's name
    """Samples of N(mean, stddev²)."""

    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: Optional[int] = None,
                 dtype: Any = dtypes.float32):
        self.mean, self.stddev, self.seed = mean, stddev, seed
        self.dtype = _float_dtype(dtype, "random_normal_initializer")

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        from . import random_ops
        return random_ops.random_normal(_shape_list(shape), self.mean, self.stddev,
                                        _float_dtype(dtype or self.dtype, "random_normal_initializer"), seed=self.seed)

    def get_config(self) -> Dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed, "dtype": self.dtype.name}


class truncated_normal_initializer(random_normal_initializer):  # noqa: N801 - TF1's name
    """Samples of N(mean, stddev²), redrawn when more than two stddev from the mean."""

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        from . import random_ops
        return random_ops.truncated_normal(_shape_list(shape), self.mean, self.stddev,
                                           _float_dtype(dtype or self.dtype, "truncated_normal_initializer"),
                                           seed=self.seed)


class random_uniform_initializer(Initializer):  # noqa: N801 - TF1's name
    """Samples of U[minval, maxval) (maxval defaults to 1 for floats)."""

    def __init__(self, minval: Any = 0, maxval: Any = None, seed: Optional[int] = None, dtype: Any = dtypes.float32):
        self.minval, self.maxval, self.seed = minval, maxval, seed
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        from . import random_ops
        return random_ops.random_uniform(_shape_list(shape), self.minval, self.maxval, dtype or self.dtype,
                                         seed=self.seed)

    def get_config(self) -> Dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed, "dtype": self.dtype.name}


def compute_fans(shape: Sequence[int]) -> Tuple[float, float]:
    """(fan_in, fan_out) of a weight shape: [in, out] for dense, [*receptive_field, in, out] for convolutions."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive_field = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class variance_scaling_initializer(Initializer):  # noqa: N801 - TF1's name
    """Samples whose variance is `scale / n`, n being fan_in, fan_out or their mean.

    distribution "truncated_normal" (TF1's "normal"): truncated N(0, σ²) with σ = sqrt(scale / n) / 0.8796…
    (the truncation's stddev correction); "untruncated_normal": N(0, scale / n); "uniform": U[-l, l) with
    l = sqrt(3 scale / n).
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: Optional[int] = None, dtype: Any = dtypes.float32):
        if scale <= 0.0:
            raise ValueError(f"variance_scaling_initializer: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"variance_scaling_initializer: invalid mode {mode!r}; use fan_in, fan_out or fan_avg")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"variance_scaling_initializer: invalid distribution {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed
        self.dtype = _float_dtype(dtype, "variance_scaling_initializer")

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        from . import random_ops
        dims = _shape_list(shape)
        dtype = _float_dtype(dtype or self.dtype, "variance_scaling_initializer")
        fan_in, fan_out = compute_fans(dims)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return random_ops.truncated_normal(dims, 0.0, math.sqrt(variance) / .87962566103423978, dtype,
                                               seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(dims, 0.0, math.sqrt(variance), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * variance)
        return random_ops.random_uniform(dims, -limit, limit, dtype, seed=self.seed)

    def get_config(self) -> Dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "dtype": self.dtype.name}


class glorot_uniform_initializer(variance_scaling_initializer):  # noqa: N801 - TF1's name
    """Glorot/Xavier uniform: U[-l, l) with l = sqrt(6 / (fan_in + fan_out))."""

    def __init__(self, seed: Optional[int] = None, dtype: Any = dtypes.float32):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"seed": self.seed, "dtype": self.dtype.name}


class glorot_normal_initializer(variance_scaling_initializer):  # noqa: N801 - TF1's name
    """Glorot/Xavier normal: truncated normal with variance 2 / (fan_in + fan_out)."""

    def __init__(self, seed: Optional[int] = None, dtype: Any = dtypes.float32):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"seed": self.seed, "dtype": self.dtype.name}


def he_normal(seed: Optional[int] = None) -> variance_scaling_initializer:
    """He normal: truncated normal with variance 2 / fan_in."""
    return variance_scaling_initializer(2.0, "fan_in", "truncated_normal", seed)


def he_uniform(seed: Optional[int] = None) -> variance_scaling_initializer:
    """He uniform: U[-l, l) with l = sqrt(6 / fan_in)."""
    return variance_scaling_initializer(2.0, "fan_in", "uniform", seed)


def lecun_normal(seed: Optional[int] = None) -> variance_scaling_initializer:
    """LeCun normal: truncated normal with variance 1 / fan_in."""
    return variance_scaling_initializer(1.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed: Optional[int] = None) -> variance_scaling_initializer:
    """LeCun uniform: U[-l, l) with l = sqrt(3 / fan_in)."""
    return variance_scaling_initializer(1.0, "fan_in", "uniform", seed)
