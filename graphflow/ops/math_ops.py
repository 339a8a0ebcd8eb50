"""Elementwise math with numpy broadcasting, AddN, Cast, matmul and reductions — shape functions, kernels, gradients."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.registry import REQUIRED, OpDef, gradient_wanted, register_op
from ..framework.shapes import TensorShape, broadcast_shapes
from ..framework.tensor import register_overload
from .builder import FLOATS, NUMERIC, apply_op, convert_pair

__all__ = ["add", "subtract", "multiply", "divide", "truediv", "realdiv", "floordiv", "floor_div", "mod", "floormod",
           "pow", "negative", "abs", "sign", "square", "sqrt", "rsqrt", "exp", "log", "log1p", "sin", "cos", "tanh",
           "sigmoid", "maximum", "minimum", "reciprocal", "add_n", "clip_by_value", "equal", "not_equal", "less",
           "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_not", "logical_xor",
           "cast", "to_float", "to_int32", "to_int64", "matmul", "tensordot", "reduce_sum", "reduce_mean",
           "reduce_max", "reduce_min", "reduce_prod", "reduce_any", "reduce_all", "reduce_logsumexp", "argmax",
           "argmin", "squared_difference", "floor", "ceil", "round", "expm1", "tan", "scalar_mul", "div",
           "count_nonzero", "cumsum", "erf", "is_nan", "is_inf", "is_finite", "atan", "asin", "acos", "sinh", "cosh",
           "log_sigmoid", "reduce_variance", "reduce_std", "accumulate_n", "atan2", "cumprod"]


# ---------------------------------------------------------------------------------------------------------------------
# Broadcasting gradients: the one helper that undoes numpy broadcasting.
# ---------------------------------------------------------------------------------------------------------------------
def sum_to(grad, x, partners=()):
    """Sums `grad` over the axes along which `x` was broadcast, so the result has `x`'s shape.

    `partners` are the other inputs that were broadcast together with `x` to give `grad`'s shape. When each of them
    provably broadcasts into `x` (a bias added to activations), `grad` already has `x`'s shape and is returned as
    it is. When `x`'s shape is fully known, the axes are fixed when the graph is built, even if `grad` has an
    unknown batch size. Only otherwise are they found at run time (BroadcastGradientArgs): both ways keep the Sum
    kernel's fast path and the step's op count down.
    """
    from . import array_ops

    gs, xs = grad.shape, x.shape
    if gs.is_fully_defined() and xs.is_fully_defined() and gs.as_list() == xs.as_list():
        return grad
    if partners and all(_broadcasts_into(partner.shape, xs) for partner in partners):
        return grad
    if xs.is_fully_defined() and gs.rank is not None:
        gdims, xdims = gs.as_list(), xs.as_list()
        lead = len(gdims) - len(xdims)
        # An axis where x has size 1 is summed unless grad's is known to be 1 too: a sum over a length-1 axis only
        # drops it, and the reshape below puts it back.
        axes = list(range(lead)) + [lead + i for i, d in enumerate(xdims) if d == 1 and gdims[lead + i] != 1]
        summed = reduce_sum(grad, axes) if axes else grad
        return array_ops.reshape(summed, xdims) if summed.shape.as_list() != xdims else summed
    x_shape = array_ops.shape(x)
    axes = grad.graph.create_op("BroadcastGradientArgs", [array_ops.shape(grad), x_shape]).outputs[0]
    return array_ops.reshape(reduce_sum(grad, axes), x_shape)


def _broadcasts_into(shape: TensorShape, target: TensorShape) -> bool:
    """Whether broadcasting `shape` with `target` gives `target` for every run-time value of their unknown sizes:
    no more axes, and each axis (aligned from the right) of size 1 or of the same known size."""
    if shape.rank is None or target.rank is None or shape.rank > target.rank:
        return False
    aligned = target.as_list()[target.rank - shape.rank:]
    return all(d == 1 or (d is not None and d == t) for d, t in zip(shape.as_list(), aligned))


@register_op
class BroadcastGradientArgs(OpDef):
    """Axes of s0 (a broadcast result's shape) to sum over to get back shape s1. (TF's op returns both sides.)"""

    op_type = "BroadcastGradientArgs"
    grad = None

    def infer(self, op):
        return [(dtypes.int32, TensorShape([None]))]

    def kernel(self, xp, s0, s1):
        s0, s1 = [int(v) for v in s0], [int(v) for v in s1]
        lead = len(s0) - len(s1)
        axes = list(range(lead)) + [lead + i for i, d in enumerate(s1) if d == 1 and s0[lead + i] != 1]
        return np.asarray(axes, dtype=np.int32)


# ---------------------------------------------------------------------------------------------------------------------
# Elementwise unary ops
# ---------------------------------------------------------------------------------------------------------------------
class UnaryOp(OpDef):
    """y = f(x) elementwise; same dtype and shape. `ufunc` names the numpy/CuPy function used as the kernel."""

    ufunc = ""
    allowed = NUMERIC
    result_dtype = None  # None: same as the input
    attrs = {"T": None}

    def infer(self, op):
        x = op.inputs[0]
        if x.dtype not in self.allowed:
            raise TypeError(f"{op.type} does not support dtype {x.dtype.name}")
        return [(self.result_dtype or x.dtype, x.shape)]

    fresh_output = True

    def make_kernel(self, op, ctx):
        return getattr(ctx.xp, self.ufunc)

    def make_inplace_kernel(self, op, ctx):
        ufunc = getattr(ctx.xp, self.ufunc)
        return lambda x: ufunc(x, out=x)

    def kernel(self, xp, x):
        return getattr(xp, self.ufunc)(x)


def _unary(op_type: str, ufunc: str, grad=None, allowed=NUMERIC, differentiable=True, result_dtype=None):
    body = {"op_type": op_type, "ufunc": ufunc, "allowed": allowed, "result_dtype": result_dtype,
            "__doc__": f"Elementwise {ufunc} (TF op {op_type})."}
    if grad is not None:
        body["grad"] = lambda self, op, dy: [grad(op.inputs[0], op.outputs[0], dy)]
    elif not differentiable:
        body["grad"] = None
    cls = type(op_type, (UnaryOp,), body)
    return register_op(cls)


def stable_sigmoid(xp, x):
    """1 / (1 + exp(-x)) without overflow, accurate for large negative x too."""
    e = xp.exp(-xp.abs(x))  # exp of a non-positive number never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


@register_op
class Sigmoid(UnaryOp):
    """y = 1 / (1 + exp(-x)), computed without overflow."""

    make_inplace_kernel = None  # its kernel is not a single ufunc
    op_type = "Sigmoid"
    allowed = FLOATS

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda x: stable_sigmoid(xp, x)

    def grad(self, op, dy):
        y = op.outputs[0]
        return [dy * y * (1 - y)]


@register_op
class Rsqrt(UnaryOp):
    make_inplace_kernel = None  # its kernel is not a single ufunc
    op_type = "Rsqrt"
    allowed = FLOATS

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        return lambda x: xp.reciprocal(xp.sqrt(x))

    def grad(self, op, dy):
        y = op.outputs[0]
        return [dy * (-0.5) * y * y * y]


@register_op
class Log1p(UnaryOp):
    op_type = "Log1p"
    ufunc = "log1p"
    allowed = FLOATS

    def grad(self, op, dy):
        return [dy / (1 + op.inputs[0])]


_unary("Neg", "negative", lambda x, y, dy: -dy)
_unary("Abs", "abs", lambda x, y, dy: dy * sign(x))
_unary("Sign", "sign", differentiable=False)
_unary("Square", "square", lambda x, y, dy: dy * (2 * x))
_unary("Sqrt", "sqrt", lambda x, y, dy: dy * 0.5 / y, FLOATS)
_unary("Exp", "exp", lambda x, y, dy: dy * y, FLOATS)
_unary("Expm1", "expm1", lambda x, y, dy: dy * (y + 1), FLOATS)
_unary("Log", "log", lambda x, y, dy: dy / x, FLOATS)
_unary("Sin", "sin", lambda x, y, dy: dy * cos(x), FLOATS)
_unary("Cos", "cos", lambda x, y, dy: -dy * sin(x), FLOATS)
_unary("Tan", "tan", lambda x, y, dy: dy * (1 + y * y), FLOATS)
_unary("Asin", "arcsin", lambda x, y, dy: dy * rsqrt(1 - x * x), FLOATS)
_unary("Acos", "arccos", lambda x, y, dy: -dy * rsqrt(1 - x * x), FLOATS)
_unary("Atan", "arctan", lambda x, y, dy: dy / (1 + x * x), FLOATS)
_unary("Sinh", "sinh", lambda x, y, dy: dy * cosh(x), FLOATS)
_unary("Cosh", "cosh", lambda x, y, dy: dy * sinh(x), FLOATS)
_unary("Tanh", "tanh", lambda x, y, dy: dy * (1 - y * y), FLOATS)
_unary("Reciprocal", "reciprocal", lambda x, y, dy: -dy * y * y, FLOATS)
_unary("Floor", "floor", differentiable=False, allowed=FLOATS)
_unary("Ceil", "ceil", differentiable=False, allowed=FLOATS)
_unary("Round", "rint", differentiable=False)
_unary("IsNan", "isnan", differentiable=False, allowed=FLOATS, result_dtype=dtypes.bool_)
_unary("IsInf", "isinf", differentiable=False, allowed=FLOATS, result_dtype=dtypes.bool_)
_unary("IsFinite", "isfinite", differentiable=False, allowed=FLOATS, result_dtype=dtypes.bool_)
_unary("LogicalNot", "logical_not", differentiable=False, allowed=(dtypes.bool_,))


@register_op
class Erf(UnaryOp):
    make_inplace_kernel = None  # its kernel is not a single ufunc
    op_type = "Erf"
    allowed = FLOATS

    def make_kernel(self, op, ctx):
        xp = ctx.xp
        if xp is np:
            from math import erf as scalar_erf
            vec = np.vectorize(scalar_erf, otypes=[np.float64])
            return lambda x: vec(x).astype(x.dtype, copy=False)
        import cupyx.scipy.special as special  # CuPy ships erf as a ufunc
        return special.erf

    def grad(self, op, dy):
        x = op.inputs[0]
        return [dy * (2.0 / np.sqrt(np.pi)) * exp(-x * x)]



# ---------------------------------------------------------------------------------------------------------------------
# Elementwise binary ops
# ---------------------------------------------------------------------------------------------------------------------
class BinaryOp(OpDef):
    """z = f(x, y) elementwise with numpy broadcasting; both inputs share a dtype."""

    ufunc = ""
    allowed = NUMERIC
    result_dtype = None  # None: same as inputs
    attrs = {"T": None}

    def infer(self, op):
        x, y = op.inputs
        if x.dtype != y.dtype:
            raise TypeError(f"{op.type} inputs must have the same dtype, got {x.dtype.name} and {y.dtype.name}")
        if x.dtype not in self.allowed:
            raise TypeError(f"{op.type} does not support dtype {x.dtype.name}")
        return [(self.result_dtype or x.dtype, broadcast_shapes(x.shape, y.shape))]

    fresh_output = True

    def make_kernel(self, op, ctx):
        return getattr(ctx.xp, self.ufunc)

    def make_inplace_kernel(self, op, ctx):
        ufunc = getattr(ctx.xp, self.ufunc)
        return lambda x, y: ufunc(x, y, out=x)

    def kernel(self, xp, x, y):
        return getattr(xp, self.ufunc)(x, y)


def _binary(op_type: str, ufunc: str, grad=None, allowed=NUMERIC, result_dtype=None, differentiable=True):
    """Registers an elementwise binary op; `grad` is a pair (d/dx, d/dy) of functions of (x, y, z, dy)."""
    body = {"op_type": op_type, "ufunc": ufunc, "allowed": allowed, "result_dtype": result_dtype,
            "__doc__": f"Elementwise {ufunc} with broadcasting (TF op {op_type})."}
    if grad is not None:
        def grad_method(self, op, dy):
            # `grad` holds one function per input; only the inputs that need a gradient get ops built
            x, y = op.inputs
            z = op.outputs[0]
            return [sum_to(grad[i](x, y, z, dy), t, partners=(other,)) if gradient_wanted(i) else None
                    for i, (t, other) in enumerate(((x, y), (y, x)))]
        body["grad"] = grad_method
    elif not differentiable:
        body["grad"] = None
    return register_op(type(op_type, (BinaryOp,), body))


_binary("Add", "add", (lambda x, y, z, dy: dy, lambda x, y, z, dy: dy))
_binary("AddV2", "add", (lambda x, y, z, dy: dy, lambda x, y, z, dy: dy))
_binary("Sub", "subtract", (lambda x, y, z, dy: dy, lambda x, y, z, dy: -dy))
_binary("Mul", "multiply", (lambda x, y, z, dy: dy * y, lambda x, y, z, dy: dy * x))
_binary("RealDiv", "true_divide", (lambda x, y, z, dy: dy / y, lambda x, y, z, dy: -dy * z / y), FLOATS)
_binary("Maximum", "maximum", (lambda x, y, z, dy: dy * cast(greater_equal(x, y), dy.dtype),
                               lambda x, y, z, dy: dy * cast(less(x, y), dy.dtype)))
_binary("Minimum", "minimum", (lambda x, y, z, dy: dy * cast(less_equal(x, y), dy.dtype),
                               lambda x, y, z, dy: dy * cast(greater(x, y), dy.dtype)))
# atan2(y, x): d/dy = x / (x² + y²), d/dx = -y / (x² + y²)
_binary("Atan2", "arctan2", (lambda y, x, z, dy: dy * x / (x * x + y * y),
                             lambda y, x, z, dy: -dy * y / (x * x + y * y)), FLOATS)
_binary("FloorDiv", "floor_divide", differentiable=False)
_binary("FloorMod", "mod", differentiable=False)
for _name, _ufunc in (("Equal", "equal"), ("NotEqual", "not_equal"), ("Less", "less"), ("LessEqual", "less_equal"),
                      ("Greater", "greater"), ("GreaterEqual", "greater_equal")):
    _binary(_name, _ufunc, allowed=NUMERIC + (dtypes.bool_, dtypes.string), result_dtype=dtypes.bool_,
            differentiable=False)
for _name, _ufunc in (("LogicalAnd", "logical_and"), ("LogicalOr", "logical_or"), ("LogicalXor", "logical_xor")):
    _binary(_name, _ufunc, allowed=(dtypes.bool_,), differentiable=False)


@register_op
class SquaredDifference(BinaryOp):
    """(x - y)² elementwise."""

    make_inplace_kernel = None  # its kernel is not a single ufunc
    op_type = "SquaredDifference"

    def make_kernel(self, op, ctx):
        square, subtract_ = ctx.xp.square, ctx.xp.subtract
        return lambda x, y: square(subtract_(x, y))

    def grad(self, op, dy):
        x, y = op.inputs
        g = dy * 2 * (x - y)
        return [sum_to(g, x, partners=(y,)), sum_to(-g, y, partners=(x,))]


@register_op
class Pow(BinaryOp):
    """x ** y elementwise."""

    op_type = "Pow"
    ufunc = "power"

    def grad(self, op, dy):
        x, y = op.inputs
        z = op.outputs[0]
        gx = sum_to(dy * y * pow(x, y - 1), x, partners=(y,)) if gradient_wanted(0) else None
        if not x.dtype.is_floating or not gradient_wanted(1):
            return [gx, None]
        # d/dy x^y = x^y log x, taken as 0 where x <= 0 (as TF does)
        safe_x = where_(greater(x, 0), x, ones_like_(x))
        gy = dy * z * where_(greater(x, 0), log(safe_x), zeros_like_(x))
        return [gx, sum_to(gy, y, partners=(x,))]


def where_(c, a, b):
    from .select_ops import where
    return where(c, a, b)


def ones_like_(x):
    from .array_ops import ones_like
    return ones_like(x)


def zeros_like_(x):
    from .array_ops import zeros_like
    return zeros_like(x)


@register_op
class AddN(OpDef):
    """Sum of N tensors of one shape and dtype."""

    op_type = "AddN"
    attrs = {"N": None, "T": None}

    def infer(self, op):
        first = op.inputs[0]
        shape = first.shape
        for t in op.inputs[1:]:
            if t.dtype != first.dtype:
                raise TypeError(f"AddN inputs must share a dtype: {first.dtype.name} vs {t.dtype.name}")
            shape = shape.merge_with(t.shape)
        return [(first.dtype, shape)]

    def make_kernel(self, op, ctx):
        add, asarray = ctx.xp.add, ctx.xp.asarray

        def add_n(first, *rest):
            # numpy returns a scalar, not an array, for 0-d operands; accumulating in place needs an array
            total = asarray(add(first, rest[0])) if rest else first.copy()
            for r in rest[1:]:
                add(total, r, out=total)  # total is our own fresh array: accumulate in place
            return total
        return add_n

    def grad(self, op, dy):
        return [dy] * len(op.inputs)


@register_op
class IdentityN(OpDef):
    """Returns its N inputs unchanged, as N outputs (custom_gradient hangs its gradient on one)."""

    op_type = "IdentityN"
    attrs = {"T": None}
    may_alias_input = True

    def infer(self, op):
        return [(t.dtype, t.shape) for t in op.inputs]

    def make_kernel(self, op, ctx):
        # a Plan stores a single-output op's result as is, a multi-output op's as a tuple
        return (lambda x: x) if len(op.inputs) == 1 else (lambda *arrays: arrays)

    def grad(self, op, *dys):
        return list(dys)


@register_op
class Cast(OpDef):
    """Converts to `DstT`."""

    op_type = "Cast"
    attrs = {"DstT": REQUIRED, "SrcT": None, "Truncate": False}

    def infer(self, op):
        return [(dtypes.as_dtype(op.attrs["DstT"]), op.inputs[0].shape)]

    def make_kernel(self, op, ctx):
        target = dtypes.as_dtype(op.attrs["DstT"]).numpy
        return lambda x: x.astype(target)

    def grad(self, op, dy):
        x = op.inputs[0]
        if x.dtype.is_floating and dy.dtype.is_floating:
            return [cast(dy, x.dtype)]
        return [None]


# ---------------------------------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------------------------------
def _unary_builder(op_type: str, default_name: Optional[str] = None):
    def builder(x: Any, name: Optional[str] = None):
        return apply_op(op_type, [x], name=name or default_name or op_type)
    builder.__name__ = op_type.lower()
    builder.__doc__ = f"Elementwise {op_type}."
    return builder


def _binary_builder(op_type: str):
    def builder(x: Any, y: Any, name: Optional[str] = None):
        x, y = convert_pair(x, y)
        return x.graph.create_op(op_type, [x, y], name=name or op_type).outputs[0]
    builder.__name__ = op_type.lower()
    builder.__doc__ = f"Elementwise {op_type} with numpy broadcasting."
    return builder


negative = _unary_builder("Neg")
abs = _unary_builder("Abs")
sign = _unary_builder("Sign")
square = _unary_builder("Square")
sqrt = _unary_builder("Sqrt")
rsqrt = _unary_builder("Rsqrt")
exp = _unary_builder("Exp")
expm1 = _unary_builder("Expm1")
log = _unary_builder("Log")
log1p = _unary_builder("Log1p")
sin = _unary_builder("Sin")
cos = _unary_builder("Cos")
tan = _unary_builder("Tan")
asin = _unary_builder("Asin")
acos = _unary_builder("Acos")
atan = _unary_builder("Atan")
sinh = _unary_builder("Sinh")
cosh = _unary_builder("Cosh")
tanh = _unary_builder("Tanh")
sigmoid = _unary_builder("Sigmoid")
reciprocal = _unary_builder("Reciprocal")
floor = _unary_builder("Floor")
ceil = _unary_builder("Ceil")
round = _unary_builder("Round")
erf = _unary_builder("Erf")
is_nan = _unary_builder("IsNan")
is_inf = _unary_builder("IsInf")
is_finite = _unary_builder("IsFinite")
logical_not = _unary_builder("LogicalNot")

add = _binary_builder("Add")
subtract = _binary_builder("Sub")
multiply = _binary_builder("Mul")
realdiv = _binary_builder("RealDiv")
maximum = _binary_builder("Maximum")
minimum = _binary_builder("Minimum")
squared_difference = _binary_builder("SquaredDifference")
floordiv = floor_div = _binary_builder("FloorDiv")


def atan2(y: Any, x: Any, name: Optional[str] = None):
    """Elementwise angle of the point (x, y) in radians, in [-pi, pi] (TF op Atan2, numpy arctan2)."""
    y, x = convert_pair(y, x)
    return y.graph.create_op("Atan2", [y, x], name=name or "Atan2").outputs[0]
mod = floormod = _binary_builder("FloorMod")
pow = _binary_builder("Pow")
equal = _binary_builder("Equal")
not_equal = _binary_builder("NotEqual")
less = _binary_builder("Less")
less_equal = _binary_builder("LessEqual")
greater = _binary_builder("Greater")
greater_equal = _binary_builder("GreaterEqual")
logical_and = _binary_builder("LogicalAnd")
logical_or = _binary_builder("LogicalOr")
logical_xor = _binary_builder("LogicalXor")


def truediv(x: Any, y: Any, name: Optional[str] = None):
    """x / y; integer inputs are converted to floating point first (as TF1's truediv)."""
    x, y = convert_pair(x, y)
    if x.dtype.is_integer:
        target = dtypes.float64 if x.dtype.size >= 4 else dtypes.float32
        x, y = cast(x, target), cast(y, target)
    return x.graph.create_op("RealDiv", [x, y], name=name or "truediv").outputs[0]


divide = truediv


def div(x: Any, y: Any, name: Optional[str] = None):
    """TF1's div: floor division for integers, true division for floats."""
    x, y = convert_pair(x, y)
    return floordiv(x, y, name) if x.dtype.is_integer else truediv(x, y, name)


def log_sigmoid(x: Any, name: Optional[str] = None):
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    x = convert_to_tensor(x)
    return negative(maximum(-x, 0.0) + log1p(exp(-abs(x))), name=name)


def scalar_mul(scalar: Any, x: Any, name: Optional[str] = None):
    return multiply(scalar, x, name=name)


def add_n(inputs: Sequence[Any], name: Optional[str] = None):
    """Sums a list of tensors of the same shape and dtype."""
    inputs = list(inputs)
    if not inputs:
        raise ValueError("add_n needs at least one input")
    graph = graph_of(inputs)
    tensors = [convert_to_tensor(t, graph=graph) for t in inputs]
    if len(tensors) == 1:
        return tensors[0]
    return graph.create_op("AddN", tensors, {"N": len(tensors)}, name=name or "AddN").outputs[0]


accumulate_n = add_n


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: Optional[str] = None):
    """Clips values to [clip_value_min, clip_value_max] (gradient passes where not clipped)."""
    t = convert_to_tensor(t)
    graph = t.graph
    with graph.name_scope(name or "clip_by_value"):
        return maximum(minimum(t, clip_value_max), clip_value_min)


def cast(x: Any, dtype: Any, name: Optional[str] = None):
    """Converts `x` to `dtype` (a no-op when it already has it)."""
    x = convert_to_tensor(x)
    target = dtypes.as_dtype(dtype)
    if x.dtype == target:
        return x
    return x.graph.create_op("Cast", [x], {"DstT": target, "SrcT": x.dtype}, name=name or "Cast").outputs[0]


def to_float(x: Any, name: str = "ToFloat"):
    return cast(x, dtypes.float32, name=name)


def to_int32(x: Any, name: str = "ToInt32"):
    return cast(x, dtypes.int32, name=name)


def to_int64(x: Any, name: str = "ToInt64"):
    return cast(x, dtypes.int64, name=name)


from .linalg_ops import argmax, argmin, count_nonzero, cumprod, cumsum, matmul, tensordot  # noqa: E402
from .reduction_ops import (reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean,  # noqa: E402
                            reduce_min, reduce_prod, reduce_std, reduce_sum, reduce_variance)


# ---------------------------------------------------------------------------------------------------------------------
# Operator overloads
# ---------------------------------------------------------------------------------------------------------------------
def _reverse(fn):
    return lambda x, y: fn(y, x)


for _op, _fn in (("__add__", add), ("__sub__", subtract), ("__mul__", multiply), ("__truediv__", truediv),
                 ("__floordiv__", floordiv), ("__mod__", mod), ("__pow__", pow), ("__matmul__", matmul),
                 ("__and__", logical_and), ("__or__", logical_or), ("__xor__", logical_xor)):
    register_overload(_op, _fn)
    register_overload("__r" + _op[2:], _reverse(_fn))
for _op, _fn in (("__lt__", less), ("__le__", less_equal), ("__gt__", greater), ("__ge__", greater_equal)):
    register_overload(_op, _fn)
register_overload("__neg__", negative)
register_overload("__abs__", abs)
register_overload("__invert__", logical_not)
