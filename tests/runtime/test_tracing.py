"""Tracing: RunOptions(FULL_TRACE) fills RunMetadata.step_stats; Timeline exports a Chrome trace; TensorBoard reads it."""
import json

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import graphflow as gf
from graphflow.proto import config_pb2
from graphflow.runtime.timeline import Timeline


def build():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, 3], name="x")
        w = gf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
        product = gf.matmul(x, w, name="product")
        shifted = gf.add(product, gf.constant(np.ones(2, np.float32), name="bias"), name="shifted")
        loss = gf.reduce_mean(shifted, name="loss")
        init = gf.global_variables_initializer()
    sess = gf.Session(graph=graph)
    sess.run(init)
    return sess, x, product, shifted, loss


def traced_run(sess, fetches, feed):
    metadata = config_pb2.RunMetadata()
    options = config_pb2.RunOptions(trace_level=config_pb2.RunOptions.FULL_TRACE)
    values = sess.run(fetches, feed, options=options, run_metadata=metadata)
    return values, metadata


def all_node_stats(metadata):
    return [s for dev in metadata.step_stats.dev_stats for s in dev.node_stats]


def test_full_trace_has_one_node_stats_per_executed_op():
    sess, x, product, shifted, loss = build()
    batch = np.ones((4, 3), np.float32)
    (value, product_value, shifted_value), metadata = traced_run(sess, [loss, product, shifted], {x: batch})
    stats = all_node_stats(metadata)
    # x is fed, w/read is an identity, the constants are folded at compile time: none of them runs a kernel
    assert sorted(s.node_name for s in stats) == ["loss", "product", "shifted", "w"]
    assert [d.device for d in metadata.step_stats.dev_stats] == ["/job:localhost/replica:0/task:0/device:CPU:0"]
    by_name = {s.node_name: s for s in stats}
    assert by_name["product"].timeline_label == "product = MatMul(x, w/read)"
    out = by_name["product"].output[0].tensor_description
    assert out.allocation_description.requested_bytes == product_value.nbytes == 4 * 2 * 4
    assert [d.size for d in out.shape.dim] == [4, 2] and out.dtype == gf.float32.as_datatype_enum
    assert by_name["shifted"].output[0].tensor_description.allocation_description.requested_bytes == \
        shifted_value.nbytes
    assert by_name["loss"].output[0].tensor_description.allocation_description.requested_bytes == \
        np.asarray(value).nbytes
    assert by_name["w"].memory[0].total_bytes == 6 * 4


def test_trace_times_are_monotonic_and_consistent():
    sess, x, _, _, loss = build()
    _, metadata = traced_run(sess, loss, {x: np.ones((2, 3), np.float32)})
    stats = all_node_stats(metadata)
    previous_end = 0
    for s in stats:
        assert 0 <= s.op_start_rel_micros <= s.op_end_rel_micros <= s.all_end_rel_micros
        assert s.op_end_rel_nanos >= s.op_start_rel_nanos >= 0
        assert s.all_start_nanos // 1000 == s.all_start_micros
        assert s.all_start_nanos >= previous_end  # ops ran one after another, in recorded order
        previous_end = s.all_start_nanos + s.all_end_rel_nanos


def test_untraced_run_leaves_run_metadata_empty_and_retrace_replaces_it():
    sess, x, _, _, loss = build()
    metadata = config_pb2.RunMetadata()
    sess.run(loss, {x: np.ones((1, 3))}, run_metadata=metadata)
    assert not metadata.HasField("step_stats")
    _, first = traced_run(sess, loss, {x: np.ones((1, 3))})
    options = config_pb2.RunOptions(trace_level=config_pb2.RunOptions.FULL_TRACE)
    sess.run(loss, {x: np.ones((1, 3))}, options=options, run_metadata=first)
    assert len(all_node_stats(first)) == 4  # replaced, not appended


def test_timeline_chrome_trace_has_an_event_per_op():
    sess, x, _, _, loss = build()
    _, metadata = traced_run(sess, loss, {x: np.ones((2, 3), np.float32)})
    trace = json.loads(Timeline(metadata.step_stats).generate_chrome_trace_format(show_memory=True))
    events = trace["traceEvents"]
    ops = [e for e in events if e["ph"] == "X"]
    assert sorted(e["args"]["name"] for e in ops) == ["loss", "product", "shifted", "w"]
    assert {e["args"]["name"]: e["name"] for e in ops}["product"] == "MatMul"
    stats = {s.node_name: s for s in all_node_stats(metadata)}
    for e in ops:
        assert e["ts"] == stats[e["args"]["name"]].all_start_micros
        assert e["dur"] == stats[e["args"]["name"]].all_end_rel_micros
    flows = [e for e in events if e["ph"] in "st"]
    assert {e["name"] for e in flows} == {"product:0", "shifted:0"}  # w's output is read through w/read
    counters = [e for e in events if e["ph"] == "C"]
    assert counters and counters[-1]["args"]["cpu"] == 0  # every output is freed again by the end
    assert max(c["args"]["cpu"] for c in counters) >= 2 * 2 * 4
    names = [e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"]
    assert names == ["/job:localhost/replica:0/task:0/device:CPU:0 Compute", "Allocators"]


def test_run_metadata_reads_back_through_file_writer(tmp_path):
    sess, x, _, _, loss = build()
    _, metadata = traced_run(sess, loss, {x: np.ones((2, 3), np.float32)})
    with gf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_run_metadata(metadata, "step_7", global_step=7)
        with pytest.raises(ValueError, match="already used"):
            writer.add_run_metadata(metadata, "step_7")
    acc = EventAccumulator(str(tmp_path)).Reload()
    read = acc.RunMetadata("step_7")
    assert [s.node_name for d in read.step_stats.dev_stats for s in d.node_stats] == \
        [s.node_name for s in all_node_stats(metadata)]


def _node(dev_stats, name, label, start, duration, out_bytes=None):
    stats = dev_stats.node_stats.add(node_name=name, timeline_label=label, all_start_micros=start,
                                     op_end_rel_micros=duration, all_end_rel_micros=duration)
    if out_bytes is not None:
        allocation = stats.output.add(slot=0).tensor_description.allocation_description
        allocation.allocator_name, allocation.requested_bytes = "cpu", out_bytes
    return stats


def test_timeline_links_tensors_across_devices_whatever_the_device_order():
    from graphflow.proto import step_stats_pb2
    step = step_stats_pb2.StepStats()
    gpu = step.dev_stats.add(device="/device:GPU:0")  # the consumer's device is listed first
    cpu = step.dev_stats.add(device="/device:CPU:0")
    _node(cpu, "x", "x = Const()", start=100, duration=10, out_bytes=64)
    _node(gpu, "y", "y = Square(x)", start=200, duration=30)
    events = json.loads(Timeline(step).generate_chrome_trace_format(show_memory=True))["traceEvents"]
    flows = [e for e in events if e.get("cat") == "DataFlow"]
    assert [(e["ph"], e["pid"], e["ts"], e["name"]) for e in flows] == [("s", 1, 110, "x:0"), ("t", 0, 200, "x:0")]
    counters = [(e["ts"], e["args"]["cpu"]) for e in events if e["ph"] == "C"]
    assert counters == [(110, 64), (230, 0)]  # x lives until its consumer on the other device ends
