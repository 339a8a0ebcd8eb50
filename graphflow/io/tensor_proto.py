"""TensorProto ↔ numpy: make_tensor_proto and make_ndarray, with TensorFlow's encoding rules."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..framework import dtypes
from ..framework.errors import DataLossError
from ..framework.shapes import TensorShape, as_shape
from ..proto import tensor_pb2, tensor_shape_pb2

# Up to this many elements go in the readable *_val fields; larger tensors use packed little-endian tensor_content.
_INLINE_LIMIT = 16

# The repeated *_val field each dtype uses (TF's tensor.proto); half values travel as their uint16 bit patterns.
_VAL_FIELD = {
    dtypes.float16: "half_val", dtypes.float32: "float_val", dtypes.float64: "double_val",
    dtypes.int8: "int_val", dtypes.int16: "int_val", dtypes.int32: "int_val", dtypes.uint8: "int_val",
    dtypes.uint16: "int_val", dtypes.int64: "int64_val", dtypes.uint32: "uint32_val", dtypes.uint64: "uint64_val",
    dtypes.bool_: "bool_val", dtypes.string: "string_val",
}


def shape_to_proto(shape: Any) -> tensor_shape_pb2.TensorShapeProto:
    """A TensorShapeProto for a TensorShape, tuple/list of int-or-None, or None (unknown rank); -1 = unknown dim."""
    shape = as_shape(shape)
    proto = tensor_shape_pb2.TensorShapeProto()
    if shape.dims is None:
        proto.unknown_rank = True
        return proto
    for d in shape.dims:
        proto.dim.add(size=-1 if d is None else d)
    return proto


def shape_from_proto(proto: tensor_shape_pb2.TensorShapeProto) -> TensorShape:
    """The TensorShape a TensorShapeProto describes."""
    if proto.unknown_rank:
        return TensorShape(None)
    for d in proto.dim:
        if d.size < -1:
            raise ValueError(f"Invalid dimension size {d.size} in TensorShapeProto (sizes are >= -1)")
    return TensorShape([None if d.size == -1 else d.size for d in proto.dim])


def make_tensor_proto(values: Any, dtype: Any = None, shape: Any = None) -> tensor_pb2.TensorProto:
    """Encodes an array-like as a TensorProto.

    Args:
        values: a numpy array, Python scalar or nested list (strings allowed).
        dtype: element type (default: the value's own, with TF1's float32/int32 defaults for Python values).
        shape: optional shape; a single value is broadcast to it, a value of the same size is reshaped to it.

    Returns:
        A TensorProto: small tensors in the typed `*_val` field, larger ones in `tensor_content` (raw little-endian
        row-major bytes), strings always in `string_val`.
    """
    from ..framework.convert import to_numpy  # convert builds on the graph; keep this module importable alone
    dt = dtypes.as_dtype(dtype) if dtype is not None else None
    if isinstance(values, (bytes, str)) or (isinstance(values, np.ndarray) and values.dtype.kind in "OSU"):
        array = np.asarray(values, dtype=object)
        dt = dt or dtypes.string
    else:
        array = to_numpy(values, dt)
        dt = dt or dtypes.as_dtype(array.dtype)
    if shape is not None:
        target = tuple(as_shape(shape).as_list())
        if array.shape != target:
            if array.size == 1:
                array = np.full(target, array.reshape(()).item(), dtype=array.dtype)
            elif array.size == int(np.prod(target)):
                array = array.reshape(target)
            else:
                raise ValueError(f"Cannot make a tensor of shape {target} from {array.size} values")
    return ndarray_to_tensor_proto(array, dt)


def ndarray_to_tensor_proto(array: np.ndarray, dtype: Any = None,
                            inline_limit: int = _INLINE_LIMIT) -> tensor_pb2.TensorProto:
    """Encodes a numpy array, already of its final shape and values, as a TensorProto.

    Args:
        array: the values (an object array of bytes/str for strings).
        dtype: element type (default: the array's own).
        inline_limit: arrays of at most this many elements go in the typed `*_val` field, larger ones in
            `tensor_content`; 0 puts every non-empty numeric array in `tensor_content`.

    Returns:
        A TensorProto; strings always go in `string_val`.
    """
    dt = dtypes.as_dtype(dtype if dtype is not None else array.dtype)
    proto = tensor_pb2.TensorProto(dtype=dt.as_datatype_enum, tensor_shape=shape_to_proto(array.shape))
    if dt == dtypes.string:
        proto.string_val.extend(v if isinstance(v, bytes) else str(v).encode("utf-8") for v in array.reshape(-1))
        return proto
    if dt not in _VAL_FIELD:
        raise TypeError(f"Cannot encode dtype {dt.name} as a TensorProto")
    if array.size > inline_limit:
        proto.tensor_content = np.ascontiguousarray(array, dtype=dt.numpy.newbyteorder("<")).tobytes()
        return proto
    flat = np.asarray(array, dtype=dt.numpy).reshape(-1)
    if dt == dtypes.float16:
        flat = flat.view(np.uint16)
    getattr(proto, _VAL_FIELD[dt]).extend(flat.tolist())
    return proto


def make_ndarray(tensor: tensor_pb2.TensorProto) -> np.ndarray:
    """Decodes a TensorProto into a numpy array (strings become an object array of str, or bytes if not UTF-8).

    Raises:
        TypeError: the dtype has no graphflow equivalent.
        DataLossError: the stored bytes or values do not match the declared shape.
    """
    return tensor_proto_to_ndarray(tensor)


def tensor_proto_to_ndarray(tensor: tensor_pb2.TensorProto, strings_as_bytes: bool = False) -> np.ndarray:
    """make_ndarray, optionally keeping strings as the stored bytes (checkpoints round-trip them unchanged).

    Raises:
        TypeError: the dtype has no graphflow equivalent.
        DataLossError: the stored bytes or values do not match the declared shape.
    """
    dt = dtypes.as_dtype(tensor.dtype)
    shape = shape_from_proto(tensor.tensor_shape)
    if not shape.is_fully_defined():
        raise ValueError(f"A constant TensorProto needs a fully defined shape, got {shape}")
    dims = tuple(shape.dims)
    size = int(np.prod(dims, dtype=np.int64))
    if dt == dtypes.string:
        values = list(tensor.string_val) if strings_as_bytes else [_decode(v) for v in tensor.string_val]
        array = np.empty(len(values), dtype=object)
        array[:] = values
    elif tensor.tensor_content:
        wire = dt.numpy.newbyteorder("<")
        if len(tensor.tensor_content) != size * wire.itemsize:
            raise DataLossError(None, None, f"TensorProto tensor_content holds {len(tensor.tensor_content)} bytes; "
                                            f"shape {dims} of {dt.name} needs {size * wire.itemsize}")
        return np.frombuffer(tensor.tensor_content, dtype=wire).astype(dt.numpy).reshape(dims)
    else:
        values = getattr(tensor, _VAL_FIELD[dt]) if dt in _VAL_FIELD else None
        if values is None:
            raise TypeError(f"Cannot decode a TensorProto of dtype {dt.name}")
        if dt == dtypes.float16:
            array = np.asarray(values, dtype=np.uint16).view(np.float16)
        else:
            array = np.asarray(values, dtype=dt.numpy)
    if array.size == size:
        return array.reshape(dims)
    if array.size > size:
        raise DataLossError(None, None, f"TensorProto holds {array.size} values but its shape {dims} has {size}")
    if array.size == 0:
        return np.zeros(dims, dtype=dt.numpy) if dt != dtypes.string else np.full(dims, "", dtype=object)
    # TF's rule: a short *_val list is padded with its last value (a splat constant stores one value)
    out = np.empty(size, dtype=array.dtype)
    out[:array.size] = array
    out[array.size:] = array[-1]
    return out.reshape(dims)


def _decode(value: bytes) -> Any:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value

