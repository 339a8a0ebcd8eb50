"""gf.layers: TF1's functional layers (dense, conv2d, pooling, dropout, batch_normalization, flatten).

Each layer opens a variable scope named after it ("dense", "dense_1" … or `name`) and creates its weights with
get_variable ("dense/kernel", "dense/bias"), so `reuse=True` with the same name shares them, as in TF1.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor
from ..framework.graph import GraphKeys, get_default_graph
from ..framework.tensor import Tensor
from ..ops import array_ops, core_ops, init_ops, linalg_ops, math_ops, reduction_ops, select_ops
from ..ops.variable_scope import get_variable, variable_scope

__all__ = ["dense", "flatten", "dropout", "batch_normalization", "conv2d", "conv2d_transpose", "max_pooling2d",
           "average_pooling2d"]

IntPair = Union[int, Sequence[int]]


def _nn():
    from .. import nn  # gf.nn sits beside layers; imported when a layer is built
    return nn


def _pair(value: IntPair, what: str) -> Tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, got {value}")
    return value


def _padding(padding: str) -> str:
    if padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding.upper()


def _data_format(data_format: str) -> str:
    formats = {"channels_last": "NHWC", "channels_first": "NCHW"}
    if data_format not in formats:
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return formats[data_format]


def _finish(outputs: Tensor, activation: Optional[Callable[[Tensor], Tensor]],
            activity_regularizer: Optional[Callable[[Tensor], Any]]) -> Tensor:
    if activation is not None:
        outputs = activation(outputs)
    if activity_regularizer is not None:
        loss = activity_regularizer(outputs)
        if loss is not None:
            get_default_graph().add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return outputs


def dense(inputs: Any, units: int, activation: Optional[Callable] = None, use_bias: bool = True,
          kernel_initializer: Any = None, bias_initializer: Any = init_ops.zeros_initializer(),
          kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
          kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
          name: Optional[str] = None, reuse: Any = None) -> Tensor:
    """Fully connected layer: activation(inputs @ kernel + bias), contracting the last axis of `inputs`.

    Args:
        inputs: Tensor [..., in_units] with in_units known.
        units: output size.
        activation: applied to the result (None: linear).
        kernel_initializer: default glorot_uniform (get_variable's default).
        name, reuse: variable scope name ("dense" made unique when None) and its reuse mode.

    Returns:
        Tensor [..., units].
    """
    inputs = convert_to_tensor(inputs)
    in_units = inputs.shape.dims[-1] if inputs.shape.rank else None
    if in_units is None:
        raise ValueError(f"The last dimension of the inputs to `dense` should be defined. Found None "
                         f"(inputs {inputs.name} of shape {inputs.shape}).")
    with variable_scope(name, default_name="dense", values=[inputs], reuse=reuse):
        kernel = get_variable("kernel", [in_units, units], dtype=inputs.dtype, initializer=kernel_initializer,
                              regularizer=kernel_regularizer, trainable=trainable)
        if inputs.shape.rank > 2:
            outputs = linalg_ops.tensordot(inputs, kernel, [[inputs.shape.rank - 1], [0]])
        else:
            outputs = linalg_ops.matmul(inputs, kernel)
        if use_bias:
            bias = get_variable("bias", [units], dtype=inputs.dtype, initializer=bias_initializer,
                                regularizer=bias_regularizer, trainable=trainable)
            outputs = _nn().bias_add(outputs, bias)
        return _finish(outputs, activation, activity_regularizer)


def flatten(inputs: Any, name: Optional[str] = None, data_format: str = "channels_last") -> Tensor:
    """Reshapes [batch, d1, d2, …] to [batch, d1·d2·…] (channels_first inputs are transposed to NHWC first)."""
    inputs = convert_to_tensor(inputs)
    graph = inputs.graph
    with graph.name_scope(name or "flatten"):
        if data_format == "channels_first" and inputs.shape.rank and inputs.shape.rank > 2:
            inputs = array_ops.transpose(inputs, [0] + list(range(2, inputs.shape.rank)) + [1])
        rest = inputs.shape.dims[1:] if inputs.shape.rank is not None else None
        if rest is not None and all(d is not None for d in rest):
            return array_ops.reshape(inputs, [-1, int(np.prod(rest))])
        batch = array_ops.shape(inputs)[0]
        return array_ops.reshape(inputs, array_ops.stack([batch, -1]))


def dropout(inputs: Any, rate: float = 0.5, noise_shape: Any = None, seed: Optional[int] = None,
            training: Any = False, name: Optional[str] = None) -> Tensor:
    """Randomly zeroes a fraction `rate` of the inputs and scales the rest by 1 / (1 - rate), when training.

    Args:
        training: a Python bool, or a scalar bool Tensor choosing at run time between the dropped-out and the
            unchanged inputs.

    Returns:
        A Tensor like `inputs`.
    """
    inputs = convert_to_tensor(inputs)
    with inputs.graph.name_scope(name or "dropout"):
        if isinstance(training, (bool, np.bool_)):
            if not training:
                return core_ops.identity(inputs)
            return _nn().dropout(inputs, rate=rate, noise_shape=noise_shape, seed=seed)
        dropped = _nn().dropout(inputs, rate=rate, noise_shape=noise_shape, seed=seed)
        return select_ops.where_v2(convert_to_tensor(training, dtype=dtypes.bool_), dropped, inputs)


def batch_normalization(inputs: Any, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                        center: bool = True, scale: bool = True,
                        beta_initializer: Any = init_ops.zeros_initializer(),
                        gamma_initializer: Any = init_ops.ones_initializer(),
                        moving_mean_initializer: Any = init_ops.zeros_initializer(),
                        moving_variance_initializer: Any = init_ops.ones_initializer(),
                        beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                        gamma_constraint: Any = None, training: Any = False, trainable: bool = True,
                        name: Optional[str] = None, reuse: Any = None, renorm: bool = False,
                        renorm_clipping: Any = None, renorm_momentum: float = 0.99, fused: Any = None,
                        virtual_batch_size: Any = None, adjustment: Any = None) -> Tensor:
    """Batch normalization: gamma · (x - μ) / sqrt(σ² + ε) + beta, per channel `axis`.

    Training uses the batch's mean and (biased) variance over every axis but `axis` and adds to UPDATE_OPS the ops
    moving ← moving - (1 - momentum)(moving - batch) for moving_mean and moving_variance; inference uses the
    moving statistics. Run the UPDATE_OPS with the train op (control_dependencies), as in TF1. Where TF1 would use
    its fused kernel (4-D inputs, axis 1 or 3, fused not False), the moving variance takes the unbiased batch
    variance σ² · n / (n - 1), n the number of values per channel, as that kernel does.

    Args:
        training: Python bool or scalar bool Tensor (then both statistics are built and selected at run time, and
            the update ops leave the moving statistics unchanged when it is False).

    Returns:
        A Tensor like `inputs`.
    """
    if renorm or virtual_batch_size is not None or adjustment is not None:
        raise ValueError("batch_normalization: renorm, virtual_batch_size and adjustment are not supported")
    inputs = convert_to_tensor(inputs)
    rank = inputs.shape.rank
    if rank is None:
        raise ValueError(f"batch_normalization needs inputs of known rank, got {inputs.name} of shape {inputs.shape}")
    axis = axis + rank if axis < 0 else axis
    channels = inputs.shape.dims[axis]
    if channels is None:
        raise ValueError(f"batch_normalization: axis {axis} of inputs {inputs.name} (shape {inputs.shape}) must be "
                         "known")
    reduce_axes = [i for i in range(rank) if i != axis]
    broadcast_shape = [channels if i == axis else 1 for i in range(rank)]

    def as_broadcast(t: Tensor) -> Tensor:
        return t if axis == rank - 1 else array_ops.reshape(t, broadcast_shape)

    with variable_scope(name, default_name="batch_normalization", values=[inputs], reuse=reuse):
        dtype = inputs.dtype
        gamma = get_variable("gamma", [channels], dtype=dtype, initializer=gamma_initializer,
                             regularizer=gamma_regularizer, trainable=trainable) if scale else None
        beta = get_variable("beta", [channels], dtype=dtype, initializer=beta_initializer,
                            regularizer=beta_regularizer, trainable=trainable) if center else None
        moving_mean = get_variable("moving_mean", [channels], dtype=dtype, initializer=moving_mean_initializer,
                                   trainable=False)
        moving_variance = get_variable("moving_variance", [channels], dtype=dtype,
                                       initializer=moving_variance_initializer, trainable=False)
        if isinstance(training, (bool, np.bool_)) and not training:
            mean, variance = moving_mean.value(), moving_variance.value()
        else:
            batch_mean = reduction_ops.reduce_mean(inputs, reduce_axes, name="mean")
            centered = inputs - as_broadcast(batch_mean)
            batch_variance = reduction_ops.reduce_mean(math_ops.square(centered), reduce_axes, name="variance")
            decay = core_ops.constant(1.0 - momentum, dtype=dtype)
            if isinstance(training, (bool, np.bool_)):
                mean, variance = batch_mean, batch_variance
            else:
                flag = convert_to_tensor(training, dtype=dtypes.bool_)
                mean = select_ops.where_v2(flag, batch_mean, moving_mean.value())
                variance = select_ops.where_v2(flag, batch_variance, moving_variance.value())
                decay = select_ops.where_v2(flag, decay, core_ops.constant(0.0, dtype=dtype))
            graph = inputs.graph
            update_variance = batch_variance
            if fused is not False and rank == 4 and axis in (1, 3):
                count = math_ops.cast(array_ops.size(inputs), dtype) / core_ops.constant(float(channels), dtype=dtype)
                one = core_ops.constant(1.0, dtype=dtype)
                update_variance = batch_variance * (count / math_ops.maximum(count - one, one))
            for moving, batch in ((moving_mean, batch_mean), (moving_variance, update_variance)):
                update = moving.assign_sub((moving.value() - batch) * decay, name="AssignMovingAvg")
                graph.add_to_collection(GraphKeys.UPDATE_OPS, update.op)
        inverse = math_ops.rsqrt(variance + core_ops.constant(epsilon, dtype=dtype))
        if gamma is not None:
            inverse = inverse * gamma
        outputs = (inputs - as_broadcast(mean)) * as_broadcast(inverse)
        if beta is not None:
            outputs = outputs + as_broadcast(beta.value())
        return outputs


def conv2d(inputs: Any, filters: int, kernel_size: IntPair, strides: IntPair = (1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: IntPair = (1, 1), activation: Optional[Callable] = None,
           use_bias: bool = True, kernel_initializer: Any = None,
           bias_initializer: Any = init_ops.zeros_initializer(), kernel_regularizer: Any = None,
           bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
           bias_constraint: Any = None, trainable: bool = True, name: Optional[str] = None,
           reuse: Any = None) -> Tensor:
    """2-D convolution layer with kernel [kh, kw, in_channels, filters] (gf.nn.conv2d) plus bias and activation.

    Args:
        inputs: 4-D Tensor, NHWC (channels_last) or NCHW (channels_first), channels known.
        filters: number of output channels.
        kernel_size, strides, dilation_rate: an int or (height, width).
        padding: "valid" or "same".

    Returns:
        4-D Tensor in the same data format.
    """
    inputs = convert_to_tensor(inputs)
    fmt = _data_format(data_format)
    if inputs.shape.rank != 4:
        raise ValueError(f"conv2d expects 4-D inputs, got {inputs.name} of shape {inputs.shape}")
    in_channels = inputs.shape.dims[3 if fmt == "NHWC" else 1]
    if in_channels is None:
        raise ValueError(f"conv2d: the channel dimension of inputs {inputs.name} (shape {inputs.shape}) must be known")
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(strides, "strides")
    dh, dw = _pair(dilation_rate, "dilation_rate")

    def nhwc(h: int, w: int) -> list:
        return [1, h, w, 1] if fmt == "NHWC" else [1, 1, h, w]

    with variable_scope(name, default_name="conv2d", values=[inputs], reuse=reuse):
        kernel = get_variable("kernel", [kh, kw, in_channels, filters], dtype=inputs.dtype,
                              initializer=kernel_initializer, regularizer=kernel_regularizer, trainable=trainable)
        outputs = _nn().conv2d(inputs, kernel, strides=nhwc(sh, sw), padding=_padding(padding), data_format=fmt,
                               dilations=nhwc(dh, dw))
        if use_bias:
            bias = get_variable("bias", [filters], dtype=inputs.dtype, initializer=bias_initializer,
                                regularizer=bias_regularizer, trainable=trainable)
            outputs = _nn().bias_add(outputs, bias, data_format=fmt)
        return _finish(outputs, activation, activity_regularizer)


def conv2d_transpose(inputs: Any, filters: int, kernel_size: IntPair, strides: IntPair = (1, 1),
                     padding: str = "valid", data_format: str = "channels_last", activation: Optional[Callable] = None,
                     use_bias: bool = True, kernel_initializer: Any = None,
                     bias_initializer: Any = init_ops.zeros_initializer(), kernel_regularizer: Any = None,
                     bias_regularizer: Any = None, activity_regularizer: Any = None, trainable: bool = True,
                     name: Optional[str] = None, reuse: Any = None) -> Tensor:
    """Transposed 2-D convolution layer (gf.nn.conv2d_transpose) with kernel [kh, kw, filters, in_channels].

    Output size per spatial dim: in * stride for "same", (in - 1) * stride + kernel for "valid" (as TF1's layer).
    """
    inputs = convert_to_tensor(inputs)
    fmt = _data_format(data_format)
    if inputs.shape.rank != 4:
        raise ValueError(f"conv2d_transpose expects 4-D inputs, got {inputs.name} of shape {inputs.shape}")
    h_axis, w_axis, c_axis = (1, 2, 3) if fmt == "NHWC" else (2, 3, 1)
    in_channels = inputs.shape.dims[c_axis]
    if in_channels is None:
        raise ValueError(f"conv2d_transpose: the channel dimension of inputs {inputs.name} (shape {inputs.shape}) "
                         "must be known")
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(strides, "strides")
    same = _padding(padding) == "SAME"

    def out_size(size: Any, stride: int, kernel: int) -> Any:
        return size * stride if same else (size - 1) * stride + kernel

    with variable_scope(name, default_name="conv2d_transpose", values=[inputs], reuse=reuse):
        kernel = get_variable("kernel", [kh, kw, filters, in_channels], dtype=inputs.dtype,
                              initializer=kernel_initializer, regularizer=kernel_regularizer, trainable=trainable)
        dynamic = array_ops.shape(inputs)
        height, width = out_size(dynamic[h_axis], sh, kh), out_size(dynamic[w_axis], sw, kw)
        dims = [dynamic[0], height, width, filters] if fmt == "NHWC" else [dynamic[0], filters, height, width]
        stride_list = [1, sh, sw, 1] if fmt == "NHWC" else [1, 1, sh, sw]
        outputs = _nn().conv2d_transpose(inputs, kernel, array_ops.stack(dims), stride_list, _padding(padding),
                                         data_format=fmt)
        static = inputs.shape.dims
        known = [static[0], None, None, None]
        known[h_axis] = None if static[h_axis] is None else out_size(static[h_axis], sh, kh)
        known[w_axis] = None if static[w_axis] is None else out_size(static[w_axis], sw, kw)
        known[c_axis] = filters
        outputs.set_shape(known)
        if use_bias:
            bias = get_variable("bias", [filters], dtype=inputs.dtype, initializer=bias_initializer,
                                regularizer=bias_regularizer, trainable=trainable)
            outputs = _nn().bias_add(outputs, bias, data_format=fmt)
        return _finish(outputs, activation, activity_regularizer)


def _pool(kind: str, inputs: Any, pool_size: IntPair, strides: IntPair, padding: str, data_format: str,
          name: Optional[str]) -> Tensor:
    inputs = convert_to_tensor(inputs)
    fmt = _data_format(data_format)
    ph, pw = _pair(pool_size, "pool_size")
    sh, sw = _pair(strides, "strides")
    window = [1, ph, pw, 1] if fmt == "NHWC" else [1, 1, ph, pw]
    step = [1, sh, sw, 1] if fmt == "NHWC" else [1, 1, sh, sw]
    padding = _padding(padding)
    return getattr(_nn(), kind)(inputs, ksize=window, strides=step, padding=padding, data_format=fmt, name=name)


def max_pooling2d(inputs: Any, pool_size: IntPair, strides: IntPair, padding: str = "valid",
                  data_format: str = "channels_last", name: Optional[str] = None) -> Tensor:
    """Max over pool_size windows moved by strides (gf.nn.max_pool)."""
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format, name)


def average_pooling2d(inputs: Any, pool_size: IntPair, strides: IntPair, padding: str = "valid",
                      data_format: str = "channels_last", name: Optional[str] = None) -> Tensor:
    """Mean over pool_size windows moved by strides (gf.nn.avg_pool; "same" padding averages real cells only)."""
    return _pool("avg_pool", inputs, pool_size, strides, padding, data_format, name)
