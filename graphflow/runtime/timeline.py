"""Timeline: StepStats → Chrome trace-event JSON (chrome://tracing, Perfetto), as TF1's tensorflow.python.client.timeline."""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Tuple

from ..proto import step_stats_pb2

_LABEL = re.compile(r"(.*) = (.*)\((.*)\)")


def _parse_label(label: str) -> Tuple[str, List[str]]:
    """(op type, data input tensor names) from a timeline label `name = Type(a, b:1, ^c)`."""
    match = _LABEL.fullmatch(label)
    if match is None:
        return "unknown", []
    inputs = [s.strip() for s in match.group(3).split(",") if s.strip()] if match.group(3) else []
    data = [s if ":" in s else f"{s}:0" for s in inputs if not s.startswith("^")]
    return match.group(2), data


class Timeline:
    """A view of one traced step's StepStats as a Chrome trace.

    Args:
        step_stats: `run_metadata.step_stats` from a `Session.run` with `RunOptions(trace_level=FULL_TRACE)`.
        graph: accepted for TF1 compatibility; op types and inputs are read from the timeline labels.
    """

    def __init__(self, step_stats: step_stats_pb2.StepStats, graph: Any = None):
        self._step_stats = step_stats

    def generate_chrome_trace_format(self, show_dataflow: bool = True, show_memory: bool = False,
                                     op_time: str = "schedule") -> str:
        """The step as Chrome trace-event JSON (`{"traceEvents": [...]}`).

        Args:
            show_dataflow: add flow arrows from each tensor's producer to its consumers.
            show_memory: add a counter track per allocator with the bytes held by live op outputs; an output lives
                from the end of its producer to the end of its last consumer.
            op_time: which interval an op event spans: "schedule" (all_start..all_end), "gpu" (op_start..op_end) or
                "all" (all_start..op_end).
        Returns:
            A JSON string.
        """
        if op_time not in ("schedule", "gpu", "all"):
            raise ValueError(f"op_time must be 'schedule', 'gpu' or 'all', got {op_time!r}")
        events: List[Dict[str, Any]] = []
        producers: Dict[str, Tuple[int, int, float]] = {}  # tensor → (pid, tid, end ts)
        tensors: Dict[str, Dict[str, Any]] = {}  # tensor → allocator, bytes, alloc ts, free ts
        records = []
        flow_id = 0
        for pid, dev_stats in enumerate(self._step_stats.dev_stats):
            events.append({"name": "process_name", "ph": "M", "pid": pid,
                           "args": {"name": f"{dev_stats.device} Compute"}})
            events.append({"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}})
            for stats in dev_stats.node_stats:
                records.append((pid, stats))
        # every producer first: devices are listed one after another, so a consumer may come before its producer
        for pid, stats in records:
            end = self._interval(stats, op_time)[1]
            for output in stats.output:
                name = f"{stats.node_name}:{output.slot}"
                producers[name] = (pid, stats.thread_id, end)
                allocation = output.tensor_description.allocation_description
                tensors[name] = {"allocator": allocation.allocator_name, "bytes": allocation.requested_bytes,
                                 "alloc": end, "free": end}
        for pid, stats in records:
            op_type, inputs = _parse_label(stats.timeline_label)
            begin, end = self._interval(stats, op_time)
            args: Dict[str, Any] = {"name": stats.node_name, "op": op_type}
            args.update({f"input{i}": name for i, name in enumerate(inputs)})
            events.append({"ph": "X", "cat": "Op", "name": op_type, "pid": pid, "tid": stats.thread_id,
                           "ts": begin, "dur": end - begin, "args": args})
            for name in inputs:
                if name in tensors:
                    tensors[name]["free"] = max(tensors[name]["free"], end)
                if show_dataflow and name in producers:
                    src_pid, src_tid, src_ts = producers[name]
                    flow_id += 1  # one id per producer→consumer arrow
                    events.append({"ph": "s", "cat": "DataFlow", "name": name, "pid": src_pid,
                                   "tid": src_tid, "ts": src_ts, "id": flow_id})
                    events.append({"ph": "t", "cat": "DataFlow", "name": name, "pid": pid, "tid": stats.thread_id,
                                   "ts": begin, "id": flow_id})
        if show_memory:
            events.extend(self._memory_events(tensors, len(self._step_stats.dev_stats)))
        return json.dumps({"traceEvents": events}, separators=(",", ":"))

    @staticmethod
    def _interval(stats: step_stats_pb2.NodeExecStats, op_time: str) -> Tuple[float, float]:
        start = stats.all_start_micros
        if op_time == "gpu":
            return start + stats.op_start_rel_micros, start + stats.op_end_rel_micros
        if op_time == "all":
            return start, start + stats.op_end_rel_micros
        return start, start + stats.all_end_rel_micros

    @staticmethod
    def _memory_events(tensors: Dict[str, Dict[str, Any]], pid: int) -> List[Dict[str, Any]]:
        """Counter events ("ph": "C") in an "Allocators" process: live output bytes per allocator over time."""
        changes: Dict[str, List[Tuple[float, int]]] = {}
        for info in tensors.values():
            changes.setdefault(info["allocator"], []).extend([(info["alloc"], info["bytes"]),
                                                              (info["free"], -info["bytes"])])
        events: List[Dict[str, Any]] = [{"name": "process_name", "ph": "M", "pid": pid,
                                         "args": {"name": "Allocators"}}]
        for allocator, deltas in sorted(changes.items()):
            live = 0
            # at equal times apply frees after allocations, so a tensor freed as another appears both count once
            for ts, delta in sorted(deltas, key=lambda d: (d[0], d[1] < 0)):
                live += delta
                events.append({"ph": "C", "name": allocator, "pid": pid, "ts": ts, "args": {allocator: live}})
        return events

