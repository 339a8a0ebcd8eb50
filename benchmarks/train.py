"""Training-step speed and peak memory of an MLP (784-512-512-10, relu, batch 128, Momentum 0.01/0.9, softmax
cross-entropy) in graphflow next to the same model hand-written in numpy (and PyTorch CPU / TF1 when importable).

Run from the repository root: python -m benchmarks.train [--steps 200] [--runs 5]

Each framework runs in its own subprocess so peak memory (VmHWM) is its own; each run times `--steps` steps after
warm-up, and the table shows medians over `--runs` runs with ratios to hand-written numpy.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

from benchmarks.timing import peak_rss_mib

SIZES = (784, 512, 512, 10)
BATCH = 128
LEARNING_RATE, MOMENTUM = 0.01, 0.9
WARMUP = 10


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((BATCH * 8, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH * 8).astype(np.int64)
    return images, labels


def initial_weights(seed=1):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params.append((rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32))
        params.append(np.zeros(fan_out, np.float32))
    return params


def batches(images, labels):
    i = 0
    while True:
        start = (i % 8) * BATCH
        yield images[start:start + BATCH], labels[start:start + BATCH]
        i += 1


# --- the workers: each returns a `step(x, y) -> loss` function -------------------------------------------------------
def numpy_step():
    params = initial_weights()
    velocity = [np.zeros_like(p) for p in params]

    def step(x, y):
        w1, b1, w2, b2, w3, b3 = params
        z1 = x @ w1 + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2 + b2
        h2 = np.maximum(z2, 0)
        logits = h2 @ w3 + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = np.mean(np.log(total[:, 0]) - shifted[rows, y])
        dlogits = exp / total
        dlogits[rows, y] -= 1
        dlogits /= len(y)
        grads = [None] * 6
        grads[4], grads[5] = h2.T @ dlogits, dlogits.sum(axis=0)
        dz2 = (dlogits @ w3.T) * (z2 > 0)
        grads[2], grads[3] = h1.T @ dz2, dz2.sum(axis=0)
        dz1 = (dz2 @ w2.T) * (z1 > 0)
        grads[0], grads[1] = x.T @ dz1, dz1.sum(axis=0)
        for p, v, g in zip(params, velocity, grads):
            v *= MOMENTUM
            v += g
            p -= LEARNING_RATE * v
        return loss
    return step


def graphflow_step():
    import graphflow as gf
    from graphflow.train.optimizers import MomentumOptimizer

    x = gf.placeholder(gf.float32, [None, SIZES[0]], name="x")
    y = gf.placeholder(gf.int64, [None], name="y")
    params = [gf.Variable(p, name=f"p{i}") for i, p in enumerate(initial_weights())]
    relu = gf.nn.relu if hasattr(gf.nn, "relu") else (lambda t: gf.maximum(t, 0.0))
    h = x
    for i in range(0, 6, 2):
        h = gf.matmul(h, params[i]) + params[i + 1]
        if i < 4:
            h = relu(h)
    if hasattr(gf.nn, "sparse_softmax_cross_entropy_with_logits"):
        losses = gf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h)
    else:
        raise ImportError("gf.nn.sparse_softmax_cross_entropy_with_logits is needed for this benchmark")
    loss = gf.reduce_mean(losses)
    train = MomentumOptimizer(LEARNING_RATE, MOMENTUM).minimize(loss)
    sess = gf.Session()
    sess.run(gf.global_variables_initializer())
    fetches = [loss, train]

    def step(xb, yb):
        return sess.run(fetches, {x: xb, y: yb})[0]
    return step


def torch_step():
    import torch
    torch.set_num_threads(max(1, torch.get_num_threads()))
    params = [torch.tensor(p, requires_grad=True) for p in initial_weights()]
    optimizer = torch.optim.SGD(params, lr=LEARNING_RATE, momentum=MOMENTUM)

    def step(xb, yb):
        x, y = torch.from_numpy(xb), torch.from_numpy(yb)
        h = torch.relu(x @ params[0] + params[1])
        h = torch.relu(h @ params[2] + params[3])
        loss = torch.nn.functional.cross_entropy(h @ params[4] + params[5], y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss)
    return step


def tf1_step():
    import tensorflow.compat.v1 as tf
    tf.disable_eager_execution()
    x = tf.placeholder(tf.float32, [None, SIZES[0]])
    y = tf.placeholder(tf.int64, [None])
    params = [tf.Variable(p) for p in initial_weights()]
    h = tf.nn.relu(tf.matmul(x, params[0]) + params[1])
    h = tf.nn.relu(tf.matmul(h, params[2]) + params[3])
    logits = tf.matmul(h, params[4]) + params[5]
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train = tf.train.MomentumOptimizer(LEARNING_RATE, MOMENTUM).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())

    def step(xb, yb):
        return sess.run([loss, train], {x: xb, y: yb})[0]
    return step


WORKERS = {"numpy (by hand)": numpy_step, "graphflow": graphflow_step, "pytorch cpu": torch_step, "tf1": tf1_step}


def worker(name, steps):
    """Runs in a subprocess: builds the model, warms up, times `steps` steps; prints a JSON line."""
    try:
        step = WORKERS[name]()
    except ImportError as e:
        print(json.dumps({"skipped": str(e)}))
        return
    data = batches(*make_data())
    first = None
    for _ in range(WARMUP):
        loss = step(*next(data))
        first = loss if first is None else first
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(*next(data))
    elapsed = time.perf_counter() - start
    peak_mb = peak_rss_mib()
    print(json.dumps({"steps_per_s": steps / elapsed, "peak_mb": peak_mb, "first_loss": float(first),
                      "last_loss": float(loss)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.steps)
        return
    results = {}
    for run in range(args.runs):
        for name in WORKERS:  # interleaved so drifting machine load affects every framework alike
            out = subprocess.run([sys.executable, "-m", "benchmarks.train", "--worker", name, "--steps",
                                  str(args.steps)], capture_output=True, text=True, check=True)
            results.setdefault(name, []).append(json.loads(out.stdout.strip().splitlines()[-1]))
    reference = statistics.median(r["steps_per_s"] for r in results["numpy (by hand)"])
    print(f"MLP 784-512-512-10, batch {BATCH}, Momentum({LEARNING_RATE}, {MOMENTUM}); "
          f"median of {args.runs} runs x {args.steps} steps")
    print(f"{'framework':<18}{'steps/s':>10}{'vs numpy':>10}{'peak MB':>10}{'loss first->last':>22}")
    for name, runs in results.items():
        if "skipped" in runs[0]:
            print(f"{name:<18}{'not installed':>30}")
            continue
        speed = statistics.median(r["steps_per_s"] for r in runs)
        memory = statistics.median(r["peak_mb"] for r in runs)
        losses = f"{runs[0]['first_loss']:.3f} -> {runs[0]['last_loss']:.3f}"
        print(f"{name:<18}{speed:>10.1f}{speed / reference:>9.2f}x{memory:>10.1f}{losses:>22}")


if __name__ == "__main__":
    main()
