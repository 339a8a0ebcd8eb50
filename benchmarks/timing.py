"""Timing helpers the benchmarks share: medians of repeated runs, and numpy's sgemm rate as a yardstick."""
import statistics
import time

import numpy as np


def median_seconds(function, repeats):
    """Median wall time of `repeats` calls of `function`, after one warm-up call (Plans compile, BLAS threads start)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sgemm_gflops(m, k, n, repeats, rng):
    """numpy's float32 GEMM rate for an (m, k) @ (k, n) product, in GFLOP/s."""
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    return 2e-9 * m * k * n / median_seconds(lambda: a @ b, repeats)


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB.

    Read from /proc's VmHWM, which starts afresh at exec. getrusage's ru_maxrss does not: Linux carries the parent's
    peak over into a child that it forks and execs, so a busy benchmark driver would inflate every child's figure.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # not Linux: the best available, with the caveat above
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
