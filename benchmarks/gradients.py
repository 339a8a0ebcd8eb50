"""Benchmark: time to build gradient graphs (long chains, an MLP inside a padded graph), beside TF1 when installed.

Run from the repository root: python -m benchmarks.gradients [--repeats 5]
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

import graphflow as gf


def _median_seconds(build_and_differentiate: Callable[[], Callable[[], Any]], repeats: int) -> float:
    """Median over `repeats` fresh graphs of the time taken by the differentiation step alone (GC left on, as users
    run it)."""
    times = []
    for _ in range(repeats):
        differentiate = build_and_differentiate()
        gc.collect()  # start each timing without the previous graph's garbage
        start = time.perf_counter()
        differentiate()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _chain(lib: Any, graph: Any, length: int) -> Callable[[], Any]:
    """An elementwise chain of `length` ops (alternating tanh and scalar multiply); returns its differentiation."""
    with graph.as_default():
        x = lib.placeholder(lib.float32, [16])
        h = x
        for _ in range(length // 2):
            h = lib.tanh(h) * 0.9
    return lambda: _differentiate(lib, graph, h, [x])


def _pad(lib: Any, count: int) -> None:
    """`count` ops unrelated to anything differentiated later."""
    other = lib.placeholder(lib.float32, [4])
    for _ in range(count // 2):
        other = lib.sin(other) + 1.0


def _mlp(lib: Any, graph: Any, padding: int) -> Callable[[], Any]:
    """A 2-layer MLP with a softmax cross-entropy loss written from primitives, in a graph padded with unrelated ops."""
    rng = np.random.default_rng(0)
    with graph.as_default():
        _pad(lib, padding)
        x = lib.placeholder(lib.float32, [32, 64])
        labels = lib.placeholder(lib.float32, [32, 10])
        w1 = lib.constant(rng.standard_normal((64, 128)).astype(np.float32))
        b1 = lib.constant(np.zeros(128, np.float32))
        w2 = lib.constant(rng.standard_normal((128, 10)).astype(np.float32))
        b2 = lib.constant(np.zeros(10, np.float32))
        hidden = lib.tanh(lib.matmul(x, w1) + b1)
        logits = lib.matmul(hidden, w2) + b2
        log_z = lib.reduce_logsumexp(logits, axis=1, keepdims=True)
        loss = -lib.reduce_mean(lib.reduce_sum(labels * (logits - log_z), axis=1))
    return lambda: _differentiate(lib, graph, loss, [w1, b1, w2, b2])


def _differentiate(lib: Any, graph: Any, y: Any, xs: List[Any]) -> Any:
    with graph.as_default():
        return lib.gradients(y, xs)


def _cases(lib: Any, graph_factory: Callable[[], Any]) -> Dict[str, Callable[[], Callable[[], Any]]]:
    return {
        "chain 2,000 ops": lambda: _chain(lib, graph_factory(), 2_000),
        "chain 20,000 ops": lambda: _chain(lib, graph_factory(), 20_000),
        "MLP alone": lambda: _mlp(lib, graph_factory(), 0),
        "MLP + 10,000 unrelated ops": lambda: _mlp(lib, graph_factory(), 10_000),
    }


def _tensorflow() -> Optional[Any]:
    try:
        import tensorflow as tf
    except ImportError:
        return None
    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    return tf1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh graphs per case; the median is reported")
    args = parser.parse_args()

    results: Dict[str, Dict[str, float]] = {}
    for name, case in _cases(gf, gf.Graph).items():
        results.setdefault(name, {})["graphflow"] = _median_seconds(case, args.repeats)
    tf1 = _tensorflow()
    if tf1 is not None:
        for name, case in _cases(tf1, tf1.Graph).items():
            results[name]["tf.compat.v1"] = _median_seconds(case, args.repeats)

    columns = ["graphflow"] + (["tf.compat.v1"] if tf1 is not None else [])
    print(f"gradient graph construction, median of {args.repeats} runs (seconds)")
    print(f"{'case':<30}" + "".join(f"{c:>16}" for c in columns))
    for name, row in results.items():
        print(f"{name:<30}" + "".join(f"{row[c]:>16.4f}" for c in columns))
    if tf1 is None:
        print("(tensorflow is not installed: no side-by-side column)")
    for column in columns:
        chain_ratio = results["chain 20,000 ops"][column] / results["chain 2,000 ops"][column]
        padded_ratio = results["MLP + 10,000 unrelated ops"][column] / results["MLP alone"][column]
        print(f"{column}: 20k/2k chain ratio {chain_ratio:.1f} (linear ≈ 10); "
              f"padded/alone MLP ratio {padded_ratio:.2f} (independent of graph size ≈ 1)")


if __name__ == "__main__":
    main()
