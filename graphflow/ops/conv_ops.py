"""2-D convolution ops of gf.nn (Conv2D, depthwise, their backprop ops), with TF's attrs, shapes and gradients."""
from __future__ import annotations

from typing import Any, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor
from ..framework.registry import REQUIRED, OpDef, gradient_wanted, register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor
from .builder import FLOATS, apply_op, const_value, convert_pair
from .conv_math import (conv2d_backprop_filter_nhwc, conv2d_backprop_input_nhwc, conv2d_nhwc, conv_output_size,
                        resolve_padding_2d)
from .fusion import channel_epilogue

__all__ = ["conv2d", "conv2d_transpose", "conv2d_backprop_input", "conv2d_backprop_filter", "depthwise_conv2d",
           "depthwise_conv2d_native", "depthwise_conv2d_native_backprop_input",
           "depthwise_conv2d_native_backprop_filter"]

Pads = Tuple[Tuple[int, int], Tuple[int, int]]
SpatialPadding = Union[str, Pads]

# Axes of (height, width) and of channels in a 4-D tensor of each data format; batch is axis 0 in both.
_SPATIAL_AXES = {"NHWC": (1, 2), "NCHW": (2, 3)}
_CHANNEL_AXIS = {"NHWC": 3, "NCHW": 1}


# ---------------------------------------------------------------------------------------------------------------------
# Attr checking shared by convolutions and pooling (pool_ops imports these)
# ---------------------------------------------------------------------------------------------------------------------
class WindowSpec(NamedTuple):
    """The attrs of one conv/pool op, checked once and reduced to what the NHWC array math takes."""

    nchw: bool
    window: Tuple[int, int]  # pooling ksize (height, width); (1, 1) for convolutions, whose window is the filter
    strides: Tuple[int, int]
    dilations: Tuple[int, int]
    padding: SpatialPadding  # "SAME", "VALID" or ((top, bottom), (left, right))


def check_data_format(op_type: str, data_format: Any) -> str:
    if data_format not in _SPATIAL_AXES:
        raise ValueError(f"{op_type}: data_format must be 'NHWC' or 'NCHW'; got {data_format!r}")
    return data_format


def spatial_pair(op_type: str, what: str, values: Any, data_format: str) -> Tuple[int, int]:
    """(height, width) of a 4-element attr in `data_format` order, whose batch and channel entries must be 1."""
    values = list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values]
    if len(values) != 4:
        raise ValueError(f"{op_type}: {what} must have 4 elements, one per dimension of {data_format}; got {values}")
    if int(values[0]) != 1 or int(values[_CHANNEL_AXIS[data_format]]) != 1:
        raise ValueError(f"{op_type}: {what} on the batch and channel dimensions must be 1; got {values} "
                         f"({data_format})")
    h, w = _SPATIAL_AXES[data_format]
    if int(values[h]) < 1 or int(values[w]) < 1:
        raise ValueError(f"{op_type}: {what} must be positive; got {values}")
    return int(values[h]), int(values[w])


def spatial_padding(op_type: str, padding: Any, explicit_paddings: Sequence[int], data_format: str,
                    allow_explicit: bool = True) -> SpatialPadding:
    """"SAME"/"VALID", or the ((top, bottom), (left, right)) pads of padding="EXPLICIT" with 8 explicit_paddings."""
    explicit_paddings = [int(v) for v in explicit_paddings or ()]
    if padding in ("SAME", "VALID"):
        if explicit_paddings:
            raise ValueError(f"{op_type}: explicit_paddings must be empty unless padding is 'EXPLICIT'; got "
                             f"{explicit_paddings} with padding {padding!r}")
        return padding
    if padding != "EXPLICIT" or not allow_explicit:
        known = "'SAME', 'VALID' or 'EXPLICIT'" if allow_explicit else "'SAME' or 'VALID'"
        raise ValueError(f"{op_type}: unknown padding {padding!r}; expected {known}")
    if len(explicit_paddings) != 8 or min(explicit_paddings) < 0:
        raise ValueError(f"{op_type}: padding 'EXPLICIT' needs explicit_paddings of 8 non-negative integers (a "
                         f"(before, after) pair per dimension); got {explicit_paddings}")
    pairs = [tuple(explicit_paddings[2 * i:2 * i + 2]) for i in range(4)]
    if pairs[0] != (0, 0) or pairs[_CHANNEL_AXIS[data_format]] != (0, 0):
        raise ValueError(f"{op_type}: explicit_paddings on the batch and channel dimensions must be 0; got "
                         f"{explicit_paddings} ({data_format})")
    h, w = _SPATIAL_AXES[data_format]
    return pairs[h], pairs[w]


def window_spec(op) -> WindowSpec:
    """Checks the strides/padding/explicit_paddings/data_format/dilations/ksize attrs of a conv or pool op."""
    attrs, op_type = op.attrs, op.type
    data_format = check_data_format(op_type, attrs.get("data_format", "NHWC"))
    window = spatial_pair(op_type, "ksize", attrs["ksize"], data_format) if "ksize" in attrs else (1, 1)
    strides = spatial_pair(op_type, "strides", attrs["strides"], data_format)
    dilations = spatial_pair(op_type, "dilations", attrs.get("dilations", [1, 1, 1, 1]), data_format)
    padding = spatial_padding(op_type, attrs["padding"], attrs.get("explicit_paddings", ()), data_format,
                              allow_explicit="explicit_paddings" in attrs)
    return WindowSpec(data_format == "NCHW", window, strides, dilations, padding)


def nhwc_dims(shape: TensorShape, nchw: bool) -> List[Optional[int]]:
    """The four dims of a rank-4 shape in NHWC order (all None for an unknown rank)."""
    if shape.rank is None:
        return [None] * 4
    n, a, b, c = shape.dims
    return [n, b, c, a] if nchw else [n, a, b, c]


def from_nhwc(dims: Sequence[Optional[int]], nchw: bool) -> TensorShape:
    n, h, w, c = dims
    return TensorShape([n, c, h, w] if nchw else [n, h, w, c])


def check_rank4(op_type: str, what: str, tensor: Tensor) -> None:
    if tensor.shape.rank not in (None, 4):
        raise ValueError(f"{op_type}: {what} must be rank 4; got shape {tensor.shape} ({tensor.name})")


def output_hw(op_type: str, in_hw: Sequence[Optional[int]], window_hw: Sequence[Optional[int]],
              spec: WindowSpec) -> List[Optional[int]]:
    """Output (height, width) by TF's rules (see conv_output_size); None where an input or window size is unknown."""
    out = []
    for axis in range(2):
        size, k = in_hw[axis], window_hw[axis]
        padding = spec.padding if isinstance(spec.padding, str) else spec.padding[axis]
        if k is None:
            out.append(None)
            continue
        try:
            out.append(conv_output_size(size, k, spec.strides[axis], spec.dilations[axis], padding)[0])
        except ValueError as e:
            raise ValueError(f"{op_type}: {e} (input {'height' if axis == 0 else 'width'} {size}, window "
                             f"{tuple(window_hw)}, strides {spec.strides}, padding {spec.padding!r})") from None
    return out


def runtime_pads(spec: WindowSpec, in_hw: Sequence[int], window_hw: Sequence[int]) -> Pads:
    """Pads of one run: fixed for VALID/EXPLICIT, and for SAME dependent on the (possibly unknown until now) size."""
    if not isinstance(spec.padding, str):
        return spec.padding
    if spec.padding == "VALID":
        return (0, 0), (0, 0)
    return resolve_padding_2d(in_hw, window_hw, spec.strides, spec.dilations, "SAME")[1]


def host_ints(values: Any) -> List[int]:
    """A small integer array (numpy, or CuPy on a GPU) as Python ints."""
    return [int(v) for v in (values.get() if hasattr(values, "get") else values)]


def static_shape_of(tensor: Tensor, rank: int = 4) -> TensorShape:
    """The shape a 1-D shape tensor holds, as far as it is known at build time (Const, or Shape of a tensor)."""
    value = const_value(tensor)
    if value is not None:
        return TensorShape([int(v) for v in np.asarray(value).reshape(-1)])
    if tensor.op.type == "Shape" and tensor.op.inputs[0].shape.rank is not None:
        return tensor.op.inputs[0].shape
    return TensorShape([None] * rank)


def shape_tensor(tensor: Tensor) -> Any:
    """The shape of `tensor` as an int32 value for a gradient op: a constant when static, else a Shape op."""
    if tensor.shape.is_fully_defined():
        return np.asarray(tensor.shape.as_list(), dtype=np.int32)
    from .array_ops import shape
    return shape(tensor)


def same_attrs(op) -> dict:
    """The op's attrs, for a gradient op of the same family (which shares attr names, as in TF)."""
    return {key: value for key, value in op.attrs.items() if not key.startswith("_")}


def check_float_inputs(op, tensors: Sequence[Tensor]) -> dtypes.DType:
    dtype = tensors[0].dtype
    for t in tensors:
        if t.dtype != dtype:
            raise TypeError(f"{op.type}: inputs must share a dtype; got {dtype.name} and {t.dtype.name} ({t.name})")
    if dtype not in FLOATS:
        raise TypeError(f"{op.type} does not support dtype {dtype.name}; allowed: {[d.name for d in FLOATS]}")
    return dtype


def check_shape_input(op, tensor: Tensor) -> None:
    if tensor.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{op.type}: shape input {tensor.name} must be int32 or int64; got {tensor.dtype.name}")
    if tensor.shape.rank not in (None, 1) or tensor.shape.dims and tensor.shape.dims[0] not in (None, 4):
        raise ValueError(f"{op.type}: shape input {tensor.name} must be a vector of 4 sizes; got shape "
                         f"{tensor.shape}")


# ---------------------------------------------------------------------------------------------------------------------
# Shape inference
# ---------------------------------------------------------------------------------------------------------------------
def conv_output_shape(op, spec: WindowSpec, input_shape: TensorShape, filter_shape: TensorShape,
                      depthwise: bool) -> TensorShape:
    """The output shape of a (depthwise) convolution of `input_shape` (in the op's data format) by an HWIO filter.

    Conv2D: in_channels must be a multiple of the filter's in-channels (groups = their ratio), and out_channels of
    groups. Depthwise: the filter is (kH, kW, in_channels, multiplier) and out_channels = in_channels * multiplier.
    """
    n, h, w, c = nhwc_dims(input_shape, spec.nchw)
    kh, kw, filter_in, filter_out = filter_shape.dims if filter_shape.rank is not None else [None] * 4
    shapes = f"input shape {input_shape} ({'NCHW' if spec.nchw else 'NHWC'}), filter shape {filter_shape}"
    if filter_in == 0 or kh == 0 or kw == 0:
        raise ValueError(f"{op.type}: the filter must not be empty; {shapes}")
    if depthwise:
        if c is not None and filter_in is not None and c != filter_in:
            raise ValueError(f"{op.type}: input channels {c} must equal the filter's in-channels {filter_in}; "
                             f"{shapes}")
        out_channels = None if filter_in is None or filter_out is None else filter_in * filter_out
    else:
        if c is not None and filter_in is not None and c % filter_in:
            raise ValueError(f"{op.type}: input channels {c} must be a multiple of the filter's in-channels "
                             f"{filter_in} (their ratio is the number of groups); {shapes}")
        if c is not None and filter_in is not None and filter_out is not None and filter_out % (c // filter_in):
            raise ValueError(f"{op.type}: output channels {filter_out} must be divisible by the number of groups "
                             f"{c // filter_in}; {shapes}")
        out_channels = filter_out
    out_h, out_w = output_hw(op.type, (h, w), (kh, kw), spec)
    return from_nhwc([n, out_h, out_w, out_channels], spec.nchw)


class _ConvFamilyOp(OpDef):
    """Shared attrs and helpers of the Conv2D and DepthwiseConv2dNative families."""

    fresh_output = True  # every kernel path returns a newly allocated array
    intra_op_parallel = True

    depthwise = False

    def to_nhwc(self, spec: WindowSpec, array: Any) -> Any:
        return array.transpose(0, 2, 3, 1) if spec.nchw else array

    def from_nhwc(self, spec: WindowSpec, array: Any) -> Any:
        return array.transpose(0, 3, 1, 2) if spec.nchw else array

    def sizes_nhwc(self, spec: WindowSpec, sizes: Sequence[int]) -> List[int]:
        n, a, b, c = sizes
        return [n, b, c, a] if spec.nchw else [n, a, b, c]

    def filter_and_groups(self, w: Any, in_channels: int) -> Tuple[Any, int]:
        """The HWIO filter and group count conv_math takes: a depthwise (kH, kW, C, m) filter is (kH, kW, 1, C*m)
        with C groups (its output channel c*m + k is group c's k-th, as TF orders them)."""
        if self.depthwise:
            kh, kw, c, m = w.shape
            return w.reshape(kh, kw, 1, c * m), c
        return w, in_channels // w.shape[2]


class _Forward(_ConvFamilyOp):
    """y = conv(input, filter): see conv_math.conv2d_nhwc for the sum (cross-correlation, TF's convention)."""

    backprop_input_type = ""
    backprop_filter_type = ""

    def infer(self, op):
        x, w = op.inputs
        dtype = check_float_inputs(op, (x, w))
        spec = window_spec(op)
        check_rank4(op.type, "input", x)
        check_rank4(op.type, "filter", w)
        return [(dtype, conv_output_shape(op, spec, x.shape, w.shape, self.depthwise))]

    def make_kernel(self, op, ctx):
        spec, xp = window_spec(op), ctx.xp
        strides, dilations = spec.strides, spec.dilations

        def convolve(x, w, epilogue=None):
            x = self.to_nhwc(spec, x)
            hwio, groups = self.filter_and_groups(w, x.shape[3])
            pads = runtime_pads(spec, x.shape[1:3], w.shape[:2])
            return self.from_nhwc(spec, conv2d_nhwc(x, hwio, strides, dilations, pads, groups, xp=xp,
                                                    epilogue=epilogue))
        return convolve

    def fuse(self, op, followers, ctx):
        """An NHWC convolution runs the elementwise ops after it (bias add, activation) on each output block while
        the block is in cache, on the intra-op threads: on Deep-MNIST's first layer, separate Add and Relu passes
        of about 1.0 ms became about 0.6 ms more inside the convolution."""
        if window_spec(op).nchw:
            return None
        epilogue, count = channel_epilogue(op, followers, ctx)
        if epilogue is None:
            return None
        convolve = self.make_kernel(op, ctx)
        return (lambda x, w, *extras: convolve(x, w, lambda block: epilogue(block, *extras))), count

    def grad(self, op, dy):
        x, w = op.inputs
        attrs = same_attrs(op)
        # a first layer's input (the images) needs no gradient: build no Conv2DBackpropInput for it
        dx = (apply_op(self.backprop_input_type, [shape_tensor(x), w, dy], attrs, name=self.backprop_input_type)
              if gradient_wanted(0) else None)
        dw = (apply_op(self.backprop_filter_type, [x, shape_tensor(w), dy], attrs, name=self.backprop_filter_type)
              if gradient_wanted(1) else None)
        return [dx, dw]


class _BackpropInput(_ConvFamilyOp):
    """dx = the input gradient of the forward conv (conv_math.conv2d_backprop_input_nhwc); inputs
    (input_sizes, filter, out_backprop). Linear in filter and out_backprop, so its own gradient is two convs."""

    forward_type = ""
    backprop_filter_type = ""

    def infer(self, op):
        sizes, w, dy = op.inputs
        dtype = check_float_inputs(op, (w, dy))
        check_shape_input(op, sizes)
        spec = window_spec(op)
        check_rank4(op.type, "filter", w)
        check_rank4(op.type, "out_backprop", dy)
        input_shape = static_shape_of(sizes)
        expected = conv_output_shape(op, spec, input_shape, w.shape, self.depthwise)
        if not expected.is_compatible_with(dy.shape):
            raise ValueError(f"{op.type}: out_backprop has shape {dy.shape}, but convolving an input of shape "
                             f"{input_shape} with a filter of shape {w.shape} gives {expected}")
        return [(dtype, input_shape)]

    def make_kernel(self, op, ctx):
        spec, xp = window_spec(op), ctx.xp
        strides, dilations = spec.strides, spec.dilations

        def backprop_input(sizes, w, dy):
            input_shape = self.sizes_nhwc(spec, host_ints(sizes))
            hwio, groups = self.filter_and_groups(w, input_shape[3])
            pads = runtime_pads(spec, input_shape[1:3], w.shape[:2])
            dx = conv2d_backprop_input_nhwc(self.to_nhwc(spec, dy), hwio, input_shape, strides, dilations, pads,
                                            groups, xp=xp)
            return self.from_nhwc(spec, dx)
        return backprop_input

    def grad(self, op, ddx):
        _, w, dy = op.inputs
        attrs = same_attrs(op)
        return [None,
                apply_op(self.backprop_filter_type, [ddx, shape_tensor(w), dy], attrs, name=self.backprop_filter_type),
                apply_op(self.forward_type, [ddx, w], attrs, name=self.forward_type)]


class _BackpropFilter(_ConvFamilyOp):
    """dw = the filter gradient of the forward conv (conv_math.conv2d_backprop_filter_nhwc); inputs
    (input, filter_sizes, out_backprop). Linear in input and out_backprop, so its own gradient is two convs."""

    forward_type = ""
    backprop_input_type = ""

    def infer(self, op):
        x, sizes, dy = op.inputs
        dtype = check_float_inputs(op, (x, dy))
        check_shape_input(op, sizes)
        spec = window_spec(op)
        check_rank4(op.type, "input", x)
        check_rank4(op.type, "out_backprop", dy)
        filter_shape = static_shape_of(sizes)
        expected = conv_output_shape(op, spec, x.shape, filter_shape, self.depthwise)
        if not expected.is_compatible_with(dy.shape):
            raise ValueError(f"{op.type}: out_backprop has shape {dy.shape}, but convolving an input of shape "
                             f"{x.shape} with a filter of shape {filter_shape} gives {expected}")
        return [(dtype, filter_shape)]

    def make_kernel(self, op, ctx):
        spec, xp = window_spec(op), ctx.xp
        strides, dilations = spec.strides, spec.dilations
        depthwise = self.depthwise

        def backprop_filter(x, sizes, dy):
            filter_shape = host_ints(sizes)
            x = self.to_nhwc(spec, x)
            if depthwise:
                kh, kw, c, m = filter_shape
                hwio_shape, groups = (kh, kw, 1, c * m), c
            else:
                hwio_shape, groups = filter_shape, x.shape[3] // filter_shape[2]
            pads = runtime_pads(spec, x.shape[1:3], filter_shape[:2])
            dw = conv2d_backprop_filter_nhwc(x, self.to_nhwc(spec, dy), hwio_shape, strides, dilations, pads,
                                             groups, xp=xp)
            return dw.reshape(filter_shape)
        return backprop_filter

    def grad(self, op, ddw):
        x, _, dy = op.inputs
        attrs = same_attrs(op)
        return [apply_op(self.backprop_input_type, [shape_tensor(x), ddw, dy], attrs, name=self.backprop_input_type),
                None,
                apply_op(self.forward_type, [x, ddw], attrs, name=self.forward_type)]


_CONV_ATTRS = {"T": None, "strides": REQUIRED, "use_cudnn_on_gpu": True, "padding": REQUIRED,
               "explicit_paddings": [], "data_format": "NHWC", "dilations": [1, 1, 1, 1]}
_DEPTHWISE_ATTRS = {"T": None, "strides": REQUIRED, "padding": REQUIRED, "explicit_paddings": [],
                    "data_format": "NHWC", "dilations": [1, 1, 1, 1]}
_CONV_TYPES = {"forward_type": "Conv2D", "backprop_input_type": "Conv2DBackpropInput",
               "backprop_filter_type": "Conv2DBackpropFilter"}
_DEPTHWISE_TYPES = {"forward_type": "DepthwiseConv2dNative",
                    "backprop_input_type": "DepthwiseConv2dNativeBackpropInput",
                    "backprop_filter_type": "DepthwiseConv2dNativeBackpropFilter"}


@register_op
class Conv2D(_Forward):
    """y[n, r, c, o] = sum_{i, j, ch} x_pad[n, r*sh + i*dh, c*sw + j*dw, g*Cg + ch] * w[i, j, ch, o] (NHWC; NCHW
    is transposed around it), o in group g = o // (Cout / groups), groups = Cin / filter in-channels."""

    op_type = "Conv2D"
    attrs = _CONV_ATTRS
    backprop_input_type = _CONV_TYPES["backprop_input_type"]
    backprop_filter_type = _CONV_TYPES["backprop_filter_type"]


@register_op
class Conv2DBackpropInput(_BackpropInput):
    op_type = "Conv2DBackpropInput"
    attrs = _CONV_ATTRS
    forward_type = _CONV_TYPES["forward_type"]
    backprop_filter_type = _CONV_TYPES["backprop_filter_type"]


@register_op
class Conv2DBackpropFilter(_BackpropFilter):
    op_type = "Conv2DBackpropFilter"
    attrs = _CONV_ATTRS
    forward_type = _CONV_TYPES["forward_type"]
    backprop_input_type = _CONV_TYPES["backprop_input_type"]


@register_op
class DepthwiseConv2dNative(_Forward):
    """y[n, r, c, ch*m + k] = sum_{i, j} x_pad[n, r*sh + i*dh, c*sw + j*dw, ch] * w[i, j, ch, k] (NHWC)."""

    op_type = "DepthwiseConv2dNative"
    attrs = _DEPTHWISE_ATTRS
    depthwise = True
    backprop_input_type = _DEPTHWISE_TYPES["backprop_input_type"]
    backprop_filter_type = _DEPTHWISE_TYPES["backprop_filter_type"]


@register_op
class DepthwiseConv2dNativeBackpropInput(_BackpropInput):
    op_type = "DepthwiseConv2dNativeBackpropInput"
    attrs = _DEPTHWISE_ATTRS
    depthwise = True
    forward_type = _DEPTHWISE_TYPES["forward_type"]
    backprop_filter_type = _DEPTHWISE_TYPES["backprop_filter_type"]


@register_op
class DepthwiseConv2dNativeBackpropFilter(_BackpropFilter):
    op_type = "DepthwiseConv2dNativeBackpropFilter"
    attrs = _DEPTHWISE_ATTRS
    depthwise = True
    forward_type = _DEPTHWISE_TYPES["forward_type"]
    backprop_input_type = _DEPTHWISE_TYPES["backprop_input_type"]


# ---------------------------------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------------------------------
def expand_spatial(op_type: str, what: str, value: Any, data_format: str) -> List[int]:
    """An int, or a list of 1, 2 or 4 ints, as TF's 4-element attr in `data_format` order (batch/channel 1)."""
    check_data_format(op_type, data_format)
    values = [value] if isinstance(value, (int, np.integer)) else list(value)
    if len(values) == 1:
        values = values * 2
    if len(values) == 2:
        h, w = _SPATIAL_AXES[data_format]
        full = [1, 1, 1, 1]
        full[h], full[w] = values
        values = full
    if len(values) != 4:
        raise ValueError(f"{op_type}: {what} must be an int or a list of 1, 2 or 4 ints; got {value!r}")
    return [int(v) for v in values]


def padding_attrs(op_type: str, padding: Any) -> Tuple[str, List[int]]:
    """TF's (padding, explicit_paddings) attrs from a padding string or a list of 4 (before, after) pairs."""
    if isinstance(padding, (str, bytes)):
        return (padding.decode() if isinstance(padding, bytes) else padding), []
    try:
        pairs = [tuple(int(v) for v in pair) for pair in padding]
    except TypeError:
        raise ValueError(f"{op_type}: padding must be 'SAME', 'VALID' or 4 (before, after) pairs; got "
                         f"{padding!r}") from None
    if len(pairs) != 4 or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"{op_type}: explicit padding must be 4 (before, after) pairs, one per dimension; got "
                         f"{padding!r}")
    return "EXPLICIT", [v for pair in pairs for v in pair]


def _pick(op_type: str, first: Any, second: Any, names: str) -> Any:
    if (first is None) == (second is None):
        raise ValueError(f"{op_type}: pass exactly one of {names}")
    return first if second is None else second


def _conv_attrs(op_type: str, operands: Sequence[Tensor], strides: Any, padding: Any, data_format: str,
                dilations: Any) -> dict:
    """TF's attrs from a builder's arguments; errors name the op and the operands' shapes."""
    try:
        padding, explicit = padding_attrs(op_type, padding)
        return {"T": operands[0].dtype, "strides": expand_spatial(op_type, "strides", strides, data_format),
                "padding": padding, "explicit_paddings": explicit, "data_format": data_format,
                "dilations": expand_spatial(op_type, "dilations", 1 if dilations is None else dilations,
                                            data_format)}
    except ValueError as e:
        shapes = ", ".join(f"{t.name}: {t.shape}" for t in operands)
        raise ValueError(f"{e} (operands {shapes})") from None


def conv2d(input: Any, filter: Any = None, strides: Any = None, padding: Any = None, use_cudnn_on_gpu: bool = True,
           data_format: str = "NHWC", dilations: Any = (1, 1, 1, 1), name: Optional[str] = None,
           filters: Any = None) -> Tensor:
    """2-D convolution (TF's Conv2D; a cross-correlation, as in TF).

    Args:
      input: 4-D tensor in `data_format` ("NHWC" or "NCHW").
      filter / filters: (kH, kW, in_channels / groups, out_channels). A filter with fewer in-channels than the
        input makes a grouped convolution with groups = in_channels / filter_in_channels.
      strides, dilations: an int or a list of 1, 2 or 4 ints (4: in `data_format` order, batch and channel 1).
      padding: "SAME", "VALID", or explicit [[0, 0], [top, bottom], [left, right], [0, 0]] (data_format order).
    Returns:
      The output, (N, out_h, out_w, out_channels) for NHWC, with out = ceil(in / stride) for SAME and
      floor((in + pads - ((k - 1) * dilation + 1)) / stride) + 1 otherwise.
    """
    filter = _pick("Conv2D", filter, filters, "filter and filters")
    if strides is None or padding is None:
        raise ValueError("Conv2D: strides and padding are required")
    x, w = convert_pair(input, filter)
    attrs = _conv_attrs("Conv2D", (x, w), strides, padding, data_format, dilations)
    attrs["use_cudnn_on_gpu"] = bool(use_cudnn_on_gpu)
    return apply_op("Conv2D", [x, w], attrs, name=name)


def conv2d_backprop_input(input_sizes: Any, filter: Any = None, out_backprop: Any = None, strides: Any = None,
                          padding: Any = None, use_cudnn_on_gpu: bool = True, data_format: str = "NHWC",
                          dilations: Any = (1, 1, 1, 1), name: Optional[str] = None, filters: Any = None) -> Tensor:
    """The gradient of conv2d with respect to its input, whose shape is `input_sizes` (TF's Conv2DBackpropInput)."""
    filter = _pick("Conv2DBackpropInput", filter, filters, "filter and filters")
    w, dy = convert_pair(filter, out_backprop)
    attrs = _conv_attrs("Conv2DBackpropInput", (w, dy), strides, padding, data_format, dilations)
    attrs["use_cudnn_on_gpu"] = bool(use_cudnn_on_gpu)
    sizes = convert_to_tensor(input_sizes, dtype=dtypes.int32, graph=w.graph)
    return apply_op("Conv2DBackpropInput", [sizes, w, dy], attrs, name=name)


def conv2d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any, padding: Any,
                           use_cudnn_on_gpu: bool = True, data_format: str = "NHWC", dilations: Any = (1, 1, 1, 1),
                           name: Optional[str] = None) -> Tensor:
    """The gradient of conv2d with respect to its filter, whose shape is `filter_sizes` (TF's
    Conv2DBackpropFilter)."""
    x, dy = convert_pair(input, out_backprop)
    attrs = _conv_attrs("Conv2DBackpropFilter", (x, dy), strides, padding, data_format, dilations)
    attrs["use_cudnn_on_gpu"] = bool(use_cudnn_on_gpu)
    sizes = convert_to_tensor(filter_sizes, dtype=dtypes.int32, graph=x.graph)
    return apply_op("Conv2DBackpropFilter", [x, sizes, dy], attrs, name=name)


def conv2d_transpose(value: Any = None, filter: Any = None, output_shape: Any = None, strides: Any = None,
                     padding: Any = "SAME", data_format: str = "NHWC", name: Optional[str] = None, input: Any = None,
                     filters: Any = None, dilations: Any = None) -> Tensor:
    """The transpose of conv2d (sometimes called deconvolution): Conv2DBackpropInput of `value` as out_backprop.

    Args:
      value / input: 4-D tensor of shape (N, H, W, in_channels) for NHWC.
      filter / filters: (kH, kW, out_channels, in_channels) — the filter of the conv2d being transposed.
      output_shape: the 4-D output shape, a list or a 1-D int32 tensor.
    Returns:
      A tensor of shape `output_shape`; conv2d of it with `filter` (same strides, padding) has `value`'s shape.
    """
    value = _pick("conv2d_transpose", value, input, "value and input")
    filter = _pick("conv2d_transpose", filter, filters, "filter and filters")
    if strides is None:
        raise ValueError("conv2d_transpose: strides is required")
    return conv2d_backprop_input(output_shape, filter, value, strides, padding, data_format=data_format,
                                 dilations=dilations or 1, name=name or "conv2d_transpose")


def depthwise_conv2d_native(input: Any, filter: Any, strides: Any, padding: Any, data_format: str = "NHWC",
                            dilations: Any = (1, 1, 1, 1), name: Optional[str] = None) -> Tensor:
    """Depthwise convolution (TF's DepthwiseConv2dNative): each input channel ch convolved with its own
    multiplier m filters, y[n, r, c, ch*m + k] = sum_{i, j} x_pad[n, r*sh + i*dh, c*sw + j*dw, ch] * w[i, j, ch, k].

    Args:
      filter: (kH, kW, in_channels, channel_multiplier).
    Returns:
      (N, out_h, out_w, in_channels * channel_multiplier) for NHWC.
    """
    x, w = convert_pair(input, filter)
    attrs = _conv_attrs("DepthwiseConv2dNative", (x, w), strides, padding, data_format, dilations)
    return apply_op("DepthwiseConv2dNative", [x, w], attrs, name=name)


def depthwise_conv2d(input: Any, filter: Any, strides: Any, padding: Any, rate: Any = None, name: Optional[str] = None,
                     data_format: Optional[str] = None, dilations: Any = None) -> Tensor:
    """Depthwise convolution with TF1's signature; `rate` (or `dilations`) is the (height, width) dilation."""
    if rate is not None and dilations is not None:
        raise ValueError("depthwise_conv2d: pass at most one of rate and dilations")
    dilation = rate if rate is not None else dilations
    return depthwise_conv2d_native(input, filter, strides, padding, data_format or "NHWC",
                                   1 if dilation is None else dilation, name=name or "depthwise")


def depthwise_conv2d_native_backprop_input(input_sizes: Any, filter: Any, out_backprop: Any, strides: Any,
                                           padding: Any, data_format: str = "NHWC", dilations: Any = (1, 1, 1, 1),
                                           name: Optional[str] = None) -> Tensor:
    """The gradient of depthwise_conv2d_native with respect to its input, of shape `input_sizes`."""
    w, dy = convert_pair(filter, out_backprop)
    attrs = _conv_attrs("DepthwiseConv2dNativeBackpropInput", (w, dy), strides, padding, data_format, dilations)
    sizes = convert_to_tensor(input_sizes, dtype=dtypes.int32, graph=w.graph)
    return apply_op("DepthwiseConv2dNativeBackpropInput", [sizes, w, dy], attrs, name=name)


def depthwise_conv2d_native_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,
                                            padding: Any, data_format: str = "NHWC", dilations: Any = (1, 1, 1, 1),
                                            name: Optional[str] = None) -> Tensor:
    """The gradient of depthwise_conv2d_native with respect to its filter, of shape `filter_sizes`."""
    x, dy = convert_pair(input, out_backprop)
    attrs = _conv_attrs("DepthwiseConv2dNativeBackpropFilter", (x, dy), strides, padding, data_format, dilations)
    sizes = convert_to_tensor(filter_sizes, dtype=dtypes.int32, graph=x.graph)
    return apply_op("DepthwiseConv2dNativeBackpropFilter", [x, sizes, dy], attrs, name=name)
