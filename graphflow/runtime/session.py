"""Session: owns variable values and random states, compiles and caches Plans, validates feeds, runs fetches."""
from __future__ import annotations

import contextlib
import contextvars
import threading
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..backends.device import Device, available_devices, get_device
from ..backends.intra_op import set_intra_op_threads
from ..framework import errors, nest
from ..framework.graph import Graph, get_default_graph
from ..framework.tensor import Operation, Tensor, register_service
from .feeds import make_feed_converter
from .plan import Plan

_default_session: contextvars.ContextVar = contextvars.ContextVar("graphflow_default_session", default=None)
_GROWTH_RUNS = 5  # consecutive growing runs before warning about ops built inside a loop


class GPUOptions:
    """TF1's GPUOptions, accepted so scripts run; CuPy manages GPU memory itself, so the fields are kept, not used."""

    def __init__(self, per_process_gpu_memory_fraction: float = 0.0, allow_growth: bool = False,
                 visible_device_list: str = "", **fields: Any):
        self.per_process_gpu_memory_fraction = per_process_gpu_memory_fraction
        self.allow_growth = allow_growth
        self.visible_device_list = visible_device_list
        self.__dict__.update(fields)


class ConfigProto:
    """Session options: TF1's ConfigProto fields that matter here.

    `intra_op_parallelism_threads` (> 0) sets how many threads one kernel may split its work over; like TF's global
    intra-op pool it is one setting for the whole process, and 0 leaves it as it is (one per CPU by default).
    `inter_op_parallelism_threads` and `gpu_options` are accepted and kept: ops run one after another, and CuPy
    manages GPU memory itself.
    """

    def __init__(self, allow_soft_placement: bool = True, log_device_placement: bool = False,
                 device_count: Optional[Dict[str, int]] = None, gpu_options: Optional[GPUOptions] = None,
                 intra_op_parallelism_threads: int = 0, inter_op_parallelism_threads: int = 0, **fields: Any):
        self.intra_op_parallelism_threads = intra_op_parallelism_threads
        self.inter_op_parallelism_threads = inter_op_parallelism_threads
        self.allow_soft_placement = allow_soft_placement
        self.log_device_placement = log_device_placement
        self.device_count = dict(device_count or {})
        self.gpu_options = gpu_options or GPUOptions()
        self.__dict__.update(fields)


class BaseSession:
    """Runs a Graph. Variable values live here, so two Sessions on one graph are independent."""

    def __init__(self, target: str = "", graph: Optional[Graph] = None, config: Optional[ConfigProto] = None):
        self._graph = graph if graph is not None else get_default_graph()
        self._config = config or ConfigProto()
        if self._config.intra_op_parallelism_threads:
            set_intra_op_threads(self._config.intra_op_parallelism_threads)
        self._variables: Dict[str, Any] = {}
        self._rngs: Dict[Operation, np.random.Generator] = {}
        self._kernel_state: Dict[str, Dict[Any, Any]] = {}
        self._plans: Dict[Any, Tuple[Plan, List[Callable[[Any], Any]], Any]] = {}
        self._lock = threading.RLock()
        self._closed = False
        self._host_device = get_device("/cpu:0")
        devices = available_devices()
        if self._config.device_count.get("GPU", 1) == 0:
            devices = [d for d in devices if not d.startswith("/gpu")]
        self._devices = devices
        self._default_device = get_device("/gpu:0") if "/gpu:0" in devices else self._host_device
        self._last_graph_version: Optional[int] = None
        self._growth_runs = 0
        self._warned_growth = False
        self._context_tokens: List[Any] = []

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def sess_str(self) -> str:
        return ""

    # --- public API -----------------------------------------------------------------------------------------------
    def run(self, fetches: Any, feed_dict: Optional[Dict[Any, Any]] = None, options: Any = None,
            run_metadata: Any = None) -> Any:
        """Computes `fetches` (a Tensor, Operation, name, Variable, or any nest of them) with `feed_dict` fed.

        Returns values in the structure of `fetches`; Operations give None.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        feed_keys = tuple(feed_dict) if feed_dict else ()
        single = isinstance(fetches, (Tensor, Operation, str)) or hasattr(fetches, "_as_graph_element")
        leaves = None if single else tuple(nest.flatten(fetches))
        key = (fetches if single else leaves, feed_keys)
        try:
            entry = self._plans.get(key)
        except TypeError:  # an unhashable leaf: let resolution report it
            entry = None
        if entry is None:
            entry = self._compile(key, [fetches] if single else list(leaves), feed_keys)
        plan, converters, is_tensor = entry
        if feed_keys:
            values = [convert(feed_dict[k]) for convert, k in zip(converters, feed_keys)]
        else:
            values = ()
        trace = self._trace_list(options)
        results = plan.run(values, trace)
        if trace is not None and run_metadata is not None:
            from .tracing import fill_run_metadata  # only when tracing was asked for
            fill_run_metadata(run_metadata, trace, plan)
        self._note_graph_growth()
        return _pack_results(fetches, single, is_tensor, results)

    def make_callable(self, fetches: Any, feed_list: Optional[Sequence[Any]] = None, accept_options: bool = False):
        """A function running `fetches` whose positional arguments feed `feed_list`, skipping per-call lookups."""
        feed_keys = tuple(feed_list or ())
        single = isinstance(fetches, (Tensor, Operation, str)) or hasattr(fetches, "_as_graph_element")
        leaves = [fetches] if single else nest.flatten(fetches)
        plan, converters, is_tensor = self._compile(None, leaves, feed_keys)

        def call(*feed_values: Any) -> Any:
            if len(feed_values) != len(converters):
                raise TypeError(f"This callable takes {len(converters)} feed value(s), got {len(feed_values)}")
            results = plan.run([c(v) for c, v in zip(converters, feed_values)])
            return _pack_results(fetches, single, is_tensor, results)

        return call

    def close(self) -> None:
        """Releases variable values and compiled plans."""
        self._closed = True
        self._variables.clear()
        self._plans.clear()
        self._rngs.clear()
        self._kernel_state.clear()

    def list_devices(self) -> List[str]:
        return list(self._devices)

    @contextlib.contextmanager
    def as_default(self):
        """Makes this the session `Tensor.eval()` and `Operation.run()` use."""
        token = _default_session.set(self)
        try:
            with self._graph.as_default():
                yield self
        finally:
            _default_session.reset(token)

    def __enter__(self):
        graph_ctx = self._graph.as_default()
        graph_ctx.__enter__()
        token = _default_session.set(self)
        self._context_tokens.append((graph_ctx, token))
        return self

    def __exit__(self, *exc: Any) -> None:
        graph_ctx, token = self._context_tokens.pop()
        _default_session.reset(token)
        graph_ctx.__exit__(*exc)
        self.close()

    # --- compilation ----------------------------------------------------------------------------------------------
    def _resolve_fetch(self, fetch: Any) -> Any:
        if fetch is None:
            raise TypeError("Fetch argument None has invalid type <class 'NoneType'>")
        try:
            return self._graph.as_graph_element(fetch)
        except KeyError as e:
            raise errors.NotFoundError(None, None, f"Fetch {fetch!r} is not in the graph: {e.args[0]}") from None
        except (TypeError, ValueError) as e:
            raise TypeError(f"Fetch argument {fetch!r} cannot be interpreted as a Tensor or Operation ({e})") from None

    def _resolve_feed(self, key: Any) -> Tensor:
        try:
            element = self._graph.as_graph_element(key, allow_operation=False)
        except KeyError as e:
            raise errors.NotFoundError(None, None, f"Cannot feed {key!r}: {e.args[0]}") from None
        except (TypeError, ValueError) as e:
            raise TypeError(f"Cannot interpret feed_dict key {key!r} as a Tensor: {e}") from None
        return element

    def _compile(self, key: Any, leaves: List[Any], feed_keys: Tuple[Any, ...]):
        with self._lock:
            if key is not None and key in self._plans:
                return self._plans[key]
            elements = [self._resolve_fetch(f) for f in leaves]
            feeds = [self._resolve_feed(k) for k in feed_keys]
            if len(set(feeds)) != len(feeds):
                raise ValueError("feed_dict feeds the same tensor twice (under different keys)")
            tensors = [e for e in elements if isinstance(e, Tensor)]
            targets = [e for e in elements if isinstance(e, Operation)]
            plan = Plan(self, tensors, targets, feeds)
            entry = (plan, [make_feed_converter(t) for t in feeds], [isinstance(e, Tensor) for e in elements])
            if key is not None:
                self._plans[key] = entry
            return entry

    def _place(self, op: Operation) -> Device:
        """The device an op runs on: its own request, its variable's device for ref inputs, else the default."""
        ref_inputs = getattr(op.opdef, "ref_inputs", ())
        name = op.inputs[ref_inputs[0]].op.device if ref_inputs else op.device
        if not name:
            device = self._default_device
        elif name in self._devices:
            device = get_device(name)
        elif self._config.allow_soft_placement:
            device = self._default_device
        else:
            raise errors.InvalidArgumentError(None, op, f"Cannot assign a device for operation {op.name}: device {name} "
                                                        f"does not exist here; available: {self._devices}")
        if device.kind != "cpu" and getattr(op.opdef, "cpu_only", False):
            device = self._host_device
        return device

    # --- state ----------------------------------------------------------------------------------------------------
    def _random_generator(self, op: Operation) -> np.random.Generator:
        gen = self._rngs.get(op)
        if gen is None:
            seed, seed2 = op.attrs.get("seed", 0), op.attrs.get("seed2", 0)
            entropy = [seed, seed2] if (seed or seed2) else None
            gen = self._rngs[op] = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
        return gen

    def _trace_list(self, options: Any) -> Optional[list]:
        if options is None or not getattr(options, "trace_level", 0):
            return None
        return []

    def _note_graph_growth(self) -> None:
        version = self._graph._version
        if self._last_graph_version is not None and version > self._last_graph_version:
            self._growth_runs += 1
            if self._growth_runs >= _GROWTH_RUNS and not self._warned_growth:
                self._warned_growth = True
                newest = self._graph._ops[-1]
                warnings.warn(f"The graph grew between each of the last {self._growth_runs} Session.run calls (now "
                              f"{len(self._graph._ops)} ops; newest '{newest.name}' ({newest.type}) created at "
                              f"{newest.traceback_line}). Are ops being built inside the training loop? Build them "
                              "once before the loop, or call graph.finalize() to make this an error.",
                              GraphGrowthWarning, stacklevel=3)
        else:
            self._growth_runs = 0
        self._last_graph_version = version


def _pack_results(fetches: Any, single: bool, is_tensor: List[bool], results: Sequence[Any]) -> Any:
    """The plan's results (one per fetched Tensor) in the structure of `fetches`, with None for Operations."""
    if all(is_tensor):
        flat = list(results)
    else:
        it = iter(results)
        flat = [next(it) if t else None for t in is_tensor]
    return flat[0] if single else nest.pack_sequence_as(fetches, flat)


class GraphGrowthWarning(UserWarning):
    """Warned when a graph keeps growing between Session.run calls."""


class Session(BaseSession):
    """A TF1 Session: `with gf.Session() as sess: sess.run(...)`."""


class InteractiveSession(BaseSession):
    """A Session that installs itself as the default session on creation (for shells and notebooks)."""

    def __init__(self, target: str = "", graph: Optional[Graph] = None, config: Optional[ConfigProto] = None):
        super().__init__(target, graph, config)
        self._token = _default_session.set(self)

    def close(self) -> None:
        super().close()
        if _default_session.get() is self:
            _default_session.set(None)


def get_default_session() -> Optional[BaseSession]:
    """The session made default by `with sess:`/`as_default()` or an InteractiveSession, or None."""
    return _default_session.get()


def _session_for(session: Optional[BaseSession], graph: Graph) -> BaseSession:
    session = session or get_default_session()
    if session is None:
        raise ValueError("Cannot evaluate tensor using `eval()`: No default session is registered. Use "
                         "`with sess.as_default()` or pass an explicit session to `eval(session=sess)`")
    if session.graph is not graph:
        raise ValueError("Cannot use the given session to evaluate tensor: the tensor's graph is different from the "
                         "session's graph.")
    return session


register_service("session_for", _session_for)
