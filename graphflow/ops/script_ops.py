"""Ops that run Python during a Session.run: py_func (a Python function as a kernel) and Print (log values)."""
from __future__ import annotations

import sys
from typing import Any, Callable, List, Optional, Sequence

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.errors import InvalidArgumentError
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor

__all__ = ["py_func", "Print"]


@register_op
class PyFunc(OpDef):
    """Calls a Python function on the input arrays (numpy) and returns its results as the outputs.

    The function lives in the op's private `_func` attr: it runs in this process only and is not serialised.
    """

    op_type = "PyFunc"
    attrs = {"Tout": None, "token": ""}
    stateful = True
    may_alias_input = True  # the function may hand back one of its input arrays
    cpu_only = True
    grad = None

    def infer(self, op):
        return [(dtypes.as_dtype(d), TensorShape(None)) for d in op.attrs["Tout"]]

    def make_kernel(self, op, ctx):
        func, out_dtypes = op.attrs["_func"], [dtypes.as_dtype(d) for d in op.attrs["Tout"]]

        def call(*arrays):
            results = func(*arrays)
            results = list(results) if isinstance(results, (list, tuple)) else [results]
            if len(results) != len(out_dtypes):
                raise InvalidArgumentError(None, op, f"py_func function returned {len(results)} value(s), but Tout "
                                                     f"declares {len(out_dtypes)}")
            converted = []
            for index, (value, dtype) in enumerate(zip(results, out_dtypes)):
                array = np.asarray(value)
                if dtype == dtypes.string:
                    converted.append(array.astype(object))
                    continue
                if not np.can_cast(array.dtype, dtype.numpy, casting="same_kind"):
                    raise InvalidArgumentError(None, op, f"py_func result {index} has dtype {array.dtype}, which "
                                                         f"does not convert to the declared {dtype.name}")
                converted.append(array.astype(dtype.numpy, copy=False))
            return tuple(converted) if len(converted) != 1 else converted[0]
        return call


def py_func(func: Callable[..., Any], inp: Sequence[Any], Tout: Any, stateful: bool = True,
            name: Optional[str] = None) -> Any:
    """Wraps a Python function of numpy arrays as an op (TF1's tf.py_func).

    Args:
        func: called with one numpy array per input, returns an array (or a list/tuple of them).
        inp: the input tensors.
        Tout: a dtype, or a list of dtypes, one per result.
    Returns:
        A Tensor (Tout a single dtype) or a list of Tensors. Static shapes are unknown: use set_shape if you know them.
    """
    single = not isinstance(Tout, (list, tuple))
    out_dtypes = [dtypes.as_dtype(t) for t in ([Tout] if single else Tout)]
    graph = graph_of(list(inp))
    tensors = [convert_to_tensor(x, graph=graph) for x in inp]
    op = graph.create_op("PyFunc", tensors, {"Tout": out_dtypes, "token": getattr(func, "__name__", "func"),
                                             "_func": func}, name=name or "PyFunc")
    return op.outputs[0] if single else list(op.outputs)


@register_op
class PrintOp(OpDef):
    """Passes its first input through and, whenever it runs, writes `message` and the other inputs to stderr."""

    op_type = "Print"
    attrs = {"message": "", "first_n": -1, "summarize": 3, "T": None, "U": None}
    stateful = True
    may_alias_input = True  # returns its input array itself
    cpu_only = True

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[0].shape)]

    def make_kernel(self, op, ctx):
        message, first_n, summarize = op.attrs["message"], op.attrs["first_n"], op.attrs["summarize"]
        counter = ctx.state("print_counts")

        def show(x, *data):
            count = counter.get(op, 0)
            if first_n < 0 or count < first_n:
                counter[op] = count + 1
                parts = [_summarize(np.asarray(d), summarize) for d in data]
                sys.stderr.write(message + "".join(parts) + "\n")
            return x
        return show

    def grad(self, op, dy):
        return [dy] + [None] * (len(op.inputs) - 1)


def _summarize(array: np.ndarray, first: int) -> str:
    flat = array.reshape(-1)
    shown = " ".join(str(v) for v in flat[:first]) + ("..." if flat.size > first else "")
    return f"[{shown}]"


def Print(input_: Any, data: Sequence[Any], message: Optional[str] = None, first_n: Optional[int] = None,
          summarize: Optional[int] = None, name: Optional[str] = None) -> Tensor:
    """Identity on `input_` that prints `message` and the first `summarize` values of each of `data` when it runs
    (at most `first_n` times; TF1's tf.Print)."""
    x = convert_to_tensor(input_)
    tensors: List[Tensor] = [x] + [convert_to_tensor(d, graph=x.graph) for d in data]
    attrs = {"message": message or "", "first_n": -1 if first_n is None else first_n,
             "summarize": 3 if summarize is None else summarize}
    return x.graph.create_op("Print", tensors, attrs, name=name or "Print").outputs[0]
