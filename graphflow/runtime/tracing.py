"""Turns a traced Plan run into RunMetadata.step_stats: per-device NodeExecStats with timings and output sizes."""
from __future__ import annotations

import time
from typing import Any, Dict, List, Sequence, Tuple

from ..framework.tensor import Operation
from ..proto import config_pb2, step_stats_pb2


def tf_device_name(device_name: str) -> str:
    """'/cpu:0' → '/job:localhost/replica:0/task:0/device:CPU:0' (the form TensorFlow writes in StepStats)."""
    kind, _, index = device_name.strip("/").partition(":")
    return f"/job:localhost/replica:0/task:0/device:{kind.upper()}:{index or 0}"


def timeline_label(op: Operation) -> str:
    """TF's label `name = Type(input, input, ^control)`, which timeline tools parse for op type and inputs."""
    inputs = [t.op.name if t.value_index == 0 else t.name for t in op.inputs]
    inputs += [f"^{c.name}" for c in op.control_inputs]
    return f"{op.name} = {op.type}({', '.join(inputs)})"


def fill_run_metadata(run_metadata: config_pb2.RunMetadata, trace: Sequence[Tuple[Operation, int, int, tuple]],
                      plan: Any) -> None:
    """Replaces `run_metadata.step_stats` by one NodeExecStats per executed op, grouped by device.

    Args:
        run_metadata: the RunMetadata passed to `Session.run`.
        trace: (op, start_ns, end_ns, outputs) per executed kernel, from `Plan.run(trace=...)`, in execution order;
            times come from `time.perf_counter_ns`; outputs are (shape, nbytes) pairs.
        plan: the Plan that ran (it knows each op's device).
    Times: `all_start_micros` is wall-clock (Unix epoch) microseconds; the `*_rel_*` fields are relative to it. The
    op runs synchronously inside its step, so op start equals the step start and op end the step end.
    """
    wall_ns, perf_ns = time.time_ns(), time.perf_counter_ns()  # one pair maps the monotonic clock onto the epoch
    run_metadata.ClearField("step_stats")
    by_device: Dict[str, step_stats_pb2.DeviceStepStats] = {}
    for op, start, end, outputs in trace:
        placed = plan._device_for(op)
        device = tf_device_name(placed.name)
        dev_stats = by_device.get(device)
        if dev_stats is None:
            dev_stats = by_device[device] = run_metadata.step_stats.dev_stats.add(device=device)
        start_ns = wall_ns - (perf_ns - start)
        duration_ns = max(end - start, 0)
        stats = dev_stats.node_stats.add(node_name=op.name, timeline_label=timeline_label(op), thread_id=0)
        stats.all_start_micros, stats.all_start_nanos = start_ns // 1000, start_ns
        stats.op_start_rel_micros, stats.op_start_rel_nanos = 0, 0
        stats.op_end_rel_micros, stats.op_end_rel_nanos = duration_ns // 1000, duration_ns
        stats.all_end_rel_micros, stats.all_end_rel_nanos = duration_ns // 1000, duration_ns
        allocator = "cpu" if placed.kind == "cpu" else f"GPU_{placed.name.rpartition(':')[2]}_bfc"  # TF's names
        total = 0
        for slot, (tensor, (shape, nbytes)) in enumerate(zip(op.outputs, outputs)):
            total += nbytes
            output = stats.output.add(slot=slot)
            description = output.tensor_description
            description.dtype = tensor.dtype.as_datatype_enum
            for size in shape:
                description.shape.dim.add(size=int(size))
            description.allocation_description.requested_bytes = nbytes
            description.allocation_description.allocated_bytes = nbytes
            description.allocation_description.allocator_name = allocator
        if op.outputs:
            stats.memory.add(allocator_name=allocator, total_bytes=total, peak_bytes=total)


def node_stats_of(run_metadata: config_pb2.RunMetadata) -> List[step_stats_pb2.NodeExecStats]:
    """All NodeExecStats of a RunMetadata, across devices, in recorded order."""
    return [stats for dev in run_metadata.step_stats.dev_stats for stats in dev.node_stats]
