"""Checkpoint file format: round trips of every dtype, corruption and truncation detection, atomic replacement."""
import os

import numpy as np
import pytest

from graphflow.framework.errors import DataLossError, NotFoundError
from graphflow.io import checkpoint
from graphflow.io.tfrecord import TFRecordWriter, tf_record_iterator
from graphflow.proto import tensor_pb2


def _sample():
    rng = np.random.default_rng(0)
    return {
        "dense/kernel": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal(5),
        "f16": np.array([1.5, -2.25], dtype=np.float16),
        "i32": np.array([[1, -2], [3, 4]], dtype=np.int32),
        "i64": np.array(2**40, dtype=np.int64),
        "u8": np.arange(7, dtype=np.uint8),
        "flag": np.array([True, False, True]),
        "words": np.array([b"ab", b"", "héllo".encode()], dtype=object),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }


def test_round_trip_every_dtype(tmp_path):
    path = str(tmp_path / "m.gfckpt")
    tensors = _sample()
    checkpoint.write_checkpoint(path, tensors)
    back = checkpoint.read_checkpoint(path)
    assert list(back) == list(tensors)
    for name, value in tensors.items():
        assert back[name].dtype == value.dtype, name
        assert back[name].shape == value.shape, name
        np.testing.assert_array_equal(back[name], value)


def test_layout_is_header_name_tensor_pairs_trailer(tmp_path):
    path = str(tmp_path / "m.gfckpt")
    checkpoint.write_checkpoint(path, {"a": np.array([1.0, 2.0], np.float32)})
    records = list(tf_record_iterator(path))
    assert len(records) == 4
    assert records[0].startswith(b"graphflow.checkpoint\0")
    assert records[1] == b"a"
    proto = tensor_pb2.TensorProto.FromString(records[2])
    assert proto.dtype == 1 and [d.size for d in proto.tensor_shape.dim] == [2]
    assert np.frombuffer(proto.tensor_content, "<f4").tolist() == [1.0, 2.0]
    assert records[3] == b"graphflow.checkpoint.end\0" + (1).to_bytes(8, "little")


def test_tensor_proto_typed_fields_decode(tmp_path):
    # a checkpoint whose tensor another tool wrote in a typed field, with TF's splat encoding, still reads
    path = str(tmp_path / "m.gfckpt")
    checkpoint.write_checkpoint(path, {"a": np.zeros(3, np.float32)})
    records = list(tf_record_iterator(path))
    proto = tensor_pb2.TensorProto(dtype=1)
    proto.tensor_shape.dim.add(size=3)
    proto.float_val.append(2.5)
    records[2] = proto.SerializeToString()
    with open(path, "wb") as file:
        writer = TFRecordWriter(file)
        for record in records:
            writer.write(record)
        writer.close()
    np.testing.assert_array_equal(checkpoint.read_checkpoint(path)["a"], [2.5, 2.5, 2.5])


def test_small_and_string_tensors_keep_the_documented_encoding(tmp_path):
    path = str(tmp_path / "m.gfckpt")
    checkpoint.write_checkpoint(path, {"s": np.array(3.0, np.float64), "w": np.array([b"\xff", b"x"], dtype=object)})
    records = list(tf_record_iterator(path))
    scalar = tensor_pb2.TensorProto.FromString(records[2])
    assert np.frombuffer(scalar.tensor_content, "<f8").tolist() == [3.0] and not scalar.double_val
    assert checkpoint.read_checkpoint(path)["w"].tolist() == [b"\xff", b"x"]  # bytes stay bytes, even non-UTF-8


def test_flipped_byte_in_the_middle_is_data_loss(tmp_path):
    path = str(tmp_path / "m.gfckpt")
    checkpoint.write_checkpoint(path, {"w": np.arange(1000, dtype=np.float32)})
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(path, "wb").write(bytes(data))
    with pytest.raises(DataLossError, match="CRC"):
        checkpoint.read_checkpoint(path)


@pytest.mark.parametrize("keep", [10, 60, -1, -40])
def test_truncated_file_is_data_loss(tmp_path, keep):
    path = str(tmp_path / "m.gfckpt")
    checkpoint.write_checkpoint(path, {"w": np.arange(100, dtype=np.float32), "b": np.ones(3, np.float32)})
    data = open(path, "rb").read()
    open(path, "wb").write(data[:keep])
    with pytest.raises(DataLossError):
        checkpoint.read_checkpoint(path)


def test_truncated_at_a_record_boundary_is_data_loss(tmp_path):
    # dropping whole trailing records keeps every CRC valid: only the trailer reveals the loss
    path = str(tmp_path / "m.gfckpt")
    checkpoint.write_checkpoint(path, {"w": np.arange(4, dtype=np.float32), "b": np.ones(3, np.float32)})
    records = list(tf_record_iterator(path))
    from graphflow.io.tfrecord import encode_record
    open(path, "wb").write(b"".join(encode_record(r) for r in records[:3]))
    with pytest.raises(DataLossError, match="truncated"):
        checkpoint.read_checkpoint(path)


def test_not_a_checkpoint_is_data_loss(tmp_path):
    path = str(tmp_path / "events")
    from graphflow.io.tfrecord import TFRecordWriter
    with TFRecordWriter(path) as writer:
        writer.write(b"some event")
    with pytest.raises(DataLossError, match="not a graphflow checkpoint"):
        checkpoint.read_checkpoint(path)


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(NotFoundError, match="nothere"):
        checkpoint.read_checkpoint(str(tmp_path / "nothere.gfckpt"))


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / "m.gfckpt")
    checkpoint.write_checkpoint(path, {"x": np.zeros(2)})
    checkpoint.write_checkpoint(path, {"x": np.ones(2)})
    np.testing.assert_array_equal(checkpoint.read_checkpoint(path)["x"], [1, 1])
    assert os.listdir(tmp_path) == ["m.gfckpt"]


def test_failed_write_keeps_previous_file(tmp_path):
    path = str(tmp_path / "m.gfckpt")
    checkpoint.write_checkpoint(path, {"x": np.zeros(2)})

    with pytest.raises(TypeError):  # complex64 has no graphflow dtype: fails after the first tensor was written
        checkpoint.write_checkpoint(path, {"x": np.ones(2), "bad": np.zeros(2, np.complex64)})
    np.testing.assert_array_equal(checkpoint.read_checkpoint(path)["x"], [0, 0])
    assert os.listdir(tmp_path) == ["m.gfckpt"]
