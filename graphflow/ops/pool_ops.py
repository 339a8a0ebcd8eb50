"""2-D max and average pooling ops of gf.nn (MaxPool, AvgPool and their gradient ops), with TF's attrs and shapes."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..framework.registry import REQUIRED, OpDef, register_op
from ..framework.tensor import Tensor
from ..framework.convert import convert_to_tensor
from .builder import FLOATS, NUMERIC, apply_op
from .conv_math import pad_nhwc
from .conv_ops import (WindowSpec, check_float_inputs, check_rank4, check_shape_input, expand_spatial, from_nhwc,
                       host_ints, nhwc_dims, output_hw, padding_attrs, same_attrs, shape_tensor, static_shape_of,
                       window_spec)
from .pool_math import avg_pool_grad_nhwc, avg_pool_nhwc, max_pool_grad_nhwc, max_pool_nhwc, pool_geometry

__all__ = ["max_pool", "avg_pool", "max_pool2d", "avg_pool2d"]


def _pooled_shape(op, spec: WindowSpec, input_shape):
    """(N, out_h, out_w, C) in the op's data format, out sizes by TF's rules for the ksize window."""
    n, h, w, c = nhwc_dims(input_shape, spec.nchw)
    out_h, out_w = output_hw(op.type, (h, w), spec.window, spec)
    return from_nhwc([n, out_h, out_w, c], spec.nchw)


def _to_nhwc(spec: WindowSpec, array: Any) -> Any:
    return array.transpose(0, 2, 3, 1) if spec.nchw else array


def _from_nhwc(spec: WindowSpec, array: Any) -> Any:
    return array.transpose(0, 3, 1, 2) if spec.nchw else array


def _nhwc_sizes(spec: WindowSpec, sizes: Any) -> list:
    n, a, b, c = host_ints(sizes)
    return [n, b, c, a] if spec.nchw else [n, a, b, c]


class _Pool(OpDef):
    """y = a reduction over each ksize window (pool_math); a SAME window never counts its padding."""

    fresh_output = True  # every kernel path returns a newly allocated array
    intra_op_parallel = True

    allowed = FLOATS
    grad_type = ""

    def infer(self, op):
        x = op.inputs[0]
        if x.dtype not in self.allowed:
            raise TypeError(f"{op.type} does not support dtype {x.dtype.name}; allowed: "
                            f"{[d.name for d in self.allowed]}")
        check_rank4(op.type, "input", x)
        return [(x.dtype, _pooled_shape(op, window_spec(op), x.shape))]


@register_op
class MaxPool(_Pool):
    """y[n, r, c, ch] = max_{i < kh, j < kw} x[n, r*sh + i - pad_top, c*sw + j - pad_left, ch] over real elements."""

    op_type = "MaxPool"
    attrs = {"T": None, "ksize": REQUIRED, "strides": REQUIRED, "padding": REQUIRED, "explicit_paddings": [],
             "data_format": "NHWC"}
    allowed = NUMERIC

    def make_kernel(self, op, ctx):
        spec, xp = window_spec(op), ctx.xp
        window, strides, padding = spec.window, spec.strides, spec.padding
        return lambda x: _from_nhwc(spec, max_pool_nhwc(_to_nhwc(spec, x), window, strides, padding, xp=xp))

    def grad(self, op, dy):
        return [apply_op("MaxPoolGrad", [op.inputs[0], op.outputs[0], dy], same_attrs(op), name="MaxPoolGrad")]


@register_op
class AvgPool(_Pool):
    """y[n, r, c, ch] = mean of x over the real (non-padding) elements of window (r, c)."""

    op_type = "AvgPool"
    attrs = {"T": None, "ksize": REQUIRED, "strides": REQUIRED, "padding": REQUIRED, "data_format": "NHWC"}

    def make_kernel(self, op, ctx):
        spec, xp = window_spec(op), ctx.xp
        window, strides, padding = spec.window, spec.strides, spec.padding
        return lambda x: _from_nhwc(spec, avg_pool_nhwc(_to_nhwc(spec, x), window, strides, padding, xp=xp))

    def grad(self, op, dy):
        return [apply_op("AvgPoolGrad", [shape_tensor(op.inputs[0]), dy], same_attrs(op), name="AvgPoolGrad")]


@register_op
class MaxPoolGrad(OpDef):
    """dx: each dy[n, r, c, ch] added to the first (row-major) maximum of its window in orig_input, as TF routes
    ties. Inputs (orig_input, orig_output, grad). Linear in grad, whose gradient is MaxPoolGradGrad."""

    fresh_output = True  # every kernel path returns a newly allocated array
    intra_op_parallel = True

    op_type = "MaxPoolGrad"
    attrs = MaxPool.attrs

    def infer(self, op):
        x, y, dy = op.inputs
        dtype = check_float_inputs(op, (x, y, dy))
        for what, t in (("orig_input", x), ("orig_output", y), ("grad", dy)):
            check_rank4(op.type, what, t)
        pooled = _pooled_shape(op, window_spec(op), x.shape)
        for what, t in (("orig_output", y), ("grad", dy)):
            if not pooled.is_compatible_with(t.shape):
                raise ValueError(f"{op.type}: {what} has shape {t.shape}, but pooling orig_input of shape {x.shape} "
                                 f"gives {pooled}")
        return [(dtype, x.shape)]

    def make_kernel(self, op, ctx, positive_maxima_only=False):
        spec, xp = window_spec(op), ctx.xp
        window, strides, padding = spec.window, spec.strides, spec.padding

        def max_pool_grad(x, y, dy, *unused):
            dx = max_pool_grad_nhwc(_to_nhwc(spec, x), _to_nhwc(spec, y), _to_nhwc(spec, dy), window, strides,
                                    padding, xp=xp, positive_maxima_only=positive_maxima_only)
            return _from_nhwc(spec, dx)
        return max_pool_grad

    def fuse(self, op, followers, ctx):
        """The backward pass of max_pool(relu(h)): ReluGrad(MaxPoolGrad(r, y, dy), r) with r = relu(h) equals
        MaxPoolGrad(r, y, dy * (y > 0)), since a gradient reaches only an input r equal to its window's maximum
        y. Masking the pooled gradient, block by block, instead of the input-sized one saves a pass over k*k times
        more elements (about 1.0 ms a step on Deep-MNIST)."""
        relu_grad = followers[0]
        if (relu_grad.type != "ReluGrad" or relu_grad.inputs[0] is not op.outputs[0]
                or relu_grad.inputs[1] is not op.inputs[0]):
            return None
        # the fused kernel also receives ReluGrad's features, which are the pooled input x itself
        return self.make_kernel(op, ctx, positive_maxima_only=True), 1

    def grad(self, op, ddx):
        # The routing depends on orig_input/orig_output only through comparisons: zero gradient almost everywhere.
        x, y, _ = op.inputs
        return [None, None, apply_op("MaxPoolGradGrad", [x, y, ddx], same_attrs(op), name="MaxPoolGradGrad")]


def max_pool_grad_grad_nhwc(xp: Any, x: Any, y: Any, ddx: Any, window: Any, strides: Any, padding: Any) -> Any:
    """ddy[n, r, c, ch] = ddx at the input MaxPoolGrad routes output (n, r, c, ch) to: the first (row-major) window
    element equal to the maximum y. Padding is NaN, which equals nothing, so it is never chosen."""
    g = pool_geometry(x.shape, window, strides, padding)
    x_padded = pad_nhwc(xp, x, g.pads, np.nan)
    ddx_padded = pad_nhwc(xp, ddx, g.pads)
    ddy = xp.zeros(y.shape, dtype=ddx.dtype)
    claimed = xp.zeros(y.shape, dtype=bool)
    hit = xp.empty(y.shape, dtype=bool)
    zero = ddx.dtype.type(0)
    for _, _, rows, cols in g.taps(0, g.out_h):
        xp.equal(x_padded[:, rows, cols, :], y, out=hit)
        xp.greater(hit, claimed, out=hit)  # for booleans, hit > claimed is "hit and not yet claimed"
        xp.logical_or(claimed, hit, out=claimed)
        ddy += xp.where(hit, ddx_padded[:, rows, cols, :], zero)
    return ddy


@register_op
class MaxPoolGradGrad(OpDef):
    """The gradient of MaxPoolGrad with respect to its grad input: ddy = ddx gathered at each window's first
    maximum. Inputs (orig_input, orig_output, grad) with grad shaped like orig_input; output shaped like
    orig_output."""

    op_type = "MaxPoolGradGrad"
    attrs = MaxPool.attrs

    def infer(self, op):
        x, y, ddx = op.inputs
        dtype = check_float_inputs(op, (x, y, ddx))
        for what, t in (("orig_input", x), ("orig_output", y), ("grad", ddx)):
            check_rank4(op.type, what, t)
        if not x.shape.is_compatible_with(ddx.shape):
            raise ValueError(f"{op.type}: grad has shape {ddx.shape} but orig_input has shape {x.shape}")
        return [(dtype, _pooled_shape(op, window_spec(op), x.shape).merge_with(y.shape))]

    def make_kernel(self, op, ctx):
        spec, xp = window_spec(op), ctx.xp
        window, strides, padding = spec.window, spec.strides, spec.padding

        def max_pool_grad_grad(x, y, ddx):
            ddy = max_pool_grad_grad_nhwc(xp, _to_nhwc(spec, x), _to_nhwc(spec, y), _to_nhwc(spec, ddx), window,
                                          strides, padding)
            return _from_nhwc(spec, ddy)
        return max_pool_grad_grad

    def grad(self, op, dddy):
        x, y, _ = op.inputs
        return [None, None, apply_op("MaxPoolGrad", [x, y, dddy], same_attrs(op), name="MaxPoolGrad")]


@register_op
class AvgPoolGrad(OpDef):
    """dx[p] = sum over the windows w containing p of grad[w] / count[w] (count excludes padding). Inputs
    (orig_input_shape, grad); linear in grad, whose gradient is AvgPool."""

    fresh_output = True  # every kernel path returns a newly allocated array
    intra_op_parallel = True

    op_type = "AvgPoolGrad"
    attrs = AvgPool.attrs

    def infer(self, op):
        sizes, dy = op.inputs
        dtype = check_float_inputs(op, (dy,))
        check_shape_input(op, sizes)
        check_rank4(op.type, "grad", dy)
        input_shape = static_shape_of(sizes)
        pooled = _pooled_shape(op, window_spec(op), input_shape)
        if not pooled.is_compatible_with(dy.shape):
            raise ValueError(f"{op.type}: grad has shape {dy.shape}, but pooling an input of shape {input_shape} "
                             f"gives {pooled}")
        return [(dtype, input_shape)]

    def make_kernel(self, op, ctx):
        spec, xp = window_spec(op), ctx.xp
        window, strides, padding = spec.window, spec.strides, spec.padding

        def avg_pool_grad(sizes, dy):
            dx = avg_pool_grad_nhwc(_nhwc_sizes(spec, sizes), _to_nhwc(spec, dy), window, strides, padding, xp=xp)
            return _from_nhwc(spec, dx)
        return avg_pool_grad

    def grad(self, op, ddx):
        attrs = same_attrs(op)
        return [None, apply_op("AvgPool", [ddx], attrs, name="AvgPool")]


# ---------------------------------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------------------------------
def _pool(op_type: str, value: Any, ksize: Any, strides: Any, padding: Any, data_format: str,
          name: Optional[str]) -> Tensor:
    x = convert_to_tensor(value)
    try:
        padding, explicit = padding_attrs(op_type, padding)
        attrs = {"T": x.dtype, "ksize": expand_spatial(op_type, "ksize", ksize, data_format),
                 "strides": expand_spatial(op_type, "strides", strides, data_format), "padding": padding,
                 "data_format": data_format}
        if op_type == "MaxPool":
            attrs["explicit_paddings"] = explicit
        elif explicit:
            raise ValueError(f"{op_type}: explicit padding is not supported (TF's AvgPool takes 'SAME' or 'VALID')")
    except ValueError as e:
        raise ValueError(f"{e} (input {x.name}: {x.shape})") from None
    return apply_op(op_type, [x], attrs, name=name or op_type)


def _pick_input(op_type: str, value: Any, input: Any) -> Any:
    if (value is None) == (input is None):
        raise ValueError(f"{op_type}: pass exactly one of value and input")
    return value if input is None else input


def max_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None,
             data_format: str = "NHWC", name: Optional[str] = None, input: Any = None) -> Tensor:
    """Max pooling (TF's MaxPool): the maximum of each ksize window, windows `strides` apart.

    Args:
      value / input: 4-D tensor in `data_format` ("NHWC" or "NCHW").
      ksize, strides: an int or a list of 1, 2 or 4 ints (4: in `data_format` order, batch and channel 1).
      padding: "SAME" (out = ceil(in / stride); padding never wins), "VALID" (out = floor((in - k) / stride) + 1),
        or explicit [[0, 0], [top, bottom], [left, right], [0, 0]].
    Returns:
      The pooled tensor, same dtype and channels.
    """
    return _pool("MaxPool", _pick_input("max_pool", value, input), ksize, strides, padding, data_format, name)


def avg_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None,
             data_format: str = "NHWC", name: Optional[str] = None, input: Any = None) -> Tensor:
    """Average pooling (TF's AvgPool): the mean of each window over its non-padding elements (SAME excludes the
    padding from the divisor). Arguments as in max_pool; padding is "SAME" or "VALID"."""
    return _pool("AvgPool", _pick_input("avg_pool", value, input), ksize, strides, padding, data_format, name)


def max_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",
               name: Optional[str] = None) -> Tensor:
    """max_pool with TF2's argument names."""
    return _pool("MaxPool", input, ksize, strides, padding, data_format, name)


def avg_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",
               name: Optional[str] = None) -> Tensor:
    """avg_pool with TF2's argument names."""
    return _pool("AvgPool", input, ksize, strides, padding, data_format, name)
