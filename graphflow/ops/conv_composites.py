"""Convolutions TF1 builds from Conv2D and DepthwiseConv2dNative: conv1d, separable_conv2d, atrous_conv2d."""
from __future__ import annotations

from typing import Any, Optional

from ..framework.convert import convert_to_tensor
from ..framework.tensor import Tensor
from .conv_ops import conv2d, depthwise_conv2d
from .shape_ops import expand_dims, squeeze

__all__ = ["conv1d", "separable_conv2d", "atrous_conv2d"]


def conv1d(value: Any = None, filters: Any = None, stride: Any = 1, padding: str = "VALID", use_cudnn_on_gpu: Any = None,
           data_format: str = "NWC", name: Optional[str] = None, input: Any = None, dilations: Any = 1) -> Tensor:
    """1-D convolution of a (batch, width, in_channels) input with a (width, in_channels, out_channels) filter.

    As in TF1: the input gains a height of 1 and the filter a leading 1, Conv2D runs, and the height is squeezed
    away (so gradients and GraphDefs are Conv2D's). data_format "NCW" puts channels before width.
    """
    value = value if value is not None else input
    if value is None or filters is None:
        raise ValueError("conv1d needs an input (value) and filters")
    if data_format not in ("NWC", "NCW"):
        raise ValueError(f"conv1d: data_format must be 'NWC' or 'NCW', got {data_format!r}")
    x, w = convert_to_tensor(value), convert_to_tensor(filters)
    if x.shape.rank not in (None, 3) or w.shape.rank not in (None, 3):
        raise ValueError(f"conv1d needs a rank-3 input and filter, got {x.shape} and {w.shape}")
    stride = stride if isinstance(stride, int) else int(list(stride)[-1 if data_format == "NWC" else 2])
    dilation = dilations if isinstance(dilations, int) else int(list(dilations)[-1 if data_format == "NWC" else 2])
    with x.graph.name_scope(name or "conv1d"):
        if data_format == "NWC":
            y = conv2d(expand_dims(x, 1), expand_dims(w, 0), [1, 1, stride, 1], padding,
                       dilations=[1, 1, dilation, 1])
            return squeeze(y, [1])
        y = conv2d(expand_dims(x, 2), expand_dims(w, 0), [1, 1, 1, stride], padding, data_format="NCHW",
                   dilations=[1, 1, 1, dilation])
        return squeeze(y, [2])


def separable_conv2d(input: Any, depthwise_filter: Any, pointwise_filter: Any, strides: Any, padding: str,
                     rate: Any = None, name: Optional[str] = None, data_format: Optional[str] = None,
                     dilations: Any = None) -> Tensor:
    """A depthwise convolution (filter (kH, kW, in, multiplier)) followed by a 1x1 convolution mixing channels
    (filter (1, 1, in * multiplier, out)), as TF1's tf.nn.separable_conv2d."""
    pointwise = convert_to_tensor(pointwise_filter)
    if pointwise.shape.rank not in (None, 4) or (pointwise.shape.rank == 4 and pointwise.shape.dims[:2] != (1, 1)):
        raise ValueError(f"separable_conv2d: the pointwise filter must have shape (1, 1, in, out), got {pointwise.shape}")
    x = convert_to_tensor(input)
    with x.graph.name_scope(name or "separable_conv2d"):
        depthwise = depthwise_conv2d(x, depthwise_filter, strides, padding, rate=rate, data_format=data_format,
                                     dilations=dilations)
        return conv2d(depthwise, pointwise, [1, 1, 1, 1], "VALID", data_format=data_format or "NHWC")


def atrous_conv2d(value: Any, filters: Any, rate: int, padding: str, name: Optional[str] = None) -> Tensor:
    """Dilated ("atrous") convolution of an NHWC input: Conv2D with dilations (1, rate, rate, 1) and stride 1."""
    if not isinstance(rate, int) or rate < 1:
        raise ValueError(f"atrous_conv2d: rate must be a positive int, got {rate!r}")
    return conv2d(value, filters, [1, 1, 1, 1], padding, dilations=[1, rate, rate, 1], name=name or "atrous_conv2d")
