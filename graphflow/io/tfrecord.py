"""TFRecord framing: writes and reads length-prefixed, CRC-checked records (TensorFlow's and TensorBoard's file format).

Each record on disk is, little-endian:

    uint64 length
    uint32 masked_crc32c(the 8 length bytes)
    byte   payload[length]
    uint32 masked_crc32c(payload)
"""
from __future__ import annotations

import os
import struct
from types import TracebackType
from typing import BinaryIO, Iterator, Optional, Type, Union

from graphflow.framework.errors import DataLossError
from graphflow.io.crc32c import masked_crc32c

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO]

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_HEADER_SIZE = _LENGTH.size + _CRC.size
_FOOTER_SIZE = _CRC.size


def encode_record(payload: bytes) -> bytes:
    """Returns `payload` framed as one TFRecord (header, payload, footer)."""
    length = _LENGTH.pack(len(payload))
    return b"".join((length, _CRC.pack(masked_crc32c(length)), payload, _CRC.pack(masked_crc32c(payload))))


class TFRecordWriter:
    """Appends records to a TFRecord file.

    Usable as a context manager. A path is opened (truncating it) and closed by the writer; a binary file object is
    written to, flushed on close, and left open for its owner.

    Args:
        path_or_fileobj: file path, or a binary file object open for writing.
        flush_each_record: flush after every record, so a reader of the growing file (TensorBoard) sees each record
            as soon as it is written.
    """

    def __init__(self, path_or_fileobj: PathOrFile, flush_each_record: bool = False) -> None:
        if isinstance(path_or_fileobj, (str, os.PathLike)):
            self._file: Optional[BinaryIO] = open(path_or_fileobj, "wb")
            self._owns_file = True
        else:
            self._file = path_or_fileobj
            self._owns_file = False
        self._flush_each_record = flush_each_record

    @property
    def closed(self) -> bool:
        """Whether close() has been called."""
        return self._file is None

    def write(self, record: bytes) -> None:
        """Appends one record.

        Args:
            record: the payload, any bytes-like object (e.g. a serialized Event).

        Raises:
            ValueError: the writer is closed.
        """
        if self._file is None:
            raise ValueError("write() on a closed TFRecordWriter")
        self._file.write(encode_record(bytes(record)))
        if self._flush_each_record:
            self._file.flush()

    def flush(self) -> None:
        """Pushes buffered records to the operating system.

        Raises:
            ValueError: the writer is closed.
        """
        if self._file is None:
            raise ValueError("flush() on a closed TFRecordWriter")
        self._file.flush()

    def close(self) -> None:
        """Flushes, and closes the file if the writer opened it. Closing twice is harmless."""
        if self._file is None:
            return
        file, self._file = self._file, None
        if self._owns_file:
            file.close()
        else:
            file.flush()

    def __enter__(self) -> "TFRecordWriter":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()


def tf_record_iterator(path_or_fileobj: PathOrFile) -> Iterator[bytes]:
    """Yields the payload of each record of a TFRecord file, checking both CRCs of every record.

    Args:
        path_or_fileobj: file path, or a binary file object positioned at the first record (left open).

    Yields:
        Each record's payload, in file order.

    Raises:
        DataLossError: a length CRC or data CRC does not match, or the file ends inside a record. The message names
            the file, the byte offset of the record and which check failed. Records before the bad one have
            already been yielded.
    """
    if isinstance(path_or_fileobj, (str, os.PathLike)):
        with open(path_or_fileobj, "rb") as file:
            yield from _read_records(file, os.fspath(path_or_fileobj))
    else:
        yield from _read_records(path_or_fileobj, str(getattr(path_or_fileobj, "name", path_or_fileobj)))


def _read_records(file: BinaryIO, name: str) -> Iterator[bytes]:
    offset = 0
    while True:
        header = file.read(_HEADER_SIZE)
        if not header:
            return
        if len(header) < _HEADER_SIZE:
            raise _data_loss(name, offset, f"truncated record header ({len(header)} of {_HEADER_SIZE} bytes)")
        length_bytes = header[: _LENGTH.size]
        (length_crc,) = _CRC.unpack_from(header, _LENGTH.size)
        if masked_crc32c(length_bytes) != length_crc:
            # The length itself is untrustworthy, so no later record can be located: stop here.
            raise _data_loss(name, offset, "corrupt length CRC (record header)")
        (length,) = _LENGTH.unpack(length_bytes)
        body = file.read(length + _FOOTER_SIZE)
        if len(body) < length + _FOOTER_SIZE:
            raise _data_loss(
                name, offset, f"truncated record (payload of {length} bytes plus CRC, only {len(body)} bytes left)"
            )
        payload = body[:length]
        (data_crc,) = _CRC.unpack_from(body, length)
        if masked_crc32c(payload) != data_crc:
            raise _data_loss(name, offset, f"corrupt data CRC (payload of {length} bytes)")
        yield payload
        offset += _HEADER_SIZE + length + _FOOTER_SIZE


def _data_loss(name: str, offset: int, problem: str) -> DataLossError:
    return DataLossError(None, None, f"{problem} in TFRecord file {name!r} at byte offset {offset}")
