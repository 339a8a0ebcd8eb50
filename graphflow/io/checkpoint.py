"""Checkpoint files: named arrays as CRC-framed TensorProto records, written atomically (never pickle).

On-disk format (version 1). A checkpoint is one file, `<prefix>.gfckpt`, of TFRecord-framed records (length, masked
CRC32C of the length, payload, masked CRC32C of the payload — see graphflow/io/tfrecord.py):

    record 0        header:  b"graphflow.checkpoint\\0" + uint32 little-endian format version (1)
    record 2i+1     the i-th tensor's name, UTF-8
    record 2i+2     the i-th tensor's value, a serialized TensorProto (TF numbering) (numeric dtypes in
                    `tensor_content`, little-endian row-major; strings in `string_val`)
    last record     trailer: b"graphflow.checkpoint.end\\0" + uint64 little-endian number of tensors

Every record is checksummed, and the trailer's count proves the file is complete, so any flipped byte or truncation
raises DataLossError. Files are written to a temporary file in the destination directory, fsynced, then renamed
over the destination with os.replace, so a crash mid-save leaves the previous file intact.
"""
from __future__ import annotations

import os
import struct
import tempfile
from typing import Dict, Mapping

import numpy as np

from graphflow.framework.errors import DataLossError, NotFoundError
from graphflow.io.tensor_proto import ndarray_to_tensor_proto, tensor_proto_to_ndarray
from graphflow.io.tfrecord import TFRecordWriter, tf_record_iterator
from graphflow.proto import tensor_pb2

__all__ = ["CHECKPOINT_SUFFIX", "FORMAT_VERSION", "write_checkpoint", "read_checkpoint", "data_path",
           "atomic_write_bytes"]

CHECKPOINT_SUFFIX = ".gfckpt"
FORMAT_VERSION = 1
_MAGIC = b"graphflow.checkpoint\0"
_TRAILER_MAGIC = b"graphflow.checkpoint.end\0"
_VERSION = struct.Struct("<I")
_COUNT = struct.Struct("<Q")
# mkstemp creates 0600 files; checkpoints get the usual permissions of a new file instead
_UMASK = os.umask(0)
os.umask(_UMASK)

def data_path(prefix: str) -> str:
    """The file holding the checkpoint called `prefix` (what Saver.save returns)."""
    return os.fspath(prefix) + CHECKPOINT_SUFFIX


def atomic_write_bytes(path: str, write) -> None:
    """Creates `path` atomically: `write(file)` fills a temporary file beside it, which is fsynced and renamed.

    Args:
        path: the destination; its directory must exist.
        write: called with the temporary binary file object.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    # makes the rename itself durable; some platforms cannot open directories, where the rename is all we can do
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_checkpoint(path: str, tensors: Mapping[str, np.ndarray]) -> None:
    """Writes `tensors` (name → array) to the checkpoint file `path`, atomically.

    Args:
        path: destination file (use `data_path(prefix)` for a Saver prefix).
        tensors: the arrays to store, in the order to store them.
    """
    def write(file):
        writer = TFRecordWriter(file)
        writer.write(_MAGIC + _VERSION.pack(FORMAT_VERSION))
        for name, value in tensors.items():
            writer.write(name.encode("utf-8"))
            # inline_limit=0: every numeric value goes in tensor_content, as the format above promises
            writer.write(ndarray_to_tensor_proto(np.asarray(value), inline_limit=0).SerializeToString())
        writer.write(_TRAILER_MAGIC + _COUNT.pack(len(tensors)))
        writer.close()

    atomic_write_bytes(path, write)


def read_checkpoint(path: str) -> Dict[str, np.ndarray]:
    """Reads every tensor of the checkpoint file `path`.

    Returns:
        name → numpy array, in file order.

    Raises:
        NotFoundError: `path` does not exist.
        DataLossError: the file is corrupt, truncated, or not a graphflow checkpoint.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise NotFoundError(None, None, f"Checkpoint file {path!r} not found")
    records = list(tf_record_iterator(path))
    if not records or not records[0].startswith(_MAGIC) or len(records[0]) != len(_MAGIC) + _VERSION.size:
        raise DataLossError(None, None, f"{path!r} is not a graphflow checkpoint (bad header record)")
    (version,) = _VERSION.unpack_from(records[0], len(_MAGIC))
    if version != FORMAT_VERSION:
        raise DataLossError(None, None, f"Checkpoint {path!r} has format version {version}; this graphflow reads "
                                        f"version {FORMAT_VERSION}")
    trailer = records[-1]
    if len(records) < 2 or not trailer.startswith(_TRAILER_MAGIC) or len(trailer) != len(_TRAILER_MAGIC) + 8:
        raise DataLossError(None, None, f"Checkpoint {path!r} is truncated: its trailer record is missing")
    (count,) = _COUNT.unpack_from(trailer, len(_TRAILER_MAGIC))
    body = records[1:-1]
    if len(body) != 2 * count:
        raise DataLossError(None, None, f"Checkpoint {path!r} is damaged: trailer promises {count} tensors, file holds "
                                        f"{len(body)} records for them")
    tensors: Dict[str, np.ndarray] = {}
    for i in range(count):
        try:
            name = body[2 * i].decode("utf-8")
            proto = tensor_pb2.TensorProto.FromString(body[2 * i + 1])
            tensors[name] = tensor_proto_to_ndarray(proto, strings_as_bytes=True)
        except Exception as e:  # a record with a valid CRC that still does not decode: written by something else
            raise DataLossError(None, None, f"Checkpoint {path!r}: tensor record {i} does not decode: {e}") from None
    return tensors
