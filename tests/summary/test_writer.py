"""FileWriter: event files read back by TensorBoard's own EventAccumulator and by our TFRecord reader."""
import os
import re
import socket

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import STORE_EVERYTHING_SIZE_GUIDANCE, EventAccumulator

import graphflow as gf
from graphflow.io.tfrecord import tf_record_iterator
from graphflow.proto import event_pb2, summary_pb2


def accumulate(path):
    return EventAccumulator(str(path), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()


def build_model():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, 3], name="x")
        with gf.name_scope("dense"):
            w = gf.Variable(np.full((3, 2), 0.5, np.float32), name="w")
            y = gf.add(gf.matmul(x, w), 1.0)
        loss = gf.reduce_mean(y, name="loss")
        gf.summary.scalar("loss", loss)
        gf.summary.histogram("w", w)
        gf.summary.image("x_image", gf.reshape(x, [-1, 1, 3, 1]), max_outputs=1)
        gf.summary.text("note", gf.constant("step note"))
        merged = gf.summary.merge_all()
        init = gf.global_variables_initializer()
    return graph, x, loss, merged, init


def test_event_file_name_and_first_record(tmp_path):
    writer = gf.summary.FileWriter(str(tmp_path / "run"), filename_suffix=".v2")
    writer.close()
    (name,) = os.listdir(tmp_path / "run")
    assert re.fullmatch(rf"events\.out\.tfevents\.\d{{10}}\.{re.escape(socket.gethostname())}\.v2", name)
    events = [event_pb2.Event.FromString(r) for r in tf_record_iterator(str(tmp_path / "run" / name))]
    assert events[0].file_version == "brain.Event:2" and events[0].wall_time > 0
    assert writer.get_logdir() == str(tmp_path / "run")


def test_training_run_reads_back_in_tensorboard(tmp_path):
    graph, x, loss, merged, init = build_model()
    batches = [np.arange(6, dtype=np.float32).reshape(2, 3) * k for k in (1, 2, 3)]
    expected_losses = [float(np.mean(b @ np.full((3, 2), 0.5) + 1.0)) for b in batches]
    with gf.summary.FileWriter(str(tmp_path), graph=graph) as writer, gf.Session(graph=graph) as sess:
        sess.run(init)
        for step, batch in enumerate(batches):
            writer.add_summary(sess.run(merged, {x: batch}), global_step=step * 10)
    acc = accumulate(tmp_path)
    node_names = {n.name for n in acc.Graph().node}
    assert {"x", "dense/w", "dense/MatMul", "loss", "loss_1", "w", "Merge/MergeSummary"} <= node_names
    shapes = {n.name: n.attr["_output_shapes"].list.shape for n in acc.Graph().node}
    assert [d.size for d in shapes["dense/MatMul"][0].dim] == [-1, 2]  # edge shapes for the graph dashboard
    scalars = acc.Scalars("loss_1")
    assert [s.step for s in scalars] == [0, 10, 20]
    assert [s.value for s in scalars] == pytest.approx(expected_losses, rel=1e-6)
    histo = acc.Histograms("w")[-1].histogram_value
    assert (histo.min, histo.max, histo.num, histo.sum) == (0.5, 0.5, 6, 3.0)
    image = acc.Images("x_image/image")[0]
    assert (image.height, image.width) == (1, 3)
    (text,) = {t.tensor_proto.string_val[0] for t in acc.Tensors("note")}
    assert text == b"step note"
    assert acc.SummaryMetadata("note").plugin_data.plugin_name == "text"


def test_metadata_is_written_only_with_a_tags_first_value(tmp_path):
    summary = summary_pb2.Summary()
    value = summary.value.add(tag="t")
    value.metadata.plugin_data.plugin_name = "text"
    value.tensor.dtype = gf.string.as_datatype_enum
    value.tensor.string_val.append(b"a")
    with gf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(summary, 1)
        writer.add_summary(summary.SerializeToString(), 2)
        path = writer.path
    events = [event_pb2.Event.FromString(r) for r in tf_record_iterator(path)][1:]
    assert [e.summary.value[0].HasField("metadata") for e in events] == [True, False]
    assert summary.value[0].HasField("metadata")  # the caller's proto is untouched


def test_file_is_readable_while_writer_is_open(tmp_path):
    writer = gf.summary.FileWriter(str(tmp_path))
    writer.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="a", simple_value=1.5)]), 3)
    writer.flush()
    acc = accumulate(tmp_path)
    assert [(s.step, s.value) for s in acc.Scalars("a")] == [(3, 1.5)]
    writer.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="a", simple_value=2.5)]), 4)
    acc.Reload()  # picks up the record appended since
    assert [(s.step, s.value) for s in acc.Scalars("a")] == [(3, 1.5), (4, 2.5)]
    writer.close()


def test_reopen_starts_a_new_file_and_keeps_the_old_one(tmp_path):
    writer = gf.summary.FileWriter(str(tmp_path))
    writer.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="a", simple_value=1.0)]), 1)
    first = writer.path
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.add_summary(summary_pb2.Summary(), 2)
    writer.reopen()
    writer.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="a", simple_value=2.0)]), 2)
    writer.close()
    assert writer.path != first and len(os.listdir(tmp_path)) == 2
    assert [(s.step, s.value) for s in accumulate(tmp_path).Scalars("a")] == [(1, 1.0), (2, 2.0)]


def test_session_log_event_and_graph_def_input(tmp_path):
    graph, *_ = build_model()
    with gf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_graph(graph.as_graph_def())
        writer.add_session_log(event_pb2.SessionLog(status=event_pb2.SessionLog.START), 5)
        writer.add_event(event_pb2.Event(step=6, wall_time=1.0, file_version="custom"))
        path = writer.path
    events = [event_pb2.Event.FromString(r) for r in tf_record_iterator(path)]
    assert events[1].HasField("graph_def")
    assert (events[2].session_log.status, events[2].step) == (event_pb2.SessionLog.START, 5)
    assert (events[3].file_version, events[3].step) == ("custom", 6)


def test_wrong_inputs_raise(tmp_path):
    with gf.summary.FileWriter(str(tmp_path)) as writer:
        with pytest.raises(TypeError, match="Summary proto"):
            writer.add_summary(3.0)
        with pytest.raises(TypeError, match="Graph or a GraphDef"):
            writer.add_graph("not a graph")
        with pytest.raises(TypeError, match="Event proto"):
            writer.add_event(summary_pb2.Summary())


def test_undecodable_summary_bytes_raise_value_error(tmp_path):
    with gf.summary.FileWriter(str(tmp_path)) as writer:
        with pytest.raises(ValueError, match="not a serialized Summary"):
            writer.add_summary(b"\xff\xff not a summary")
        writer.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="ok", simple_value=1.0)]))
        path = writer.path
    events = [event_pb2.Event.FromString(r) for r in tf_record_iterator(path)]
    assert [e.summary.value[0].tag for e in events if e.HasField("summary")] == ["ok"]
