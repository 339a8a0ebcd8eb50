"""Tests for graphflow.io.tfrecord: framing bytes, round trips, corruption detection and TensorBoard interoperability."""
import importlib
import io
import os
import struct

import pytest

from graphflow.framework.errors import DataLossError
from graphflow.io.crc32c import masked_crc32c
from graphflow.io.tfrecord import TFRecordWriter, encode_record, tf_record_iterator
from graphflow.proto import event_pb2, graph_pb2, summary_pb2

RECORDS = [b"", b"a", b"hello world", bytes(range(256)) * 40]


def frame_by_hand(payload: bytes) -> bytes:
    """The record layout written out from the format description, independently of the module under test."""
    length = struct.pack("<Q", len(payload))
    return length + struct.pack("<I", masked_crc32c(length)) + payload + struct.pack("<I", masked_crc32c(payload))


def write_records(path, records, **options):
    with TFRecordWriter(path, **options) as writer:
        for record in records:
            writer.write(record)


def record_offsets(records):
    offsets, offset = [], 0
    for record in records:
        offsets.append(offset)
        offset += 16 + len(record)
    return offsets


# --- writing -------------------------------------------------------------------------------------------------------


def test_file_version_event_frames_to_known_bytes():
    payload = b"\x1a\x11CRC test, one two"
    framed = encode_record(payload)
    assert framed[:8] == struct.pack("<Q", 19)
    assert framed[12:-4] == payload
    assert framed[-4:] == struct.pack("<I", 0x5794D08A)


def test_writer_output_equals_hand_framed_bytes(tmp_path):
    path = tmp_path / "data.tfrecord"
    write_records(path, RECORDS)
    assert path.read_bytes() == b"".join(frame_by_hand(record) for record in RECORDS)


def test_writer_output_equals_tensorboards_record_writer(tmp_path):
    record_writer = importlib.import_module("tensorboard.summary.writer.record_writer")
    reference = io.BytesIO()
    tensorboard_writer = record_writer.RecordWriter(reference)
    for record in RECORDS:
        tensorboard_writer.write(record)
    ours = io.BytesIO()
    write_records(ours, RECORDS)
    assert ours.getvalue() == reference.getvalue()


def test_writer_accepts_pathlike_str_and_bytes_like(tmp_path):
    write_records(str(tmp_path / "a"), [bytearray(b"xy"), memoryview(b"z")])
    assert list(tf_record_iterator(tmp_path / "a")) == [b"xy", b"z"]


def test_writer_leaves_callers_file_object_open_and_flushed():
    buffer = io.BytesIO()
    with TFRecordWriter(buffer) as writer:
        writer.write(b"x")
    assert writer.closed
    assert not buffer.closed
    assert buffer.getvalue() == frame_by_hand(b"x")


def test_writer_closes_file_it_opened(tmp_path):
    writer = TFRecordWriter(tmp_path / "f")
    file = writer._file
    writer.close()
    writer.close()
    assert file.closed


def test_write_and_flush_after_close_raise(tmp_path):
    writer = TFRecordWriter(tmp_path / "f")
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"x")
    with pytest.raises(ValueError, match="closed"):
        writer.flush()


def test_flush_each_record_makes_records_visible_immediately(tmp_path):
    path = tmp_path / "live.tfrecord"
    writer = TFRecordWriter(path, flush_each_record=True)
    writer.write(b"first")
    assert list(tf_record_iterator(path)) == [b"first"]
    writer.write(b"second")
    assert list(tf_record_iterator(path)) == [b"first", b"second"]
    writer.close()


def test_explicit_flush_makes_records_visible(tmp_path):
    path = tmp_path / "f"
    writer = TFRecordWriter(path)
    writer.write(b"payload")
    writer.flush()
    assert os.path.getsize(path) == 16 + len(b"payload")
    writer.close()


# --- reading -------------------------------------------------------------------------------------------------------


def test_round_trip(tmp_path):
    path = tmp_path / "data.tfrecord"
    write_records(path, RECORDS)
    assert list(tf_record_iterator(path)) == RECORDS


def test_empty_file_yields_nothing(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert list(tf_record_iterator(tmp_path / "empty")) == []


def test_reads_file_object_and_leaves_it_open():
    buffer = io.BytesIO(b"".join(frame_by_hand(record) for record in RECORDS))
    assert list(tf_record_iterator(buffer)) == RECORDS
    assert not buffer.closed


def test_reads_records_written_by_tensorboard(tmp_path):
    record_writer = importlib.import_module("tensorboard.summary.writer.record_writer")
    path = tmp_path / "tb.tfrecord"
    with open(path, "wb") as file:
        tensorboard_writer = record_writer.RecordWriter(file)
        for record in RECORDS:
            tensorboard_writer.write(record)
        tensorboard_writer.flush()
    assert list(tf_record_iterator(path)) == RECORDS


def test_tensorboards_reader_reads_our_records(tmp_path):
    pywrap = importlib.import_module("tensorboard.compat.tensorflow_stub.pywrap_tensorflow")
    errors = importlib.import_module("tensorboard.compat.tensorflow_stub.errors")
    path = tmp_path / "ours.tfrecord"
    write_records(path, RECORDS)
    reader = pywrap.PyRecordReader_New(str(path))
    read = []
    with pytest.raises(errors.OutOfRangeError):
        while True:
            reader.GetNext()
            read.append(reader.record())
    assert read == RECORDS


# --- corruption ----------------------------------------------------------------------------------------------------


def corrupt(path, position):
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def three_records(tmp_path):
    records = [b"alpha", b"bravo-bravo", b"charlie"]
    path = tmp_path / "three.tfrecord"
    write_records(path, records)
    return path, records, record_offsets(records)


def read_until_error(path):
    read = []
    with pytest.raises(DataLossError) as caught:
        for record in tf_record_iterator(path):
            read.append(record)
    return read, str(caught.value)


def test_corrupt_length_is_reported_with_file_and_offset(three_records):
    path, records, offsets = three_records
    corrupt(path, offsets[1] + 2)
    read, message = read_until_error(path)
    assert read == records[:1]
    assert "length CRC" in message
    assert str(path) in message
    assert f"offset {offsets[1]}" in message


def test_corrupt_length_crc_is_reported(three_records):
    path, records, offsets = three_records
    corrupt(path, offsets[0] + 9)
    read, message = read_until_error(path)
    assert read == []
    assert "length CRC" in message and "offset 0" in message


def test_corrupt_payload_is_reported_as_data_crc(three_records):
    path, records, offsets = three_records
    corrupt(path, offsets[2] + 12 + 3)
    read, message = read_until_error(path)
    assert read == records[:2]
    assert "data CRC" in message
    assert f"offset {offsets[2]}" in message
    assert str(path) in message


def test_corrupt_data_crc_is_reported(three_records):
    path, records, offsets = three_records
    corrupt(path, offsets[1] + 12 + len(records[1]))
    read, message = read_until_error(path)
    assert read == records[:1]
    assert "data CRC" in message and f"offset {offsets[1]}" in message


@pytest.mark.parametrize("cut", [1, 4, 11])
def test_truncated_header_is_reported(three_records, cut):
    path, records, offsets = three_records
    path.write_bytes(path.read_bytes()[: offsets[2] + cut])
    read, message = read_until_error(path)
    assert read == records[:2]
    assert "truncated" in message and f"offset {offsets[2]}" in message


@pytest.mark.parametrize("cut_from_end", [1, 4, 5, 7])
def test_truncated_payload_or_footer_is_reported(three_records, cut_from_end):
    path, records, offsets = three_records
    path.write_bytes(path.read_bytes()[:-cut_from_end])
    read, message = read_until_error(path)
    assert read == records[:2]
    assert "truncated" in message and f"offset {offsets[2]}" in message


def test_data_loss_error_has_tensorflow_error_code(three_records):
    path, _, offsets = three_records
    corrupt(path, offsets[0] + 12)
    with pytest.raises(DataLossError) as caught:
        list(tf_record_iterator(path))
    assert caught.value.error_code == 15


# --- TensorBoard reads our event files -----------------------------------------------------------------------------


def write_event_file(directory):
    graph = graph_pb2.GraphDef()
    graph.versions.producer = 561
    node = graph.node.add(name="dense/MatMul", op="MatMul", input=["x", "dense/kernel"])
    node.attr["T"].type = 1
    node.attr["transpose_a"].b = False
    path = directory / "events.out.tfevents.1700000000.testhost"
    with TFRecordWriter(path, flush_each_record=True) as writer:
        writer.write(event_pb2.Event(wall_time=1700000000.0, file_version="brain.Event:2").SerializeToString())
        writer.write(event_pb2.Event(wall_time=1700000000.5, graph_def=graph.SerializeToString()).SerializeToString())
        for step, loss in [(1, 0.75), (2, 0.5), (3, 0.25)]:
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="loss", simple_value=loss)])
            event = event_pb2.Event(wall_time=1700000001.0 + step, step=step, summary=summary)
            writer.write(event.SerializeToString())
        histogram = summary_pb2.HistogramProto(
            min=-1.0, max=2.0, num=3, sum=1.5, sum_squares=5.25, bucket_limit=[0.0, 1.0, 2.0], bucket=[1, 1, 1]
        )
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="weights", histo=histogram)])
        writer.write(event_pb2.Event(wall_time=1700000010.0, step=3, summary=summary).SerializeToString())
    return path


def test_tensorboard_event_accumulator_reads_scalars_graph_and_histograms(tmp_path):
    event_accumulator = importlib.import_module("tensorboard.backend.event_processing.event_accumulator")
    write_event_file(tmp_path)
    accumulator = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()

    assert "loss" in accumulator.Tags()["scalars"]
    scalars = accumulator.Scalars("loss")
    assert [event.step for event in scalars] == [1, 2, 3]
    assert [event.value for event in scalars] == [0.75, 0.5, 0.25]
    assert scalars[0].wall_time == 1700000002.0

    graph = accumulator.Graph()
    assert [node.name for node in graph.node] == ["dense/MatMul"]
    assert list(graph.node[0].input) == ["x", "dense/kernel"]
    assert graph.node[0].attr["T"].type == 1
    assert graph.versions.producer == 561

    (histogram_event,) = accumulator.Histograms("weights")
    assert histogram_event.step == 3
    assert histogram_event.histogram_value.bucket_limit == [0.0, 1.0, 2.0]
    assert histogram_event.histogram_value.sum_squares == 5.25
