"""Summary ops (ScalarSummary, HistogramSummary, ImageSummary, TensorSummaryV2, MergeSummary) and their TF1 builders."""
from __future__ import annotations

import re
import struct
import sys
import zlib
from typing import Any, List, Optional, Sequence

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor, graph_of
from ..framework.graph import GraphKeys, get_default_graph
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor
from ..ops.array_ops import reshape
from ..proto import summary_pb2, tensor_pb2

__all__ = ["scalar", "histogram", "image", "text", "merge", "merge_all"]

_DBL_MAX = sys.float_info.max
_BAD_COLOR = np.array([255, 0, 0, 255], dtype=np.uint8)  # red, for non-finite pixels
_BAD_COLOR.setflags(write=False)


def _default_bucket_limits() -> np.ndarray:
    """TF's default histogram bucket right edges: ±1e-12·1.1^k up to 1e20, 0 in the middle, ±DBL_MAX at the ends."""
    positive = []
    v = 1.0e-12
    while v < 1.0e20:  # the same double arithmetic as tensorflow/core/lib/histogram/histogram.cc
        positive.append(v)
        v *= 1.1
    positive.append(_DBL_MAX)
    negative = [-x for x in reversed(positive)]
    return np.array(negative + [0.0] + positive, dtype=np.float64)


DEFAULT_BUCKET_LIMITS = _default_bucket_limits()


def _text(value: Any) -> str:
    """A string tensor element (str or bytes) as str."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _as_bytes(value: Any) -> bytes:
    """A serialized-summary tensor element as bytes (0-d object arrays hold bytes)."""
    if isinstance(value, np.ndarray):
        value = value.item()
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _scalar_string(value: bytes) -> np.ndarray:
    """The kernel output: a 0-d object array holding the serialized Summary."""
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def histogram_proto(values: np.ndarray) -> summary_pb2.HistogramProto:
    """Fills a HistogramProto exactly as TF's Histogram::EncodeToProto does (runs of empty buckets collapsed).

    Value v falls in bucket i when limit[i-1] <= v < limit[i] (C++ `upper_bound`).
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    proto = summary_pb2.HistogramProto()
    if flat.size == 0:
        proto.min, proto.max = _DBL_MAX, -_DBL_MAX
        proto.bucket_limit.append(_DBL_MAX)
        proto.bucket.append(0.0)
        return proto
    proto.min, proto.max = float(flat.min()), float(flat.max())
    proto.num = float(flat.size)
    proto.sum = float(flat.sum())
    proto.sum_squares = float(np.dot(flat, flat))
    index = np.searchsorted(DEFAULT_BUCKET_LIMITS, flat, side="right")
    counts = np.bincount(index, minlength=len(DEFAULT_BUCKET_LIMITS))[:len(DEFAULT_BUCKET_LIMITS)]
    i, n = 0, len(counts)
    while i < n:
        end, count = DEFAULT_BUCKET_LIMITS[i], counts[i]
        i += 1
        if count <= 0:
            while i < n and counts[i] <= 0:
                end, count = DEFAULT_BUCKET_LIMITS[i], counts[i]
                i += 1
        proto.bucket_limit.append(float(end))
        proto.bucket.append(float(count))
    return proto


def encode_png(pixels: np.ndarray) -> bytes:
    """Encodes a uint8 [height, width, channels] array (1–4 channels) as a PNG, with zlib only.

    Each scanline uses filter type 0 (None); colour types gray (0), gray+alpha (4), RGB (2), RGBA (6), 8-bit depth.
    """
    height, width, channels = pixels.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)
    rows[:, 1:] = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(height, width * channels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + chunk(b"IEND", b""))


def _image_to_uint8(image: np.ndarray, bad_color: Sequence[int]) -> np.ndarray:
    """TF's ImageSummary normalisation: uint8 as is; floats scaled to [0, 255] per image (non-finite → bad_color).

    All-nonnegative images are scaled by 255/max; images with negative values by 127/max|v| around 128.
    """
    if image.dtype == np.uint8:
        return image
    values = image.astype(np.float32)
    finite = np.isfinite(values).all(axis=-1)
    good = values[finite]
    lo = float(good.min()) if good.size else np.inf
    hi = float(good.max()) if good.size else -np.inf
    if lo < 0:
        largest = max(abs(lo), abs(hi))
        scale, offset = (0.0 if largest < 1e-6 else 127.0 / largest), 128.0
    else:
        scale, offset = (0.0 if hi < 1e-6 else 255.0 / hi), 0.0
    out = np.zeros(values.shape, dtype=np.uint8)
    out[finite] = (good * np.float32(scale) + np.float32(offset)).astype(np.uint8)
    out[~finite] = np.asarray(bad_color, dtype=np.uint8)[:values.shape[-1]]
    return out


def _string_tensor_proto(array: np.ndarray) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=dtypes.string.as_datatype_enum)
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)
    proto.string_val.extend(v if isinstance(v, bytes) else str(v).encode("utf-8") for v in array.ravel())
    return proto


class _SummaryOp(OpDef):
    """Shared by summary ops: a string scalar output, host-only kernel, no gradient."""

    grad = None
    cpu_only = True

    def infer(self, op):
        if op.inputs[0].dtype != dtypes.string:
            raise TypeError(f"{op.type} expects a string tag tensor, got {op.inputs[0].dtype.name}")
        return [(dtypes.string, TensorShape([]))]


@register_op
class ScalarSummary(_SummaryOp):
    """Summary with one `simple_value` per element of `values`, tagged by the same-shaped `tags`."""

    op_type = "ScalarSummary"
    attrs = {"T": dtypes.float32}

    def infer(self, op):
        tags, values = op.inputs
        if not tags.shape.is_compatible_with(values.shape):
            raise ValueError(f"ScalarSummary tags and values must have the same shape, got {tags.shape} and "
                             f"{values.shape}")
        return super().infer(op)

    def kernel(self, xp, tags, values, T=None):
        tags, values = np.asarray(tags), np.asarray(values)
        if tags.shape != values.shape:
            raise ValueError(f"tags and values must have the same shape: {tags.shape} != {values.shape}")
        summary = summary_pb2.Summary()
        for tag, value in zip(tags.ravel(), values.ravel()):
            summary.value.add(tag=_text(tag), simple_value=float(value))
        return _scalar_string(summary.SerializeToString())


@register_op
class HistogramSummary(_SummaryOp):
    """Summary with a HistogramProto of all elements of `values` (TF's default exponential buckets)."""

    op_type = "HistogramSummary"
    attrs = {"T": dtypes.float32}

    def kernel(self, xp, tag, values, T=None):
        flat = np.asarray(values, dtype=np.float64)
        if not np.isfinite(flat).all():
            raise ValueError(f"Nan in summary histogram for: {_text(np.asarray(tag).item())}")
        summary = summary_pb2.Summary()
        summary.value.add(tag=_text(np.asarray(tag).item()), histo=histogram_proto(flat))
        return _scalar_string(summary.SerializeToString())


@register_op
class ImageSummary(_SummaryOp):
    """Summary with up to `max_images` PNG images from a [batch, height, width, channels] tensor (1, 3 or 4 ch)."""

    op_type = "ImageSummary"
    attrs = {"max_images": 3, "T": dtypes.float32, "bad_color": _BAD_COLOR}  # a tensor attr, as in TF

    def infer(self, op):
        shape = op.inputs[1].shape
        if shape.rank is not None and (shape.rank != 4 or shape.dims[3] not in (None, 1, 3, 4)):
            raise ValueError(f"ImageSummary needs a 4-D [batch, height, width, channels] tensor with 1, 3 or 4 "
                             f"channels, got shape {shape}")
        if op.attrs["max_images"] < 1:
            raise ValueError(f"max_images must be at least 1, got {op.attrs['max_images']}")
        return super().infer(op)

    def kernel(self, xp, tag, images, max_images=3, T=None, bad_color=_BAD_COLOR):
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[3] not in (1, 3, 4):
            raise ValueError(f"images must be 4-D with 1, 3 or 4 channels, got shape {images.shape}")
        base = _text(np.asarray(tag).item())
        summary = summary_pb2.Summary()
        for i in range(min(max_images, images.shape[0])):
            pixels = _image_to_uint8(images[i], bad_color)
            height, width, channels = pixels.shape
            value = summary.value.add(tag=f"{base}/image/{i}" if max_images > 1 else f"{base}/image")
            value.image.height, value.image.width, value.image.colorspace = height, width, channels
            value.image.encoded_image_string = encode_png(pixels)
        return _scalar_string(summary.SerializeToString())


@register_op
class TensorSummaryV2(_SummaryOp):
    """Summary holding the whole tensor as a TensorProto, with serialized SummaryMetadata (plugin data)."""

    op_type = "TensorSummaryV2"
    attrs = {"T": dtypes.float32}

    def kernel(self, xp, tag, tensor, serialized_summary_metadata, T=None):
        tensor = np.asarray(tensor)
        if tensor.dtype != object:
            raise ValueError(f"TensorSummaryV2 here summarises string tensors only, got {tensor.dtype}")
        summary = summary_pb2.Summary()
        value = summary.value.add(tag=_text(np.asarray(tag).item()))
        value.metadata.ParseFromString(_as_bytes(serialized_summary_metadata))
        value.tensor.CopyFrom(_string_tensor_proto(tensor))
        return _scalar_string(summary.SerializeToString())


@register_op
class MergeSummary(_SummaryOp):
    """The union of the values of N serialized Summaries; a tag appearing twice is an error."""

    op_type = "MergeSummary"
    attrs = {"N": 1}

    def infer(self, op):
        for t in op.inputs:
            if t.dtype != dtypes.string:
                raise TypeError(f"MergeSummary inputs must be string tensors, got {t.name} of {t.dtype.name}")
        return [(dtypes.string, TensorShape([]))]

    def kernel(self, xp, *serialized, N=1):
        merged, seen = summary_pb2.Summary(), set()
        for element in serialized:
            for blob in np.asarray(element, dtype=object).ravel():
                part = summary_pb2.Summary.FromString(_as_bytes(blob))
                for value in part.value:
                    if value.tag in seen:
                        raise ValueError(f"Duplicate tag {value.tag} found in summary inputs")
                    seen.add(value.tag)
                    merged.value.add().CopyFrom(value)
        return _scalar_string(merged.SerializeToString())


def _clean_tag(name: str) -> str:
    """TF's clean_tag: characters outside [A-Za-z0-9_./-] become '_', leading '/' dropped."""
    return re.sub(r"[^-/\w\.]", "_", name).lstrip("/")


def _string_constant(value: Any, name: str, graph: Any) -> Tensor:
    """A scalar string Const; built directly because numpy's bytes dtype would drop trailing NUL bytes."""
    array = np.empty((), dtype=object)
    array[()] = value
    array.setflags(write=False)
    return graph.create_op("Const", [], {"value": array, "dtype": dtypes.string}, name=name).outputs[0]


def _summary(op_type: str, name: str, inputs: List[Any], attrs: dict, collections: Optional[Sequence[str]],
             family: Optional[str]) -> Tensor:
    """TF1's summary_scope: the op is named by the scope, the tag is the scope path (prefixed by `family`)."""
    graph = graph_of(inputs)
    name = _clean_tag(name)
    base = name if family is None else f"{_clean_tag(family)}/{name}"
    with graph.name_scope(base) as scope:
        tag = scope.rstrip("/") if family is None else f"{_clean_tag(family)}/{scope.rstrip('/')}"
        tensors = [_string_constant(tag, "tag", graph)] + [
            x if isinstance(x, Tensor) else _string_constant(x, "summary_metadata", graph) for x in inputs]
        op = graph.create_op(op_type, tensors, attrs, name=scope)
    for key in (collections if collections is not None else [GraphKeys.SUMMARIES]):
        graph.add_to_collection(key, op.outputs[0])
    return op.outputs[0]


def scalar(name: str, tensor: Any, collections: Optional[Sequence[str]] = None, family: Optional[str] = None) -> Tensor:
    """A ScalarSummary of a single-valued real tensor (TensorBoard's scalar dashboard).

    Args:
        name: the summary name; with the enclosing name scopes it becomes the tag.
        tensor: a real numeric tensor holding one value.
        collections: collections the output joins (default [GraphKeys.SUMMARIES]).
        family: optional tag prefix, grouping summaries in one TensorBoard tab.
    Returns:
        A string scalar tensor: the serialized Summary protocol buffer.
    """
    tensor = convert_to_tensor(tensor)
    if tensor.shape.num_elements() not in (None, 1):
        raise ValueError(f"summary.scalar {name!r} needs a single-valued tensor, got {tensor.name} of shape "
                         f"{tensor.shape}")
    if not (tensor.dtype.is_floating or tensor.dtype.is_integer):
        raise TypeError(f"summary.scalar {name!r} needs a real numeric tensor, got {tensor.dtype.name}")
    if tensor.shape.rank != 0:  # the tag is a scalar, so the value must be one too
        tensor = reshape(tensor, [])
    return _summary("ScalarSummary", name, [tensor], {"T": tensor.dtype}, collections, family)


def histogram(name: str, values: Any, collections: Optional[Sequence[str]] = None,
              family: Optional[str] = None) -> Tensor:
    """A HistogramSummary of all elements of `values` (any shape; NaN/Inf fail at run time).

    Returns:
        A string scalar tensor: the serialized Summary.
    """
    values = convert_to_tensor(values)
    if not (values.dtype.is_floating or values.dtype.is_integer):
        raise TypeError(f"summary.histogram {name!r} needs a real numeric tensor, got {values.dtype.name}")
    return _summary("HistogramSummary", name, [values], {"T": values.dtype}, collections, family)


def image(name: str, tensor: Any, max_outputs: int = 3, collections: Optional[Sequence[str]] = None,
          family: Optional[str] = None) -> Tensor:
    """An ImageSummary of the first `max_outputs` images of a [batch, height, width, channels] tensor.

    Channels: 1 (grayscale), 3 (RGB) or 4 (RGBA). uint8 values are used as is; float images are scaled per image
    (nonnegative images by 255/max, so [0, 1] data maps to [0, 255]). Tags are `<tag>/image/<i>`, or `<tag>/image`
    when max_outputs is 1.

    Returns:
        A string scalar tensor: the serialized Summary with PNG-encoded images.
    """
    tensor = convert_to_tensor(tensor)
    if tensor.dtype not in (dtypes.uint8, dtypes.float16, dtypes.float32, dtypes.float64):
        raise TypeError(f"summary.image {name!r} needs uint8 or float images, got {tensor.dtype.name}")
    return _summary("ImageSummary", name, [tensor], {"max_images": int(max_outputs), "T": tensor.dtype}, collections,
                    family)


def text(name: str, tensor: Any, collections: Optional[Sequence[str]] = None) -> Tensor:
    """A text summary (TensorBoard's text plugin) of a string tensor of any shape.

    Returns:
        A string scalar tensor: the serialized Summary (a TensorProto value with plugin_name "text").
    """
    tensor = convert_to_tensor(tensor)
    if tensor.dtype != dtypes.string:
        raise ValueError(f"summary.text {name!r} needs a string tensor, got {tensor.name} of {tensor.dtype.name}")
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "text"
    return _summary("TensorSummaryV2", name, [tensor, metadata.SerializeToString()],
                    {"T": tensor.dtype}, collections, None)


def merge(inputs: Sequence[Any], collections: Optional[Sequence[str]] = None, name: Optional[str] = None) -> Tensor:
    """A MergeSummary of serialized Summary tensors: one Summary holding all their values.

    Returns:
        A string scalar tensor.
    """
    tensors = [convert_to_tensor(x) for x in inputs]
    if not tensors:
        raise ValueError("summary.merge needs at least one input")
    graph = graph_of(tensors)
    with graph.name_scope(name or "Merge"):
        out = graph.create_op("MergeSummary", tensors, {"N": len(tensors)}, name="MergeSummary").outputs[0]
    for key in collections or ():
        graph.add_to_collection(key, out)
    return out


def merge_all(key: str = GraphKeys.SUMMARIES, scope: Optional[str] = None, name: Optional[str] = None
              ) -> Optional[Tensor]:
    """Merges every summary in collection `key` of the default graph; None when there are none (as in TF1)."""
    summaries = get_default_graph().get_collection(key, scope=scope)
    if not summaries:
        return None
    return merge(summaries, name=name)
