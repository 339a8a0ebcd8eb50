"""FileWriter: writes Event protos (graph, summaries, run metadata, session logs) to TensorBoard event files."""
from __future__ import annotations

import os
import socket
import time
from typing import Any, Optional, Set, Union

import numpy as np
from google.protobuf.message import DecodeError

from ..framework.graph import Graph
from ..io.tfrecord import TFRecordWriter
from ..proto import config_pb2, event_pb2, graph_pb2, summary_pb2

FILE_VERSION = "brain.Event:2"


def event_file_name(logdir: str, suffix: Optional[str] = None) -> str:
    """`<logdir>/events.out.tfevents.<10-digit unix time>.<hostname><suffix>`; a clash gets `.<pid>.<n>` appended."""
    base = os.path.join(logdir, f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}")
    path, n = base + (suffix or ""), 0
    while os.path.exists(path):  # reopen() within the same second must not truncate the previous file
        n += 1
        path = f"{base}.{os.getpid()}.{n}{suffix or ''}"
    return path


class FileWriter:
    """Writes Event protocol buffers to an event file in `logdir` for TensorBoard (TF1's tf.summary.FileWriter).

    Every record is flushed as soon as it is written, so TensorBoard can read the file while training runs;
    `max_queue` and `flush_secs` are accepted for TF1 compatibility and have nothing left to bound.

    Args:
        logdir: directory for the event file; created if missing.
        graph: a Graph (or GraphDef) to write first, as `add_graph` does.
        max_queue: TF1 compatibility; see above.
        flush_secs: TF1 compatibility; see above.
        graph_def: deprecated TF1 spelling of `graph` for a GraphDef.
        filename_suffix: appended to the event file name.
    """

    def __init__(self, logdir: str, graph: Any = None, max_queue: int = 10, flush_secs: float = 120,
                 graph_def: Any = None, filename_suffix: Optional[str] = None):
        self._logdir = os.fspath(logdir)
        self._suffix = filename_suffix
        self._writer: Optional[TFRecordWriter] = None
        self._path = ""
        self._seen_summary_tags: Set[str] = set()
        self._seen_run_metadata_tags: Set[str] = set()
        self.reopen()
        if graph is not None or graph_def is not None:
            self.add_graph(graph if graph is not None else graph_def)

    # --- file lifecycle -------------------------------------------------------------------------------------------
    def get_logdir(self) -> str:
        """The directory the event file lives in."""
        return self._logdir

    @property
    def path(self) -> str:
        """The current event file's path."""
        return self._path

    def reopen(self) -> None:
        """Opens a new event file after `close()` (does nothing while open). Its first record is the file version."""
        if self._writer is not None:
            return
        os.makedirs(self._logdir, exist_ok=True)
        self._path = event_file_name(self._logdir, self._suffix)
        self._writer = TFRecordWriter(self._path, flush_each_record=True)
        self._write(event_pb2.Event(wall_time=time.time(), file_version=FILE_VERSION))

    def flush(self) -> None:
        """Pushes written events to disk (they already are after each record; kept for TF1 callers)."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flushes and closes the event file; `reopen()` starts a new one. Closing twice is harmless."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- events ---------------------------------------------------------------------------------------------------
    def _write(self, event: event_pb2.Event) -> None:
        if self._writer is None:
            raise RuntimeError(f"FileWriter for {self._logdir!r} is closed; call reopen() before adding events")
        self._writer.write(event.SerializeToString())

    def add_event(self, event: event_pb2.Event) -> None:
        """Writes one Event as is."""
        if not isinstance(event, event_pb2.Event):
            raise TypeError(f"add_event takes an Event proto, got {type(event).__name__}")
        self._write(event)

    def _add(self, event: event_pb2.Event, global_step: Optional[int]) -> None:
        event.wall_time = time.time()
        if global_step is not None:
            event.step = int(global_step)
        self._write(event)

    def add_summary(self, summary: Union[bytes, np.ndarray, summary_pb2.Summary], global_step: Optional[int] = None
                    ) -> None:
        """Writes a Summary: a proto, or the serialized bytes a summary op returns from `Session.run`.

        As in TF1, SummaryMetadata is kept only the first time a tag is written (TensorBoard reads it from there).

        Args:
            summary: Summary proto, bytes, or the 0-d string array a summary op's fetch gives.
            global_step: the step the values belong to.
        """
        if isinstance(summary, np.ndarray):
            summary = summary.item()
        if isinstance(summary, (bytes, bytearray)):
            try:
                summary = summary_pb2.Summary.FromString(bytes(summary))
            except DecodeError:
                raise ValueError(f"add_summary got {len(summary)} bytes that are not a serialized Summary") from None
        elif isinstance(summary, summary_pb2.Summary):
            copy = summary_pb2.Summary()
            copy.CopyFrom(summary)
            summary = copy
        else:
            raise TypeError(f"add_summary takes a Summary proto or its serialized bytes, got {type(summary).__name__}")
        for value in summary.value:
            if not value.HasField("metadata"):
                continue
            if value.tag in self._seen_summary_tags:
                value.ClearField("metadata")
            else:
                self._seen_summary_tags.add(value.tag)
        self._add(event_pb2.Event(summary=summary), global_step)

    def add_graph(self, graph: Union[Graph, graph_pb2.GraphDef], global_step: Optional[int] = None,
                  graph_def: Optional[graph_pb2.GraphDef] = None) -> None:
        """Writes a graph for TensorBoard's graph dashboard (a Graph is serialized with `_output_shapes`).

        Args:
            graph: a Graph or a GraphDef.
            global_step: optional step of the event.
            graph_def: deprecated TF1 spelling, used when `graph` is None.
        """
        graph = graph if graph is not None else graph_def
        if isinstance(graph, Graph):
            graph = graph.as_graph_def(add_shapes=True)
        if not isinstance(graph, graph_pb2.GraphDef):
            raise TypeError(f"add_graph takes a Graph or a GraphDef, got {type(graph).__name__}")
        self._add(event_pb2.Event(graph_def=graph.SerializeToString()), global_step)

    def add_run_metadata(self, run_metadata: config_pb2.RunMetadata, tag: str, global_step: Optional[int] = None
                         ) -> None:
        """Writes a RunMetadata (from a traced `Session.run`) under `tag`: TensorBoard shows its compute times.

        Raises:
            ValueError: `tag` was already used by this writer.
        """
        if tag in self._seen_run_metadata_tags:
            raise ValueError(f"The provided tag {tag!r} was already used for this event type")
        self._seen_run_metadata_tags.add(tag)
        tagged = event_pb2.TaggedRunMetadata(tag=tag, run_metadata=run_metadata.SerializeToString())
        self._add(event_pb2.Event(tagged_run_metadata=tagged), global_step)

    def add_session_log(self, session_log: event_pb2.SessionLog, global_step: Optional[int] = None) -> None:
        """Writes a SessionLog (START after a restart makes TensorBoard drop orphaned later steps)."""
        self._add(event_pb2.Event(session_log=session_log), global_step)


class FileWriterCache:
    """One FileWriter per logdir, shared (TF1's tf.summary.FileWriterCache)."""

    _cache: dict = {}

    @staticmethod
    def get(logdir: str) -> FileWriter:
        """The cached FileWriter for `logdir`, created on first use."""
        writer = FileWriterCache._cache.get(logdir)
        if writer is None:
            writer = FileWriterCache._cache[logdir] = FileWriter(logdir)
        return writer

    @staticmethod
    def clear() -> None:
        """Closes and forgets every cached writer."""
        for writer in FileWriterCache._cache.values():
            writer.close()
        FileWriterCache._cache.clear()
