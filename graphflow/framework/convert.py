"""convert_to_tensor and constant: turn Python/numpy values, Variables and nested lists into graph Tensors."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from . import dtypes as _dtypes
from .graph import Graph, get_default_graph
from .shapes import TensorShape
from .tensor import Operation, Tensor


def graph_of(values: Sequence[Any]) -> Graph:
    """The graph the Tensors among `values` belong to (the default graph when there are none)."""
    for v in values:
        if isinstance(v, Tensor):
            return v.graph
        if isinstance(v, Operation):
            return v.graph
        graph = getattr(v, "graph", None)
        if isinstance(graph, Graph):
            return graph
    return get_default_graph()


def _default_numpy_dtype(array: np.ndarray, value: Any) -> np.dtype:
    """TF1's defaults for Python values: float → float32, int → int32 (int64 when too large), bool → bool."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return array.dtype
    kind = array.dtype.kind
    if kind == "f":
        return np.dtype(np.float32)
    if kind in "iu":
        if array.size and (array.min() < np.iinfo(np.int32).min or array.max() > np.iinfo(np.int32).max):
            return np.dtype(np.int64)
        return np.dtype(np.int32)
    return array.dtype


def to_numpy(value: Any, dtype: Optional[_dtypes.DType] = None) -> np.ndarray:
    """Converts a constant value to an ndarray of `dtype`, refusing conversions that change values."""
    try:
        array = np.asarray(value)
    except ValueError as e:
        raise ValueError(f"Cannot convert {value!r} to a tensor: {e}") from None
    if array.dtype == object:
        raise TypeError(f"Cannot convert {value!r} (a {type(value).__name__}) to a tensor")
    if array.dtype.kind in "SU":
        return array.astype(object)
    if dtype is None:
        return array.astype(_default_numpy_dtype(array, value), copy=False)
    target = dtype.numpy
    if array.dtype == target:
        return array
    converted = array.astype(target)
    if not isinstance(value, np.ndarray) and array.dtype.kind in "fiub" and array.size:
        # a Python literal must survive the conversion exactly (1.5 is not an int32)
        if not np.array_equal(converted.astype(array.dtype), array) and not (
                array.dtype.kind == "f" and target.kind == "f"):
            raise TypeError(f"Expected {dtype.name}, got {value!r} of type {type(value).__name__} instead: "
                            "the value does not fit that dtype")
    return converted


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str = "Const", verify_shape: bool = False,
             graph: Optional[Graph] = None) -> Tensor:
    """Creates a Const op holding `value` (broadcast to `shape` when a scalar is given)."""
    dt = _dtypes.as_dtype(dtype) if dtype is not None else None
    array = to_numpy(value, dt)
    if shape is not None:
        shape = tuple(TensorShape(shape).as_list())
        if array.shape != shape:
            if verify_shape:
                raise TypeError(f"Expected Tensor's shape: {shape}, got {array.shape}.")
            if array.size == 1:
                array = np.full(shape, array.reshape(()), dtype=array.dtype)
            elif array.size == int(np.prod(shape)):
                array = array.reshape(shape)
            else:
                raise ValueError(f"Cannot build a constant of shape {shape} from a value of shape {array.shape}")
    array.setflags(write=False)  # constants are shared by every run; kernels must not write into them
    graph = graph or get_default_graph()
    op = graph.create_op("Const", [], {"value": array, "dtype": _dtypes.as_dtype(array.dtype)}, name=name)
    return op.outputs[0]


def convert_to_tensor(value: Any, dtype: Any = None, name: Optional[str] = None, preferred_dtype: Any = None,
                      graph: Optional[Graph] = None) -> Tensor:
    """Returns `value` as a Tensor: Tensors pass through (dtype checked), Variables read, values become Consts."""
    dt = _dtypes.as_dtype(dtype) if dtype is not None else None
    if hasattr(value, "_as_tensor"):
        value = value._as_tensor()
    if isinstance(value, Tensor):
        if dt is not None and value.dtype != dt:
            raise ValueError(f"Tensor conversion requested dtype {dt.name} for Tensor {value.name} with dtype "
                             f"{value.dtype.name}")
        return value
    if isinstance(value, Operation):
        raise TypeError(f"Operation {value.name} is not a Tensor: use one of its outputs (op.outputs[0])")
    if isinstance(value, (list, tuple)) and _contains_tensor(value):
        parts = [convert_to_tensor(v, dtype=dt, graph=graph) for v in value]
        graph = graph or graph_of(parts)
        return graph.create_op("Pack", parts, {"axis": 0, "N": len(parts)}, name=name or "packed").outputs[0]
    if dt is None and preferred_dtype is not None:
        try:
            return constant(value, dtype=preferred_dtype, name=name or "Const", graph=graph)
        except (TypeError, ValueError):
            pass
    return constant(value, dtype=dt, name=name or "Const", graph=graph)


def _contains_tensor(values: Sequence[Any]) -> bool:
    for v in values:
        if isinstance(v, Tensor) or hasattr(v, "_as_tensor"):
            return True
        if isinstance(v, (list, tuple)) and _contains_tensor(v):
            return True
    return False
