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
