"""Plan: the compiled form of one (fetches, feeds, targets) request — prune, order, place, fold, slot, emit.

A Plan is straight-line Python generated once and run many times: every kernel call is one line, every tensor a
local variable, and a value is deleted right after its last use. Running it walks no graph and formats no names.
"""
from __future__ import annotations

import heapq
import itertools
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..backends.device import Device
from ..backends.intra_op import parallel_section
from ..framework import errors
from ..framework.tensor import Operation, Tensor

_plan_ids = itertools.count()
_FOLD_LIMIT = 1 << 20  # constant-fold only results up to this many elements: folded values stay in memory
_MAX_FUSED_FOLLOWERS = 4  # the most ops after a producer that are offered to its `OpDef.fuse`


class KernelContext:
    """What `OpDef.make_kernel` may use: the device (`xp`) and the Session's variables and random states."""

    def __init__(self, session: Any, device: Device):
        self.session = session
        self.device = device
        self.xp = device.xp
        self.variables: Dict[str, Any] = session._variables

    def rng(self, op: Operation) -> np.random.Generator:
        return self.session._random_generator(op)

    def compile(self, fetches: Sequence[Tensor], feeds: Sequence[Tensor]) -> Callable[[Sequence[Any]], tuple]:
        """A sub-plan over another graph (a cond branch) run with this Session's state: call it with feed values."""
        return Plan(self.session, fetches, [], feeds).run

    def state(self, name: str) -> Dict[Any, Any]:
        """A dict the Session keeps for stateful kernels of one kind (e.g. dataset iterators), cleared on close."""
        return self.session._kernel_state.setdefault(name, {})


def _needed_ops(fetch_ops: Sequence[Operation], fed: Dict[Tensor, int]) -> Tuple[Dict[Operation, Optional[Operation]], List[Operation]]:
    """Ops the fetches depend on (stopping at fed tensors), each with one consumer that needs it (for messages)."""
    parent: Dict[Operation, Optional[Operation]] = {}
    stack: List[Tuple[Operation, Optional[Operation]]] = [(op, None) for op in fetch_ops]
    while stack:
        op, consumer = stack.pop()
        if op in parent:
            continue
        parent[op] = consumer
        ref_inputs = getattr(op.opdef, "ref_inputs", ())
        for index, t in enumerate(op.inputs):
            if index in ref_inputs or t in fed:
                continue
            stack.append((t.op, op))
        for c in op._control_inputs:
            stack.append((c, op))
    return parent, list(parent)


def _topological_order(ops: List[Operation], fed: Dict[Tensor, int]) -> List[Operation]:
    """Kahn's algorithm with creation order as tie-break (deterministic); reports a cycle by naming its ops."""
    needed = set(ops)
    indegree = {op: 0 for op in ops}
    users: Dict[Operation, List[Operation]] = {op: [] for op in ops}
    for op in ops:
        ref_inputs = getattr(op.opdef, "ref_inputs", ())
        preds = {t.op for i, t in enumerate(op.inputs) if i not in ref_inputs and t not in fed and t.op in needed}
        preds.update(c for c in op._control_inputs if c in needed)
        indegree[op] = len(preds)
        for p in preds:
            users[p].append(op)
    heap = [(op._id, op) for op in ops if indegree[op] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, op = heapq.heappop(heap)
        order.append(op)
        for user in users[op]:
            indegree[user] -= 1
            if indegree[user] == 0:
                heapq.heappush(heap, (user._id, user))
    if len(order) != len(ops):
        stuck = sorted((op for op in ops if indegree[op] > 0), key=lambda o: o._id)
        raise errors.InvalidArgumentError(None, None, "Graph contains a cycle through ops: " +
                                          ", ".join(o.name for o in stuck[:10]))
    return order


def _output_sizes(*values: Any) -> Tuple[Tuple[tuple, int], ...]:
    """(shape, nbytes) of each output, for traces: keeping the arrays themselves would defeat memory reuse and make
    traced steps slower than real ones."""
    return tuple((tuple(np.shape(v)), int(getattr(v, "nbytes", 0))) for v in values)


def _can_run_in_place(op: Operation) -> bool:
    """Whether `op` may write its one output into its first input's array (when that input dies at this op).

    Needs an in-place kernel, the output's dtype and (partial) shape equal to input 0's, and every other input
    provably not enlarging input 0 by broadcasting (each aligned dim 1, or known and equal to the output's).
    """
    opdef = op.opdef
    if getattr(opdef, "make_inplace_kernel", None) is None or len(op.outputs) != 1 or not op.inputs:
        return False
    first, out = op.inputs[0], op.outputs[0]
    if first.dtype != out.dtype or out.shape.rank in (None, 0) or first.shape != out.shape:
        return False
    out_dims = out.shape.dims
    for other in op.inputs[1:]:
        dims = other.shape.dims
        if dims is None or len(dims) > len(out_dims):
            return False
        for d, o in zip(reversed(dims), reversed(out_dims)):
            if not (d == 1 or (d is not None and d == o)) and not getattr(opdef, "same_shape_inputs", False):
                return False
    return True


def _aliases_variable(tensor: Tensor) -> bool:
    """Whether the array behind `tensor` may be a variable's storage (fetching it must then copy)."""
    seen = 0
    while seen < 64:
        opdef = tensor.op.opdef
        if getattr(opdef, "is_variable", False):
            return True
        if not opdef.may_alias_input or not tensor.op.inputs:
            return False
        tensor = tensor.op.inputs[0]
        seen += 1
    return True


class Plan:
    """A compiled request. `run(feed_values)` returns the fetched values in order."""

    def __init__(self, session: Any, fetches: Sequence[Tensor], targets: Sequence[Operation], feeds: Sequence[Tensor]):
        self.session = session
        self.fetches = list(fetches)
        self.feeds = list(feeds)
        fed = {t: i for i, t in enumerate(self.feeds)}
        fetch_ops = [t.op for t in self.fetches if t not in fed] + list(targets)
        parent, ops = _needed_ops(fetch_ops, fed)
        self._check_placeholders(ops, parent)
        self.order = _topological_order(ops, fed)
        self._fed = fed
        self._fetched = set(self.fetches)
        self._controlling: Optional[set] = None
        self.filename = f"<graphflow plan {next(_plan_ids)}>"
        self._line_maps: Dict[str, Tuple[Dict[int, Operation], Dict[int, List[str]]]] = {}
        self._fn = self._compile(traced=False)
        self._traced_fn: Optional[Callable[..., Any]] = None
        # Plans with kernels that share their work over the intra-op threads hold the BLAS to one thread while they
        # run; the others leave it alone (and a one-op run pays nothing for the pool).
        self._parallel = any(op.opdef.intra_op_parallel for op in self.order)

    # --- compile --------------------------------------------------------------------------------------------------
    def _check_placeholders(self, ops: List[Operation], parent: Dict[Operation, Optional[Operation]]) -> None:
        for op in ops:
            if op.type == "Placeholder":
                chain, node = [], op
                while parent.get(node) is not None:
                    node = parent[node]
                    chain.append(node.name)
                needed_by = f" (needed by '{chain[-1]}' via {' -> '.join(chain)})" if chain else ""
                raise errors.InvalidArgumentError(
                    None, op, f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                              f"{op.outputs[0].dtype.name} and shape {op.outputs[0].shape}{needed_by}")

    def _device_for(self, op: Operation) -> Device:
        return self.session._place(op)

    def _compile(self, traced: bool) -> Callable[..., Any]:
        session = self.session
        host = session._host_device
        namespace: Dict[str, Any] = {"__builtins__": __builtins__}
        constants: Dict[str, Any] = {}
        slot_of: Dict[Tensor, str] = {}
        slot_device: Dict[str, Device] = {}
        counter = itertools.count()
        lines: List[Tuple[str, List[str], List[str], Optional[Operation]]] = []  # (code, reads, writes, op)
        transfers: Dict[Tuple[str, str], str] = {}
        contexts: Dict[str, KernelContext] = {}
        fresh: set = set()  # slots holding arrays their kernel newly allocated (nothing else refers to them)
        aliased: set = set()  # slots some view-returning op has read

        def new_slot(device: Device) -> str:
            name = f"s{next(counter)}"
            slot_device[name] = device
            return name

        def on_device(slot: str, device: Device) -> str:
            """The slot holding `slot`'s value on `device`, emitting one transfer per (value, device)."""
            src = slot_device[slot]
            if src is device:
                return slot
            key = (slot, device.name)
            if key not in transfers:
                if slot in constants:
                    name = f"c{next(counter)}"
                    namespace[name] = constants[name] = device.put(src.get(constants[slot]))
                    slot_device[name] = device
                else:
                    name = new_slot(device)
                    put, get = f"put{next(counter)}", f"get{next(counter)}"
                    namespace[put], namespace[get] = device.put, src.get
                    lines.append((f"{name} = {put}({get}({slot}))", [slot], [name], None, None))
                transfers[key] = name
            return transfers[key]

        args = []
        for i, t in enumerate(self.feeds):
            name = f"f{i}"
            args.append(name)
            slot_of[t] = name
            slot_device[name] = host

        consumers = self._consumers()
        # tail of a fused chain -> (head, followers, the head's input slots, the fused kernel)
        pending: Dict[Operation, Tuple[Operation, List[Operation], List[str], Callable[..., Any]]] = {}
        absorbed: set = set()
        fused_chains: List[Tuple[Operation, List[Operation]]] = []

        for op in self.order:
            opdef = op.opdef
            if op.type == "NoOp":
                continue
            device = self._device_for(op)
            ctx = contexts.get(device.name)
            if ctx is None:
                ctx = contexts[device.name] = KernelContext(session, device)
            if op in absorbed:
                if op in pending:  # the chain's last op: one line computes the whole chain
                    head, followers, head_reads, fused_kernel = pending.pop(op)
                    chained = [head.outputs[0]] + [f.outputs[0] for f in followers[:-1]]
                    reads = head_reads + [on_device(slot_of[t], device) for f, link in zip(followers, chained)
                                          for t in f.inputs if t is not link]
                    kname, write = f"k{next(counter)}", new_slot(device)
                    namespace[kname] = fused_kernel
                    slot_of.setdefault(op.outputs[0], write)
                    if head.opdef.fresh_output:
                        fresh.add(write)
                    lines.append((f"{write} = {kname}({', '.join(reads)})", reads, [write], head, None))
                    fused_chains.append((head, followers))
                continue
            ref_inputs = getattr(opdef, "ref_inputs", ())
            reads = [on_device(slot_of[t], device) for i, t in enumerate(op.inputs) if i not in ref_inputs]
            if opdef.may_alias_input:
                aliased.update(reads)  # its output may be a view of these: never overwrite them in place
            if getattr(opdef, "is_identity", False) and len(reads) == 1:
                for t in op.outputs:
                    slot_of.setdefault(t, reads[0])
                continue
            kernel = opdef.make_kernel(op, ctx)
            if getattr(opdef, "is_constant", False) or (
                    not opdef.stateful and reads and all(r in constants for r in reads) and op.outputs):
                folded = self._fold(kernel, [constants[r] for r in reads], op)
                if folded is not None:
                    for t, value in zip(op.outputs, folded):
                        name = f"c{next(counter)}"
                        namespace[name] = constants[name] = value
                        slot_device[name] = device
                        slot_of.setdefault(t, name)
                    continue
            if opdef.fuse is not None:
                followers = self._followers(op, consumers, device)
                fused = opdef.fuse(op, followers, ctx) if followers else None
                if fused is not None:
                    fused_kernel, count = fused
                    pending[followers[count - 1]] = (op, followers[:count], reads, fused_kernel)
                    absorbed.update(followers[:count])
                    continue
            kname = f"k{next(counter)}"
            namespace[kname] = kernel
            writes = []
            for t in op.outputs:
                name = new_slot(device)
                writes.append(name)
                slot_of.setdefault(t, name)
            call = f"{kname}({', '.join(reads)})"
            if not op.outputs:
                code = call
            elif len(op.outputs) == 1:
                code = f"{writes[0]} = {call}"
            else:
                code = f"{', '.join(writes)}, = {call}"
            inplace_code = None
            if _can_run_in_place(op):
                iname = f"k{next(counter)}"
                namespace[iname] = opdef.make_inplace_kernel(op, ctx)
                inplace_code = f"{writes[0]} = {iname}({', '.join(reads)})"
            if opdef.fresh_output:
                fresh.update(writes)
            lines.append((code, reads, writes, op, inplace_code))

        results = []
        for t in self.fetches:
            slot = slot_of[t]
            src = slot_device[slot]
            if src is not host:
                get = f"get{next(counter)}"
                namespace[get] = src.get
                slot = f"{get}({slot})"
            if t not in self._fed and _aliases_variable(t):
                namespace["_copy"] = np.copy
                slot = f"_copy({slot})"
            results.append(slot)
        self._overwritable = fresh - aliased
        if not traced:
            self.fused = fused_chains  # (op, the ops after it that its kernel absorbed)
        return self._emit(lines, args, results, namespace, constants, traced)

    def _consumers(self) -> Dict[Tensor, List[Operation]]:
        """The ops of this plan that read each (computed, not fed) tensor, each op once."""
        consumers: Dict[Tensor, List[Operation]] = {}
        for op in self.order:
            ref_inputs = getattr(op.opdef, "ref_inputs", ())
            for index, t in enumerate(op.inputs):
                if index in ref_inputs or t in self._fed:
                    continue
                users = consumers.setdefault(t, [])
                if not users or users[-1] is not op:
                    users.append(op)
        return consumers

    def _followers(self, op: Operation, consumers: Dict[Tensor, List[Operation]], device: Device) -> List[Operation]:
        """The chain of ops after `op` that a fusing kernel may absorb: each the only reader of the one output before
        it, which nothing fetches and no control dependency waits on, on the same device, stateless."""
        controlling = self._controlling_ops()
        chain: List[Operation] = []
        current = op
        while len(chain) < _MAX_FUSED_FOLLOWERS and len(current.outputs) == 1 and current not in controlling:
            link = current.outputs[0]
            users = consumers.get(link, [])
            if link in self._fetched or len(users) != 1:
                break
            follower = users[0]
            if (follower.opdef.stateful or getattr(follower.opdef, "ref_inputs", ()) or
                    sum(t is link for t in follower.inputs) != 1 or self._device_for(follower) is not device):
                break
            chain.append(follower)
            current = follower
        return chain

    def _controlling_ops(self) -> set:
        if self._controlling is None:
            self._controlling = {c for op in self.order for c in op._control_inputs}
        return self._controlling

    @staticmethod
    def _fold(kernel: Callable[..., Any], values: List[Any], op: Operation) -> Optional[List[Any]]:
        try:
            out = kernel(*values)
        except Exception:  # leave it to run time, where the error is reported against the op with its inputs
            return None
        outs = list(out) if len(op.outputs) > 1 else [out]
        if any(np.size(v) > _FOLD_LIMIT for v in outs):
            return None
        return outs

    def _emit(self, lines, args, results, namespace, constants, traced: bool) -> Callable[..., Any]:
        last_use: Dict[str, int] = {}
        for index, (_, reads, writes, _, _) in enumerate(lines):
            for name in reads:
                last_use[name] = index
            for name in writes:
                last_use.setdefault(name, index)
        returned = {r.split("(")[-1].rstrip(")") for r in results}
        body = []
        line_ops: Dict[int, Operation] = {}
        line_inputs: Dict[int, List[str]] = {}
        if traced:
            # the traced variant takes the run's trace list as its first argument: no state shared between runs
            namespace["_now"] = time.perf_counter_ns
            namespace["_ops"] = [op for _, _, _, op, _ in lines]
            namespace["_sizes"] = _output_sizes
            args = ["_trace"] + list(args)
        in_place = []
        for index, (code, reads, writes, op, inplace_code) in enumerate(lines):
            if inplace_code is not None and reads and reads[0] in self._overwritable and \
                    last_use.get(reads[0]) == index and reads[0] not in returned:
                # the first input dies here and nothing else refers to its array: write the result into it
                code = inplace_code
                in_place.append(op)
            if traced and op is not None:
                body.append("_t = _now()")
            line_ops[len(body) + 2] = op
            line_inputs[len(body) + 2] = reads
            body.append(code)
            if traced and op is not None:
                body.append(f"_trace.append((_ops[{index}], _t, _now(), _sizes({', '.join(writes)})))")
            dead = sorted({n for n in set(reads) | set(writes)
                           if last_use.get(n) == index and n not in returned and n not in constants})
            if dead:
                body.append(f"del {', '.join(dead)}")
        body.append(f"return ({', '.join(results)}{',' if len(results) == 1 else ''})")
        source = f"def plan({', '.join(args)}):\n" + "\n".join("    " + line for line in body) + "\n"
        filename = self.filename + (" traced" if traced else "")
        self._line_maps[filename] = (line_ops, line_inputs)
        if not traced:
            self.source = source
            self.in_place_ops = in_place  # ops whose result overwrites their dying first input
        exec(compile(source, filename, "exec"), namespace)
        return namespace["plan"]

    # --- run ------------------------------------------------------------------------------------------------------
    def run(self, feed_values: Sequence[Any], trace: Optional[list] = None) -> Tuple[Any, ...]:
        """Executes the plan. With `trace` (a list), appends per step (op, start_ns, end_ns, outputs' (shape, nbytes))."""
        try:
            if not self._parallel:
                return self._call(feed_values, trace)
            with parallel_section():
                return self._call(feed_values, trace)
        except errors.OpError:
            raise
        except Exception as e:
            raise self._wrap_error(e) from e

    def _call(self, feed_values: Sequence[Any], trace: Optional[list]) -> Tuple[Any, ...]:
        if trace is None:
            return self._fn(*feed_values)
        if self._traced_fn is None:
            self._traced_fn = self._compile(traced=True)
        return self._traced_fn(trace, *feed_values)

    def _wrap_error(self, error: Exception) -> errors.OpError:
        tb, frame_locals, op, lineno, line_inputs = error.__traceback__, {}, None, None, {}
        while tb is not None:
            maps = self._line_maps.get(tb.tb_frame.f_code.co_filename)
            if maps is not None:
                lineno, frame_locals = tb.tb_lineno, tb.tb_frame.f_locals
                op, line_inputs = maps[0].get(lineno), maps[1]
            tb = tb.tb_next
        if op is None:
            return errors.InternalError(None, None, f"{type(error).__name__}: {error}")
        shapes = []
        for name in line_inputs.get(lineno, []):
            value = frame_locals.get(name)
            shapes.append(f"{tuple(np.shape(value))} {getattr(value, 'dtype', type(value).__name__)}"
                          if value is not None else "?")
        message = f"{op.type} op '{op.name}' failed: {type(error).__name__}: {error}; input shapes: [{', '.join(shapes)}]"
        if isinstance(error, MemoryError):
            return errors.ResourceExhaustedError(None, op, message)
        if isinstance(error, (ValueError, TypeError, IndexError, ZeroDivisionError, FloatingPointError, KeyError)):
            return errors.InvalidArgumentError(None, op, message)
        return errors.InternalError(None, op, message)
