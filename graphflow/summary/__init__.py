"""gf.summary: summary ops and FileWriter for TensorBoard event files."""
from ..proto.event_pb2 import Event, SessionLog, TaggedRunMetadata
from ..proto.summary_pb2 import HistogramProto, Summary, SummaryDescription, SummaryMetadata
from .summary_ops import histogram, image, merge, merge_all, scalar, text
from .writer import FileWriter, FileWriterCache

__all__ = ["Event", "SessionLog", "TaggedRunMetadata", "HistogramProto", "Summary", "SummaryDescription",
           "SummaryMetadata", "histogram", "image", "merge", "merge_all", "scalar", "text", "FileWriter",
           "FileWriterCache"]
