"""Helpers every op builder uses: convert inputs, pick the graph, create the op, return its output(s)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.tensor import Operation, Tensor


def apply_op(op_type: str, inputs: Sequence[Any], attrs: Optional[Dict[str, Any]] = None,
             name: Optional[str] = None, dtype: Any = None) -> Any:
    """Creates an op and returns its single output Tensor, its tuple of outputs, or the Operation if it has none."""
    graph = graph_of(inputs)
    tensors = [convert_to_tensor(x, dtype=dtype, graph=graph) for x in inputs]
    op = graph.create_op(op_type, tensors, attrs, name=name)
    if len(op.outputs) == 1:
        return op.outputs[0]
    if not op.outputs:
        return op
    return op.outputs


def convert_pair(x: Any, y: Any) -> Tuple[Tensor, Tensor]:
    """Converts the two operands of a binary op so they share a dtype (Python scalars adopt the Tensor's dtype)."""
    graph = graph_of([x, y])
    if not isinstance(x, Tensor) and not hasattr(x, "_as_tensor") and (isinstance(y, Tensor) or hasattr(y, "_as_tensor")):
        y = convert_to_tensor(y, graph=graph)
        x = convert_to_tensor(x, dtype=y.dtype, graph=graph)
    else:
        x = convert_to_tensor(x, graph=graph)
        y = convert_to_tensor(y, dtype=x.dtype if not isinstance(y, Tensor) and not hasattr(y, "_as_tensor") else None,
                              graph=graph)
    if x.dtype != y.dtype:
        raise TypeError(f"Input dtypes differ: {x.name} is {x.dtype.name} but {y.name} is {y.dtype.name}; "
                        "cast one of them with gf.cast")
    return x, y


def same_dtype_inputs(op: Operation, what: str = "inputs") -> dtypes.DType:
    """Checks that all inputs of `op` share a dtype and returns it."""
    first = op.inputs[0].dtype
    for t in op.inputs[1:]:
        if t.dtype != first:
            raise TypeError(f"All {what} of {op.type} must have the same dtype; got {first.name} and {t.dtype.name}")
    return first


def require_dtype(tensor: Tensor, allowed: Sequence[dtypes.DType], op_type: str) -> None:
    if tensor.dtype not in allowed:
        raise TypeError(f"{op_type} does not support dtype {tensor.dtype.name} (input {tensor.name}); "
                        f"allowed: {[d.name for d in allowed]}")


def const_value(tensor: Tensor):
    """The numpy value of `tensor` if it is produced by a Const op, else None (for static shape inference)."""
    if tensor.op.type == "Const":
        return tensor.op.attrs["value"]
    return None


FLOATS = (dtypes.float16, dtypes.float32, dtypes.float64)
INTEGERS = (dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64, dtypes.uint8, dtypes.uint16, dtypes.uint32,
            dtypes.uint64)
NUMERIC = FLOATS + INTEGERS
