"""Convolution speed through graphflow Sessions next to numpy's sgemm, and "Deep MNIST" training next to peers.

Run from the repository root: python -m benchmarks.cnn [--repeats 5] [--steps 20] [--runs 5] [--skip-layers]

(1) Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter ops, each run alone by Session.run on fed arrays, in
GFLOP/s counting 2 * M * K * N for the convolution's GEMM (M = batch * out_h * out_w, K = kH * kW * Cin,
N = Cout), next to numpy's float32 matmul of contiguous (M, K) @ (K, N) operands and the 4096^2 sgemm rate.
(2) Deep MNIST training: 28x28x1 -> conv 5x5x32 SAME + relu -> max pool 2 -> conv 5x5x64 SAME + relu -> max pool 2
-> fc 1024 relu -> fc 10, batch 64, Adam 1e-4, softmax cross-entropy on random data. Each framework runs in its own
subprocess, so its peak memory (VmHWM) is its own; the frameworks take turns for --runs rounds of --steps
steps (so machine noise hits all of them alike) and samples/s is the median over the rounds.
PyTorch (CPU) and TensorFlow 1 run only when importable.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

from benchmarks.timing import median_seconds, peak_rss_mib, sgemm_gflops

# (name, batch, height, width, in_channels, kernel, out_channels); SAME padding, stride 1.
LAYERS = [
    ("28x28x1->32 5x5", 64, 28, 28, 1, 5, 32),
    ("14x14x32->64 5x5", 64, 14, 14, 32, 5, 64),
    ("56x56x64->64 3x3", 32, 56, 56, 64, 3, 64),
    ("28x28x128->128 3x3", 32, 28, 28, 128, 3, 128),
]
BATCH, LEARNING_RATE, WARMUP = 64, 1e-4, 3


def conv_layers(repeats):
    import graphflow as gf
    from graphflow.ops.conv_ops import conv2d, conv2d_backprop_filter, conv2d_backprop_input

    rng = np.random.default_rng(0)
    print(f"numpy sgemm 4096^2: {sgemm_gflops(4096, 4096, 4096, repeats, rng):.1f} GFLOP/s")
    print(f"{'layer':20} {'batch':>5} {'op':>21} {'GEMM (M, K, N)':>22} {'GFLOP/s':>8} {'sgemm':>7} {'ratio':>6}")
    for name, batch, height, width, channels, kernel, out_channels in LAYERS:
        x = rng.standard_normal((batch, height, width, channels), dtype=np.float32)
        w = rng.standard_normal((kernel, kernel, channels, out_channels), dtype=np.float32)
        dy = rng.standard_normal((batch, height, width, out_channels), dtype=np.float32)
        m, k, n = batch * height * width, kernel * kernel * channels, out_channels
        graph = gf.Graph()
        with graph.as_default():
            xs, ws, dys = (gf.placeholder(gf.float32, a.shape) for a in (x, w, dy))
            ops = [("Conv2D", conv2d(xs, ws, 1, "SAME"), (m, k, n)),
                   ("Conv2DBackpropInput", conv2d_backprop_input(x.shape, ws, dys, 1, "SAME"), (m, n, k)),
                   ("Conv2DBackpropFilter", conv2d_backprop_filter(xs, w.shape, dys, 1, "SAME"), (k, m, n))]
            feed = {xs: x, ws: w, dys: dy}
            # After a multi-threaded GEMM OpenBLAS's worker threads spin for about 0.1 s, taking the cores that
            # graphflow's intra-op threads need; a training step never runs right after one, so let them settle.
            time.sleep(0.5)
            with gf.Session(graph=graph) as sess:
                rates = [2e-9 * m * k * n / median_seconds(lambda: sess.run(tensor, feed), repeats)
                         for _, tensor, _ in ops]
            for (op_name, _, gemm), rate in zip(ops, rates):
                reference = sgemm_gflops(*gemm, repeats, rng)
                print(f"{name:20} {batch:5d} {op_name:>21} {str(gemm):>22} {rate:8.1f} {reference:7.1f} "
                      f"{rate / reference:6.2f}")


# --- Deep MNIST workers: each returns a `step(images, labels) -> loss` function --------------------------------------
def graphflow_worker():
    import graphflow as gf
    from graphflow.ops.conv_ops import conv2d
    from graphflow.ops.pool_ops import max_pool

    gf.set_random_seed(0)
    x = gf.placeholder(gf.float32, [None, 28, 28, 1])
    labels = gf.placeholder(gf.int64, [None])

    def weight(shape):
        return gf.Variable(gf.truncated_normal(shape, stddev=0.1))

    def bias(size):
        return gf.Variable(gf.constant(0.1, shape=[size]))

    h = gf.nn.relu(conv2d(x, weight([5, 5, 1, 32]), [1, 1, 1, 1], "SAME") + bias(32))
    h = max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = gf.nn.relu(conv2d(h, weight([5, 5, 32, 64]), [1, 1, 1, 1], "SAME") + bias(64))
    h = max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = gf.nn.relu(gf.matmul(gf.reshape(h, [-1, 7 * 7 * 64]), weight([7 * 7 * 64, 1024])) + bias(1024))
    logits = gf.matmul(h, weight([1024, 10])) + bias(10)
    loss = gf.reduce_mean(gf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    train = gf.train.AdamOptimizer(LEARNING_RATE).minimize(loss)
    sess = gf.Session()
    sess.run(gf.global_variables_initializer())
    return lambda images, targets: sess.run([train, loss], {x: images, labels: targets})[1]


def torch_worker():
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(7 * 7 * 64, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

    def step(images, targets):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(images).permute(0, 3, 1, 2)),
                                                 torch.from_numpy(targets))
        loss.backward()
        optimizer.step()
        return float(loss)
    return step


def tensorflow_worker():
    import tensorflow.compat.v1 as tf

    tf.disable_eager_execution()
    tf.set_random_seed(0)
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    labels = tf.placeholder(tf.int64, [None])

    def weight(shape):
        return tf.Variable(tf.truncated_normal(shape, stddev=0.1))

    h = tf.nn.relu(tf.nn.conv2d(x, weight([5, 5, 1, 32]), [1, 1, 1, 1], "SAME") + tf.Variable(tf.fill([32], 0.1)))
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.nn.relu(tf.nn.conv2d(h, weight([5, 5, 32, 64]), [1, 1, 1, 1], "SAME") + tf.Variable(tf.fill([64], 0.1)))
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.nn.relu(tf.matmul(tf.reshape(h, [-1, 7 * 7 * 64]), weight([7 * 7 * 64, 1024])))
    logits = tf.matmul(h, weight([1024, 10]))
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    train = tf.train.AdamOptimizer(LEARNING_RATE).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    return lambda images, targets: sess.run([train, loss], {x: images, labels: targets})[1]


WORKERS = {"graphflow": graphflow_worker, "pytorch": torch_worker, "tensorflow": tensorflow_worker}


def run_worker(name, steps, runs):
    """Runs in the subprocess: prints one JSON line with samples/s per run, peak RSS and the last loss."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((BATCH * 4, 28, 28, 1)).astype(np.float32)
    targets = rng.integers(0, 10, BATCH * 4).astype(np.int64)
    step = WORKERS[name]()
    loss = None
    for i in range(WARMUP):
        loss = step(images[:BATCH], targets[:BATCH])
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for i in range(steps):
            j = (i % 4) * BATCH
            loss = step(images[j:j + BATCH], targets[j:j + BATCH])
        rates.append(steps * BATCH / (time.perf_counter() - start))
    peak_mib = peak_rss_mib()
    print(json.dumps({"rates": rates, "peak_mib": peak_mib, "loss": float(loss)}))


def deep_mnist(steps, runs):
    """Each round runs every framework once, in turn, so all of them see the same machine conditions."""
    print(f"\nDeep MNIST training, batch {BATCH}, Adam {LEARNING_RATE}: median of {runs} interleaved rounds x "
          f"{steps} steps")
    results, failures = {}, {}
    for _ in range(runs):
        for name in WORKERS:
            if name in failures:
                continue
            done = subprocess.run([sys.executable, "-m", "benchmarks.cnn", "--worker", name, "--steps", str(steps),
                                   "--runs", "1"], capture_output=True, text=True)
            if done.returncode != 0:
                failures[name] = (done.stderr.strip().splitlines() or ["no output"])[-1]
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            entry = results.setdefault(name, {"rates": [], "peak_mib": 0.0})
            entry["rates"] += result["rates"]
            entry["peak_mib"] = max(entry["peak_mib"], result["peak_mib"])
            entry["loss"] = result["loss"]
    print(f"{'framework':12} {'samples/s':>10} {'(range)':>13} {'vs pytorch':>11} {'peak RSS MiB':>13} "
          f"{'last loss':>10}")
    torch_rate = statistics.median(results["pytorch"]["rates"]) if "pytorch" in results else None
    for name, result in results.items():
        rate = statistics.median(result["rates"])
        spread = f"{min(result['rates']):.0f}-{max(result['rates']):.0f}"
        ratio = f"{rate / torch_rate:10.2f}x" if torch_rate else f"{'-':>11}"
        print(f"{name:12} {rate:10.1f} {spread:>13} {ratio} {result['peak_mib']:13.0f} {result['loss']:10.3f}")
    if "pytorch" in results and "graphflow" in results:
        ratios = [ours / theirs for ours, theirs in zip(results["graphflow"]["rates"], results["pytorch"]["rates"])]
        print(f"graphflow / pytorch within each round: median {statistics.median(ratios):.2f}x, "
              f"range {min(ratios):.2f}-{max(ratios):.2f}x")
    for name, reason in failures.items():
        print(f"{name:12} not run: {reason}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per conv measurement (median reported)")
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed run")
    parser.add_argument("--runs", type=int, default=5, help="interleaved training rounds (median reported)")
    parser.add_argument("--skip-layers", action="store_true", help="only the Deep MNIST comparison")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker, args.steps, args.runs)
        return
    if not args.skip_layers:
        conv_layers(args.repeats)
    deep_mnist(args.steps, args.runs)


if __name__ == "__main__":
    main()
