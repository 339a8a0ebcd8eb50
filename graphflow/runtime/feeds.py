"""Feed validation: convert a fed value to the tensor's dtype (value-preserving conversions only) and check its shape."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..framework import dtypes, errors
from ..framework.tensor import Tensor


def _allowed(source: np.dtype, target: np.dtype) -> bool:
    """Safe numpy casts, plus float→float of another width and int→float (as TF1 scripts feed float64 data)."""
    if np.can_cast(source, target, casting="safe"):
        return True
    if source.kind == "f" and target.kind == "f":
        return True
    if source.kind in "iub" and target.kind == "f":
        return True
    return False


def make_feed_converter(tensor: Tensor) -> Callable[[Any], Any]:
    """A function that validates and converts one value fed for `tensor`; errors name the tensor."""
    target = tensor.dtype.numpy
    dims = tensor.shape.dims
    exact = tuple(dims) if dims is not None and all(d is not None for d in dims) else None
    shape = tensor.shape

    def fail_shape(array: np.ndarray):
        raise errors.InvalidArgumentError(
            None, None, f"Cannot feed value of shape {array.shape} for Tensor '{tensor.name}', which has shape "
                        f"{shape}")

    def convert_slow(value: Any) -> np.ndarray:
        if isinstance(value, Tensor):
            raise TypeError(f"The value of a feed cannot be a graphflow Tensor ({value.name}); feed numpy arrays, "
                            "Python scalars or lists")
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as e:
            raise errors.InvalidArgumentError(None, None, f"Cannot convert the value fed for '{tensor.name}' to an "
                                                          f"array: {e}") from None
        if tensor.dtype == dtypes.string:
            if array.dtype.kind not in "OSU":
                raise TypeError(f"Tensor '{tensor.name}' expects strings, got {array.dtype}")
            return array.astype(object)
        if array.dtype != target:
            if array.dtype.kind in "iu" and target.kind in "iu" and array.size:
                info = np.iinfo(target)
                if array.min() < info.min or array.max() > info.max:
                    raise errors.InvalidArgumentError(
                        None, None, f"Values fed for '{tensor.name}' ({array.dtype}, range {array.min()}..{array.max()}) "
                                    f"do not fit its dtype {tensor.dtype.name}")
                array = array.astype(target)
            elif array.dtype.kind in "iu" and target.kind in "iu":
                array = array.astype(target)
            elif _allowed(array.dtype, target):
                array = array.astype(target)
            else:
                raise TypeError(f"Cannot feed a value of dtype {array.dtype} for Tensor '{tensor.name}' of dtype "
                                f"{tensor.dtype.name}: the conversion could change values (cast it yourself)")
        if exact is not None:
            if array.shape != exact:
                fail_shape(array)
        elif not shape.matches(array.shape):
            fail_shape(array)
        return array

    def convert(value: Any) -> np.ndarray:
        # fast path: an ndarray of the right dtype and shape needs no work
        if type(value) is np.ndarray and value.dtype == target and (exact is None or value.shape == exact):
            if exact is None and not shape.matches(value.shape):
                fail_shape(value)
            return value
        return convert_slow(value)

    return convert
