"""DType: graphflow's element types, mapped to numpy dtypes and TensorFlow's wire enum (DT_FLOAT=1 …)."""
from __future__ import annotations

from typing import Any

import numpy as np


class DType:
    """An element type. Compare with `==`; `as_numpy_dtype` gives the numpy type, `as_datatype_enum` the wire number."""

    __slots__ = ("name", "as_datatype_enum", "_np")

    def __init__(self, name: str, enum: int, np_dtype: Any):
        self.name = name
        self.as_datatype_enum = enum
        self._np = np.dtype(np_dtype) if np_dtype is not None else None

    @property
    def as_numpy_dtype(self) -> type:
        return self._np.type

    @property
    def numpy(self) -> np.dtype:
        return self._np

    @property
    def is_floating(self) -> bool:
        return self._np is not None and self._np.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self._np is not None and self._np.kind in "iu"

    @property
    def is_unsigned(self) -> bool:
        return self._np is not None and self._np.kind == "u"

    @property
    def is_bool(self) -> bool:
        return self is bool_

    @property
    def base_dtype(self) -> "DType":
        return self

    @property
    def real_dtype(self) -> "DType":
        return self

    @property
    def min(self):
        return np.finfo(self._np).min if self.is_floating else np.iinfo(self._np).min

    @property
    def max(self):
        return np.finfo(self._np).max if self.is_floating else np.iinfo(self._np).max

    @property
    def size(self) -> int:
        return self._np.itemsize

    def is_compatible_with(self, other: Any) -> bool:
        return self == as_dtype(other)

    def __repr__(self) -> str:
        return f"gf.{self.name}"

    def __reduce__(self):
        return as_dtype, (self.name,)


float16 = half = DType("float16", 19, np.float16)
float32 = DType("float32", 1, np.float32)
float64 = double = DType("float64", 2, np.float64)
int8 = DType("int8", 6, np.int8)
int16 = DType("int16", 5, np.int16)
int32 = DType("int32", 3, np.int32)
int64 = DType("int64", 9, np.int64)
uint8 = DType("uint8", 4, np.uint8)
uint16 = DType("uint16", 17, np.uint16)
uint32 = DType("uint32", 22, np.uint32)
uint64 = DType("uint64", 23, np.uint64)
bool_ = DType("bool", 10, np.bool_)
string = DType("string", 7, np.object_)

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool_, string)
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(half=float16, double=float64, float=float32)
_BY_ENUM = {d.as_datatype_enum: d for d in ALL}
_BY_NUMPY = {d.numpy: d for d in ALL if d is not string}


def as_dtype(value: Any) -> DType:
    """Converts a DType, name ("float32"), wire enum (1), numpy dtype or Python type to a DType."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        if value in _BY_NAME:
            return _BY_NAME[value]
        raise TypeError(f"Unknown dtype name {value!r}; expected one of {sorted(_BY_NAME)}")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        enum = int(value)
        if enum > 100:  # *_REF types are base + 100; graphflow has no reference types
            enum -= 100
        if enum in _BY_ENUM:
            return _BY_ENUM[enum]
        raise TypeError(f"Unsupported DataType enum {value}")
    if value is bool:
        return bool_
    if value is float:
        return float32
    if value is int:
        return int32
    if value is str or value is bytes:
        return string
    try:
        np_dtype = np.dtype(value)
    except TypeError:
        raise TypeError(f"Cannot convert {value!r} to a graphflow dtype") from None
    if np_dtype.kind in "OSU":
        return string
    if np_dtype in _BY_NUMPY:
        return _BY_NUMPY[np_dtype]
    raise TypeError(f"Unsupported numpy dtype {np_dtype}")


def can_cast_safely(from_dtype: DType, to_dtype: DType) -> bool:
    """True when every value of `from_dtype` is exactly representable in `to_dtype` (used to validate feeds)."""
    if from_dtype == to_dtype:
        return True
    if string in (from_dtype, to_dtype):
        return False
    return bool(np.can_cast(from_dtype.numpy, to_dtype.numpy, casting="safe"))
