"""Symbolic reverse-mode differentiation: `gradients` appends ordinary gradient ops to the graph."""
from __future__ import annotations

import functools
import gc

from typing import Any, Callable, Dict, List, Optional, Sequence, Set

import numpy as np

from .framework import dtypes, registry
from .framework.convert import convert_to_tensor
from .framework.tensor import Operation, Tensor

_CUSTOM_GRADIENTS: Dict[str, Callable[..., Any]] = {}


class RegisterGradient:
    """Decorator registering a gradient function for an op type (or a name used with gradient_override_map).

        @gf.RegisterGradient("MySquare")
        def _my_square_grad(op, dy): return [dy * 2 * op.inputs[0]]
    """

    def __init__(self, op_type: str):
        if not isinstance(op_type, str):
            raise TypeError("RegisterGradient takes an op type string")
        self._op_type = op_type

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if self._op_type in _CUSTOM_GRADIENTS:
            raise KeyError(f"Registering two gradient functions with name {self._op_type!r}")
        _CUSTOM_GRADIENTS[self._op_type] = fn
        return fn


def NotDifferentiable(op_type: str) -> None:
    """Declares that op type `op_type` (a user op) has no gradient."""
    _CUSTOM_GRADIENTS[op_type] = None


NoGradient = NotDifferentiable


def _gradient_function(op: Operation) -> Optional[Callable[..., Any]]:
    override = op.attrs.get("_gradient_op_type")
    if override is not None:
        if override not in _CUSTOM_GRADIENTS:
            raise LookupError(f"No gradient registered under {override!r} (gradient_override_map for op {op.name})")
        return _CUSTOM_GRADIENTS[override]
    if op.type in _CUSTOM_GRADIENTS:
        return _CUSTOM_GRADIENTS[op.type]
    grad = op.opdef.grad
    if grad is None:
        return None
    if not type(op.opdef).has_gradient_decision():
        raise LookupError(f"No gradient defined for operation '{op.name}' (op type: {op.type}), created at "
                          f"{op.traceback_line}. Define OpDef.grad or register one with gf.RegisterGradient.")
    return grad.__get__(op.opdef) if hasattr(grad, "__get__") else grad


def _is_differentiable_dtype(dtype: dtypes.DType) -> bool:
    return dtype.is_floating


def _as_list(x: Any) -> List[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _without_cyclic_gc(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Runs `fn` with Python's cyclic garbage collector paused.

    Building gradients allocates many long-lived objects and no reference cycles; the collector's passes over an
    ever larger graph made the build time grow faster than the number of ops. Collection resumes afterwards.
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return wrapper


@_without_cyclic_gc
def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients", colocate_gradients_with_ops: bool = False,
              gate_gradients: bool = False, aggregation_method: Any = None, stop_gradients: Any = None,
              unconnected_gradients: str = "none") -> List[Optional[Tensor]]:
    """Symbolic derivatives of sum(ys) with respect to each of `xs`.

    Args:
        ys: a Tensor or list of Tensors to differentiate.
        xs: a Tensor/Variable or list of them.
        grad_ys: seeds, one per y (default: ones of y's shape).
        stop_gradients: Tensors treated as constants.
        unconnected_gradients: "none" (None for an x that ys do not depend on) or "zero" (zeros of x's shape).

    Returns:
        A list with one gradient Tensor (or None) per x. Cost is linear in the ops between xs and ys.
    """
    ys = [_to_tensor(y, "ys") for y in _as_list(ys)]
    xs = [_to_tensor(x, "xs") for x in _as_list(xs)]
    if unconnected_gradients not in ("none", "zero"):
        raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
    graph = ys[0].graph
    for t in ys + xs:
        if t.graph is not graph:
            raise ValueError(f"Tensor {t.name} is from a different graph than {ys[0].name}")
    grad_ys_list = [None] * len(ys) if grad_ys is None else _as_list(grad_ys)
    if len(grad_ys_list) != len(ys):
        raise ValueError(f"Passed {len(grad_ys_list)} grad_ys for {len(ys)} ys")
    stops = {(_to_tensor(s, "stop_gradients")).op for s in _as_list(stop_gradients)} if stop_gradients else set()

    with graph.name_scope(name):
        # Ops on a path from xs to ys: forward reach from xs (through consumers) ∩ backward reach from ys.
        # Both walks touch only ops near xs and ys, so cost does not grow with unrelated parts of the graph.
        backward = _reach_backward([y.op for y in ys], stops)
        x_ops = {x.op for x in xs}
        forward = _reach_forward(x_ops, backward, stops)
        between = forward & backward

        grads: Dict[Tensor, List[Tensor]] = {}
        for y, gy in zip(ys, grad_ys_list):
            if gy is None:
                if not _is_differentiable_dtype(y.dtype):
                    continue
                gy = _new(graph, "OnesLike", [y], name=f"grad_ys_{ys.index(y)}")
            else:
                gy = convert_to_tensor(gy, dtype=y.dtype)
                if not y.shape.is_compatible_with(gy.shape):
                    raise ValueError(f"grad_ys for {y.name} has shape {gy.shape}, incompatible with {y.shape}")
            grads.setdefault(y, []).append(gy)

        pending = {op: 0 for op in between}
        for op in between:
            for t in op.inputs:
                if t.op in between:
                    pending[t.op] += 1
        # sorted so gradient ops are built (and named) in the same order on every run
        ready = sorted((op for op in between if pending[op] == 0), key=lambda op: op._id)
        x_set = set(xs)
        while ready:
            op = ready.pop()
            out_grads = [_aggregate(grads.get(t), graph) for t in op.outputs]
            if op not in stops and any(g is not None for g in out_grads) and not (
                    all(t in x_set for t in op.outputs) and op.type == "Placeholder"):
                _backprop_op(op, out_grads, grads, between, graph)
            for t in op.inputs:
                if t.op in between:
                    pending[t.op] -= 1
                    if pending[t.op] == 0:
                        ready.append(t.op)

        result = []
        for x in xs:
            g = _aggregate(grads.get(x), graph)
            if g is None and unconnected_gradients == "zero":
                g = _new(graph, "ZerosLike", [x])
            result.append(g)
    return result


def _to_tensor(value: Any, what: str) -> Tensor:
    if hasattr(value, "_as_tensor"):
        return value._as_tensor()
    if isinstance(value, Tensor):
        return value
    raise TypeError(f"gradients: {what} must be Tensors or Variables, got {type(value).__name__} ({value!r})")


def _reach_backward(start: Sequence[Operation], stops: Set[Operation]) -> Set[Operation]:
    seen: Set[Operation] = set()
    stack = list(start)
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op in stops:
            continue
        stack.extend(t.op for t in op.inputs)
    return seen


def _reach_forward(start: Set[Operation], allowed: Set[Operation], stops: Set[Operation]) -> Set[Operation]:
    seen: Set[Operation] = set()
    stack = [op for op in start if op in allowed]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op in stops and op not in start:
            continue
        stack.extend(c for c in op._consumers if c in allowed)
    return seen


def _new(graph: Any, op_type: str, inputs: List[Tensor], attrs: Optional[dict] = None,
         name: Optional[str] = None) -> Tensor:
    """Creates one op by its type string: the gradient machinery needs the registry, not the op library."""
    return graph.create_op(op_type, inputs, attrs, name=name).outputs[0]


def _aggregate(parts: Optional[List[Tensor]], graph: Any) -> Optional[Tensor]:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return _new(graph, "AddN", parts, {"N": len(parts)})


def _backprop_op(op: Operation, out_grads: List[Optional[Tensor]], grads: Dict[Tensor, List[Tensor]],
                 between: Set[Operation], graph: Any) -> None:
    wanted = [t.op in between and _is_differentiable_dtype(t.dtype) for t in op.inputs]
    if not any(wanted):
        return
    grad_fn = _gradient_function(op)
    if grad_fn is None:
        return
    out_grads = [g if g is not None else (_new(graph, "ZerosLike", [t]) if _is_differentiable_dtype(t.dtype) else None)
                 for g, t in zip(out_grads, op.outputs)]
    with graph.name_scope(op.name + "_grad"), registry.wanting_gradients(wanted):
        in_grads = grad_fn(op, *out_grads)
    in_grads = _as_list(in_grads)
    if len(in_grads) != len(op.inputs):
        raise ValueError(f"Gradient function for {op.type} returned {len(in_grads)} gradients, expected "
                         f"{len(op.inputs)} (one per input)")
    for t, g, want in zip(op.inputs, in_grads, wanted):
        if g is None or not want:
            continue
        g = convert_to_tensor(g)
        if g.dtype != t.dtype:
            raise TypeError(f"Gradient for input {t.name} of {op.name} has dtype {g.dtype.name}, expected {t.dtype.name}")
        if not g.shape.is_compatible_with(t.shape):
            raise ValueError(f"Gradient for input {t.name} of {op.name} ({op.type}) has shape {g.shape}, expected "
                             f"{t.shape}")
        if g.op.graph is graph and g.shape != t.shape:
            g._shape = g.shape.merge_with(t.shape)  # a gradient has its input's shape: keep static shapes precise
        grads.setdefault(t, []).append(g)


def hessians(ys: Any, xs: Any, name: str = "hessians", **kwargs: Any) -> List[Tensor]:
    """The Hessian of sum(ys) with respect to each x, shaped x.shape + x.shape."""
    xs = _as_list(xs)
    first = gradients(ys, xs, name=name, **kwargs)
    result = []
    for x, g in zip(xs, first):
        x = _to_tensor(x, "xs")
        if g is None:
            result.append(None)
            continue
        n = x.shape.num_elements()
        if n is None:
            raise ValueError(f"hessians needs a fully defined shape for {x.name}, got {x.shape}")
        rows = []
        for i in range(n):
            # row i of the Hessian is d(g · e_i)/dx: seeding with a one-hot grad_ys needs no slicing op
            seed = np.zeros(n, dtype=g.dtype.numpy)
            seed[i] = 1
            row = gradients(g, x, grad_ys=seed.reshape(x.shape.as_list()), name=name,
                            unconnected_gradients="zero")[0]
            rows.append(_new(x.graph, "Reshape", [row, convert_to_tensor(np.array([-1], np.int32), graph=x.graph)]))
        stacked = _new(x.graph, "Pack", rows, {"axis": 0, "N": len(rows)})
        full_shape = np.array(x.shape.as_list() * 2, np.int32)
        result.append(_new(x.graph, "Reshape", [stacked, convert_to_tensor(full_shape, graph=x.graph)]))
    return result


def custom_gradient(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: `fn(*xs)` returns (y, grad_fn) where grad_fn(dy) gives the gradients of the xs.

    The forward value is computed by the ops `fn` builds; gradients use `grad_fn` instead of differentiating them.
    """
    def wrapped(*args: Any) -> Any:
        xs = [convert_to_tensor(a) for a in args]
        graph = xs[0].graph
        y, grad_fn = fn(*xs)
        name = f"CustomGradient_{id(grad_fn)}"

        def grad(op: Operation, dy: Tensor, *rest: Any) -> List[Optional[Tensor]]:
            g = _as_list(grad_fn(dy))
            return [None] + g

        _CUSTOM_GRADIENTS[name] = grad
        with graph.gradient_override_map({"IdentityN": name}):
            out = graph.create_op("IdentityN", [y] + xs, {}, name="custom_gradient").outputs[0]
        return out

    return wrapped
