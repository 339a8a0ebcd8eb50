"""Intra-op parallelism on the host: kernels hand independent shares of their work to a process-wide thread pool.

numpy's BLAS already spreads one GEMM over the cores, but a convolution alternates between building a block of
patches (one core) and multiplying it (all cores, each reading back part of a block another core just wrote). Run
that way, a Deep-MNIST convolution measured up to 2x slower than the same blocks split between threads, each thread
building its own blocks and multiplying them with single-threaded BLAS, and whole training steps were both slower
and far more variable. numpy releases the GIL in copies, ufuncs and matmul, so the threads really run in parallel.

While shares run on the pool the BLAS is held to one thread: its thread count is process-wide, so it is set to 1
when the first parallel section starts and restored when the last one ends. Where no BLAS thread control is found
(a BLAS other than OpenBLAS or MKL), the pool defaults to one thread, which is the plain serial loop.

The pool size follows TF1's `ConfigProto.intra_op_parallelism_threads`: 0 means the usable CPU count, 1 turns
parallelism off. Like TF's global intra-op pool it is one setting for the whole process.
"""
from __future__ import annotations

import ctypes
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

import numpy

Item = TypeVar("Item")
Result = TypeVar("Result")

# (set, get) thread-count functions of the BLAS libraries numpy ships with, under the names their builds export.
_BLAS_THREAD_FUNCTIONS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
    ("MKL_Set_Num_Threads", "MKL_Get_Max_Threads"),
)


def _find_blas_thread_control() -> Optional[Tuple[Callable[[int], Any], Callable[[], int]]]:
    """The loaded BLAS's (set_num_threads, get_num_threads), found among the shared libraries of this process."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "/" in line})
    except OSError:  # not Linux: no way to find the library numpy loaded
        return None
    # numpy's own BLAS first (wheels keep it in numpy.libs beside the package), in case SciPy brought another
    numpy_home = os.path.dirname(os.path.dirname(numpy.__file__))
    for path in sorted(paths, key=lambda path: not path.startswith(os.path.join(numpy_home, "numpy"))):
        name = os.path.basename(path).lower()
        if "openblas" not in name and "mkl_rt" not in name:
            continue
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _BLAS_THREAD_FUNCTIONS:
            setter, getter = getattr(library, set_name, None), getattr(library, get_name, None)
            if setter is not None and getter is not None:
                setter.argtypes, getter.restype = [ctypes.c_int], ctypes.c_int
                return setter, getter
    return None


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class _IntraOpPool:
    """The process-wide pool, its BLAS hold, and the configured thread count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blas = _find_blas_thread_control()
        self._requested = 0
        self._executor: Optional[ThreadPoolExecutor] = None
        self._executor_workers = 0
        self._active_sections = 0
        self._saved_blas_threads = 0
        self._worker = threading.local()
        self._default_threads = usable_cpus() if self._blas is not None else 1  # read once: threads() is on hot paths

    def threads(self) -> int:
        return self._requested or self._default_threads

    def set_threads(self, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"intra-op thread count must be a non-negative integer (0: one per CPU); got {count!r}")
        with self._lock:
            self._requested = count

    def blas_held(self) -> bool:
        return self._active_sections > 0

    def in_worker(self) -> bool:
        return getattr(self._worker, "active", False)

    def _mark_worker(self) -> None:
        self._worker.active = True

    def _executor_for(self, workers: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None or self._executor_workers != workers:
                if self._executor is not None:
                    self._executor.shutdown(wait=False)  # shares already submitted to it still run
                self._executor = ThreadPoolExecutor(workers, "graphflow-intra-op", initializer=self._mark_worker)
                self._executor_workers = workers
            return self._executor

    def hold_blas(self) -> None:
        with self._lock:
            self._active_sections += 1
            if self._active_sections == 1 and self._blas is not None:
                setter, getter = self._blas
                self._saved_blas_threads = getter()
                setter(1)

    def release_blas(self) -> None:
        with self._lock:
            self._active_sections -= 1
            if self._active_sections == 0 and self._blas is not None:
                self._blas[0](self._saved_blas_threads)

    def run(self, work: Callable[[Sequence[Item]], Result], shares: List[Sequence[Item]],
            threads: int) -> List[Result]:
        """The calling thread and up to `threads - 1` workers each take the next share as they finish one."""
        executor = self._executor_for(threads - 1)
        results: List[Any] = [None] * len(shares)
        failures: List[Tuple[int, BaseException]] = []
        next_share = itertools.count()  # next() on it is atomic under the GIL

        def take_shares() -> None:
            while not failures:
                index = next(next_share)
                if index >= len(shares):
                    return
                try:
                    results[index] = work(shares[index])
                except BaseException as error:  # re-raised below, once no other thread still writes
                    failures.append((index, error))
        self.hold_blas()
        try:
            helpers = [executor.submit(take_shares) for _ in range(min(threads, len(shares)) - 1)]
            self._worker.active = True
            try:
                take_shares()
            finally:
                self._worker.active = False
            # Wait for every helper before raising, so no thread still writes into arrays the caller drops.
            for helper in helpers:
                helper.result()
        finally:
            self.release_blas()
        if failures:
            raise min(failures, key=lambda failure: failure[0])[1]
        return results

    def after_fork_in_child(self) -> None:
        # The pool's threads do not exist in a forked child; start a fresh pool there when one is needed.
        self._lock = threading.Lock()
        self._executor, self._executor_workers, self._active_sections = None, 0, 0
        self._default_threads = usable_cpus() if self._blas is not None else 1


_POOL = _IntraOpPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL.after_fork_in_child)


def intra_op_threads() -> int:
    """Threads a kernel may split one op's work over (1: none)."""
    return _POOL.threads()


def set_intra_op_threads(count: int) -> None:
    """Set the process-wide intra-op thread count: 0 picks one per usable CPU, 1 runs every kernel serially."""
    _POOL.set_threads(count)


class parallel_section:
    """Context for work that uses the intra-op pool (a Session run): the BLAS is held to one thread inside it.

    Holding it for a whole run, not only inside each parallel kernel, matters: after a multi-threaded GEMM
    OpenBLAS's own workers spin for up to about 0.1 s, taking the cores the pool's threads need next.
    """

    __slots__ = ("_held",)

    def __enter__(self) -> None:
        self._held = _POOL.threads() > 1
        if self._held:
            _POOL.hold_blas()

    def __exit__(self, *exc_info: Any) -> None:
        if self._held:
            _POOL.release_blas()


def split_shares(items: Sequence[Item], parts: int,
                 can_cut: Callable[[Item, Item], bool] = lambda before, after: True) -> List[Sequence[Item]]:
    """`items` cut into at most `parts` contiguous, non-empty shares of near-equal length, cutting only between
    neighbours `before`, `after` for which `can_cut(before, after)` holds."""
    shares: List[Sequence[Item]] = []
    start, count = 0, len(items)
    for part in range(parts, 0, -1):
        if start >= count:
            break
        end = start + max(1, (count - start) // part)
        while end < count and not can_cut(items[end - 1], items[end]):
            end += 1
        shares.append(items[start:end])
        start = end
    return shares


# Work is cut into this many shares per thread, handed out as threads finish their last one, so a thread that the
# machine slows down (or that drew a heavier share) takes fewer; the shares, and so the results, stay deterministic.
SHARES_PER_THREAD = 4


def wanted_shares(per_thread: int = SHARES_PER_THREAD) -> int:
    """How many pieces a host kernel should cut its work into, at least, to keep every intra-op thread busy.

    `per_thread` below the default suits kernels made of many short numpy calls: every call takes the GIL, and
    threads that queue for it often lose more than they share (see `PoolGeometry.blocks`).
    """
    threads = _POOL.threads()
    return 1 if threads < 2 else per_thread * threads


def run_shares(xp: Any, items: Sequence[Item], work: Callable[[Sequence[Item]], Result],
               can_cut: Callable[[Item, Item], bool] = lambda before, after: True) -> List[Result]:
    """Run `work(share)` on contiguous shares of `items` over the intra-op threads; return the results in order.

    Shares run concurrently only for host (numpy) arrays, with more than one intra-op thread, outside the pool's own
    threads; otherwise `work` runs once, here, on all of `items`. `work` must only write where no other share does.
    """
    threads = _POOL.threads()
    if xp is not numpy or threads < 2 or len(items) < 2 or _POOL.in_worker():
        return [work(items)]
    shares = split_shares(items, SHARES_PER_THREAD * threads, can_cut)
    if len(shares) < 2:
        return [work(items)]
    return _POOL.run(work, shares, threads)


# Below this many multiply-adds a GEMM is not worth handing out: waking a thread costs tens of microseconds.
MIN_PARALLEL_MATMUL = 1 << 21


def matmul(a: Any, b: Any) -> Any:
    """a @ b. While the BLAS is held to one thread (inside a `parallel_section`), large 2-D host products are split
    over the intra-op threads instead, by rows of a (or columns of b when a has fewer rows).

    Outside a section the BLAS threads the product itself, which measured faster for the mid-sized GEMMs of an MLP
    (handing a share to a thread costs tens of microseconds).
    """
    if not (isinstance(a, numpy.ndarray) and isinstance(b, numpy.ndarray) and a.ndim == b.ndim == 2):
        return a @ b
    (rows, inner), columns = a.shape, b.shape[-1]
    threads = _POOL.threads()
    if (threads < 2 or rows * inner * columns < MIN_PARALLEL_MATMUL or not _POOL.blas_held()
            or _POOL.in_worker()):
        return a @ b
    out = numpy.empty((rows, columns), dtype=numpy.result_type(a, b))
    by_rows = rows >= columns
    extent = rows if by_rows else columns
    step = -(-extent // threads)
    cuts = [slice(start, min(start + step, extent)) for start in range(0, extent, step)]

    def multiply(share: Sequence[slice]) -> None:
        for cut in share:
            if by_rows:
                numpy.matmul(a[cut], b, out=out[cut])
            else:
                numpy.matmul(a, b[:, cut], out=out[:, cut])
    run_shares(numpy, cuts, multiply)
    return out
