"""Executor overhead: one cached Session.run of a one-op graph, and a 2,000-op chain of tiny elementwise ops.

Prints graphflow next to a plain numpy loop doing the same work, and TF1 / PyTorch eager when they are installed.
Run from the repository root: python -m benchmarks.dispatch [--repeats 7]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import graphflow as gf

STEPS = 1000  # x = x * 1.0001 + 0.0001, 1000 times = 2,000 ops


def median_time(fn, repeats: int, inner: int) -> float:
    """Median over `repeats` of the mean seconds per call of `fn` over `inner` calls."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def graphflow_case(repeats: int):
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [16], name="x")
        one_op = gf.negative(x)
        y = x
        for _ in range(STEPS):
            y = y * 1.0001 + 0.0001
    value = np.ones(16, np.float32)
    sess = gf.Session(graph=graph)
    sess.run(one_op, {x: value})
    sess.run(y, {x: value})
    trivial = median_time(lambda: sess.run(one_op, {x: value}), repeats, 2000)
    chain = median_time(lambda: sess.run(y, {x: value}), repeats, 20)
    expected = value.copy()
    for _ in range(STEPS):
        expected = expected * np.float32(1.0001) + np.float32(0.0001)
    np.testing.assert_allclose(sess.run(y, {x: value}), expected, rtol=1e-5)
    return trivial, chain


def numpy_case(repeats: int):
    value = np.ones(16, np.float32)

    def chain():
        v = value
        for _ in range(STEPS):
            v = v * 1.0001 + 0.0001
        return v

    return None, median_time(chain, repeats, 20)


def tf1_case(repeats: int):
    try:
        import tensorflow.compat.v1 as tf
    except ImportError:
        return None
    tf.disable_eager_execution()
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [16])
        one_op = tf.negative(x)
        y = x
        for _ in range(STEPS):
            y = y * 1.0001 + 0.0001
    sess = tf.Session(graph=graph)
    value = np.ones(16, np.float32)
    sess.run(y, {x: value})
    return (median_time(lambda: sess.run(one_op, {x: value}), repeats, 200),
            median_time(lambda: sess.run(y, {x: value}), repeats, 5))


def torch_case(repeats: int):
    try:
        import torch
    except ImportError:
        return None
    value = torch.ones(16)

    def chain():
        v = value
        for _ in range(STEPS):
            v = v * 1.0001 + 0.0001
        return v

    return median_time(lambda: torch.neg(value), repeats, 2000), median_time(chain, repeats, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rows = [("graphflow", graphflow_case(args.repeats)), ("numpy loop", numpy_case(args.repeats)),
            ("TF1 Session", tf1_case(args.repeats)), ("PyTorch eager", torch_case(args.repeats))]
    numpy_chain = rows[1][1][1]
    print(f"{'':16}{'trivial run (µs)':>18}{'2,000-op chain (ms)':>22}{'chain / numpy':>15}")
    for name, result in rows:
        if result is None:
            print(f"{name:16}{'not installed':>18}")
            continue
        trivial, chain = result
        trivial_s = f"{trivial * 1e6:.2f}" if trivial is not None else "-"
        print(f"{name:16}{trivial_s:>18}{chain * 1e3:>22.3f}{chain / numpy_chain:>15.2f}")


if __name__ == "__main__":
    main()
