"""Reader for MNIST's IDX files (raw or gzip) that a user already has on disk."""
from __future__ import annotations

import gzip
import struct
from typing import BinaryIO

import numpy as np

from ..framework.errors import DataLossError

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
              0x0E: np.dtype(">f8")}


def _open(path: str) -> BinaryIO:
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_idx(path: str) -> np.ndarray:
    """Reads an IDX file (e.g. train-images-idx3-ubyte[.gz]) into an ndarray of its declared type and shape.

    Raises DataLossError for a bad magic number, an unknown type code or a file shorter than its header says.
    """
    with _open(path) as f:
        try:
            header = f.read(4)
            if len(header) != 4 or header[0] != 0 or header[1] != 0:
                raise DataLossError(None, None, f"{path}: not an IDX file (bad magic {header!r})")
            type_code, ndim = header[2], header[3]
            if type_code not in _IDX_TYPES:
                raise DataLossError(None, None, f"{path}: unknown IDX element type 0x{type_code:02x}")
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) != 4 * ndim:
                raise DataLossError(None, None, f"{path}: truncated IDX header")
            dims = struct.unpack(f">{ndim}I", dims_raw)
            dtype = np.dtype(_IDX_TYPES[type_code])
            count = int(np.prod(dims)) if dims else 1
            payload = f.read(count * dtype.itemsize)
        except (OSError, EOFError) as e:  # a damaged gzip stream
            raise DataLossError(None, None, f"{path}: cannot read IDX data: {e}") from None
    if len(payload) != count * dtype.itemsize:
        raise DataLossError(None, None, f"{path}: IDX data truncated: expected {count * dtype.itemsize} bytes, got "
                                        f"{len(payload)}")
    return np.frombuffer(payload, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def load_mnist(images_path: str, labels_path: str):
    """MNIST images (N, 28, 28, 1) float32 in [0, 1] and labels (N,) int64 from a pair of IDX files."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"MNIST files disagree: images {images.shape}, labels {labels.shape}")
    return (images.astype(np.float32) / 255.0)[..., None], labels.astype(np.int64)
