"""OpDef, the base class of every op type, and the registry that finds an op's definition by its TF type string."""
from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .dtypes import DType
from .shapes import TensorShape

REQUIRED = object()  # attr default meaning "the builder must pass this attr"


def _undecided_grad(self, op, *output_grads):
    raise LookupError(f"No gradient decision for op type {op.type!r}: its OpDef must define grad() or set grad = None")


class OpDef:
    """Everything about one op type, in one class.

    Subclasses set `op_type` (TensorFlow's type string) and `attrs` (name -> default, or REQUIRED), and define:
      infer(op) -> list of (DType, TensorShape), one per output; raise ValueError for bad inputs.
      grad(op, *output_grads) -> list with one Tensor or None per input (graph-building code), or `grad = None`
          to declare the op non-differentiable.
      kernel(xp, *arrays, **attrs) -> one array, or a tuple of arrays for multi-output ops. One body serves
          numpy and CuPy; `make_kernel` may return a specialised callable (a bare ufunc, say) for speed.
    Stateful ops (variables, random numbers) set `stateful = True` and override `make_kernel` to reach the
    Session's state through `ctx`.
    """

    op_type: str = ""
    attrs: Dict[str, Any] = {}
    stateful: bool = False
    # True when the kernel may return (a view of) an input array, so a fetched result could alias a variable's storage
    may_alias_input: bool = False
    # True when the kernel always returns arrays it allocated itself, which a later op may then overwrite in place
    fresh_output: bool = False
    # True when the host kernel splits its work over the intra-op threads (backends.intra_op); a Plan holding such
    # an op holds the BLAS to one thread while it runs
    intra_op_parallel: bool = False
    # Optionally make_inplace_kernel(op, ctx): like make_kernel, but writing the result into its first input's
    # array; the Plan uses it when that input dies at this op and is fresh (see runtime.plan._can_run_in_place).
    # It must be elementwise: fusing kernels also apply it to blocks of that input (ops.fusion).
    make_inplace_kernel: Optional[Callable[..., Any]] = None
    # Optionally fuse(op, followers, ctx) -> (kernel, count) or None: a kernel that computes `op` and the first
    # `count` of `followers` at once. `followers` is a chain of ops, each the only reader of the previous one's
    # single output; the Plan offers it only when no one fetches those outputs. The kernel takes op's inputs, then
    # each absorbed follower's inputs other than the chained one, and returns the last follower's output (freshly
    # allocated if op's outputs are). The intermediate values are never materialised as tensors.
    fuse: Optional[Callable[..., Any]] = None
    grad: Optional[Callable[..., Any]] = _undecided_grad

    def infer(self, op) -> List[Tuple[DType, TensorShape]]:
        raise NotImplementedError(f"op type {self.op_type} has no shape function")

    def kernel(self, xp, *arrays, **attrs):
        raise NotImplementedError(f"op type {self.op_type} has no kernel")

    def make_kernel(self, op, ctx) -> Callable[..., Any]:
        """Returns the callable a Plan calls with this op's input arrays. `ctx` gives `xp` and Session state."""
        kernel, xp, attrs = self.kernel, ctx.xp, op.attrs
        if not attrs:
            return lambda *arrays: kernel(xp, *arrays)
        return lambda *arrays: kernel(xp, *arrays, **attrs)

    @classmethod
    def has_gradient_decision(cls) -> bool:
        return cls.grad is not _undecided_grad

    @classmethod
    def has_kernel(cls) -> bool:
        return cls.kernel is not OpDef.kernel or cls.make_kernel is not OpDef.make_kernel

    @classmethod
    def has_shape_function(cls) -> bool:
        return cls.infer is not OpDef.infer


_REGISTRY: Dict[str, OpDef] = {}

# Which inputs of the op being differentiated need a gradient (set by `gradients` around each grad() call), so a
# gradient function can skip building ops for the others, e.g. the constant operand of `x * 1.0001`.
_wanted_inputs: contextvars.ContextVar = contextvars.ContextVar("graphflow_wanted_inputs", default=None)


@contextlib.contextmanager
def wanting_gradients(wanted: Sequence[bool]) -> Iterator[None]:
    token = _wanted_inputs.set(tuple(wanted))
    try:
        yield
    finally:
        _wanted_inputs.reset(token)


def gradient_wanted(index: int) -> bool:
    """Inside OpDef.grad: whether input `index` needs a gradient (True when called outside `gradients`)."""
    wanted = _wanted_inputs.get()
    return True if wanted is None or index >= len(wanted) else wanted[index]


def register_op(cls):
    """Class decorator: registers an OpDef subclass under its `op_type`."""
    if not cls.op_type:
        raise ValueError(f"{cls.__name__} must set op_type")
    if cls.op_type in _REGISTRY and type(_REGISTRY[cls.op_type]) is not cls:
        raise ValueError(f"op type {cls.op_type!r} is registered twice ({type(_REGISTRY[cls.op_type]).__name__} "
                         f"and {cls.__name__})")
    _REGISTRY[cls.op_type] = cls()
    return cls


def get_opdef(op_type: str) -> OpDef:
    try:
        return _REGISTRY[op_type]
    except KeyError:
        raise KeyError(f"Unknown op type {op_type!r}; graphflow has no op registered under that name") from None


def registered_op_types() -> List[str]:
    return sorted(_REGISTRY)


def fill_attrs(opdef: OpDef, attrs: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Applies defaults, rejects unknown attrs and missing required ones."""
    given = dict(attrs or {})
    unknown = [k for k in given if k not in opdef.attrs and not k.startswith("_")]
    if unknown:
        raise ValueError(f"op type {opdef.op_type} has no attr(s) {unknown}; known attrs: {sorted(opdef.attrs)}")
    out = {}
    for key, default in opdef.attrs.items():
        if key in given:
            out[key] = given[key]
        elif default is REQUIRED:
            raise ValueError(f"op type {opdef.op_type} needs attr {key!r}")
        else:
            out[key] = default
    for key, value in given.items():
        if key.startswith("_"):
            out[key] = value
    return out
