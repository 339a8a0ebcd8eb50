"""The `graphflow demo` main job: the classic TF1 CNN trained on the bundled digits, with a run folder of results."""
from __future__ import annotations

import csv
import json
import os
import sys
import time
from typing import Any, Dict, Optional

import numpy as np

import graphflow as gf

OPTIMIZERS = {
    "adam": lambda lr: gf.train.AdamOptimizer(lr),
    "momentum": lambda lr: gf.train.MomentumOptimizer(lr, momentum=0.9),
    "sgd": lambda lr: gf.train.GradientDescentOptimizer(lr),
    "rmsprop": lambda lr: gf.train.RMSPropOptimizer(lr),
    "adagrad": lambda lr: gf.train.AdagradOptimizer(lr),
}
DEFAULT_LEARNING_RATES = {"adam": 2e-3, "momentum": 0.02, "sgd": 0.1, "rmsprop": 1e-3, "adagrad": 0.05}


def build_model(image_shape, num_classes: int = 10, seed: int = 0):
    """The Deep-MNIST CNN of TF1's tutorial, sized for the input: conv-pool, conv-pool, fully connected, dropout.

    Returns a dict of the graph's tensors and ops that the training loop feeds and fetches.
    """
    height, width, channels = image_shape
    gf.set_random_seed(seed)
    images = gf.placeholder(gf.float32, [None, height, width, channels], name="images")
    labels = gf.placeholder(gf.int64, [None], name="labels")
    keep_prob = gf.placeholder_with_default(1.0, [], name="keep_prob")

    def weight(shape, name):
        return gf.Variable(gf.truncated_normal(shape, stddev=0.1), name=name)

    def bias(shape, name):
        return gf.Variable(gf.constant(0.1, shape=shape), name=name)

    with gf.name_scope("conv1"):
        w1, b1 = weight([3, 3, channels, 32], "weights"), bias([32], "biases")
        h1 = gf.nn.max_pool(gf.nn.relu(gf.nn.conv2d(images, w1, [1, 1, 1, 1], "SAME") + b1),
                            [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    with gf.name_scope("conv2"):
        w2, b2 = weight([3, 3, 32, 64], "weights"), bias([64], "biases")
        h2 = gf.nn.max_pool(gf.nn.relu(gf.nn.conv2d(h1, w2, [1, 1, 1, 1], "SAME") + b2),
                            [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    flat_size = int(np.prod(h2.shape.as_list()[1:]))
    with gf.name_scope("fc1"):
        w3, b3 = weight([flat_size, 256], "weights"), bias([256], "biases")
        h3 = gf.nn.relu(gf.matmul(gf.reshape(h2, [-1, flat_size]), w3) + b3)
        h3 = gf.nn.dropout(h3, keep_prob=keep_prob, seed=seed)
    with gf.name_scope("fc2"):
        w4, b4 = weight([256, num_classes], "weights"), bias([num_classes], "biases")
        logits = gf.add(gf.matmul(h3, w4), b4, name="logits")
    with gf.name_scope("loss"):
        loss = gf.reduce_mean(gf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    with gf.name_scope("accuracy"):
        correct = gf.equal(gf.argmax(logits, 1), labels)
        accuracy = gf.reduce_mean(gf.cast(correct, gf.float32))
    return {"images": images, "labels": labels, "keep_prob": keep_prob, "logits": logits, "loss": loss,
            "accuracy": accuracy, "weights": [w1, w2, w3, w4]}


class _Progress:
    """A progress bar: tqdm when installed, else one line rewritten in place."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self.count, self._bar = total, enabled, 0, None
        if enabled:
            try:
                from tqdm import tqdm  # optional extra
                self._bar = tqdm(total=total, unit="step", leave=True, file=sys.stdout)
            except ImportError:
                self._bar = None

    def update(self, **metrics: float) -> None:
        self.count += 1
        if not self.enabled:
            return
        text = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)
            self._bar.update(1)
        elif self.count % 10 == 0 or self.count == self.total:
            sys.stdout.write(f"\r  step {self.count}/{self.total} {text}")
            sys.stdout.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            sys.stdout.write("\n")


def run_demo(epochs: int = 20, batch_size: int = 32, optimizer: str = "adam", learning_rate: Optional[float] = None,
             out_dir: Optional[str] = None, seed: int = 0, progress: bool = True, mnist_dir: Optional[str] = None,
             log=print) -> Dict[str, Any]:
    """Trains the CNN and writes the run folder. Returns the final metrics and where things were written."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
    train, test = _load_data(mnist_dir, seed)
    out_dir = out_dir or os.path.join("runs", time.strftime("demo-%Y%m%d-%H%M%S"))
    os.makedirs(os.path.join(out_dir, "checkpoint"), exist_ok=True)
    lr = learning_rate if learning_rate is not None else DEFAULT_LEARNING_RATES[optimizer]

    graph = gf.Graph()
    with graph.as_default():
        model = build_model(train.images.shape[1:], seed=seed)
        global_step = gf.train.get_or_create_global_step()
        steps_per_epoch = -(-len(train.images) // batch_size)
        # decay the rate tenfold over the run: fast progress early, a steady finish
        rate = gf.train.exponential_decay(lr, global_step, decay_steps=epochs * steps_per_epoch, decay_rate=0.1)
        train_op = OPTIMIZERS[optimizer](rate).minimize(model["loss"], global_step=global_step)
        gf.summary.scalar("training_loss", model["loss"])
        gf.summary.scalar("training_accuracy", model["accuracy"])
        for w in model["weights"]:
            gf.summary.histogram(w.op.name.replace("/", "_"), w)
        summaries = gf.summary.merge_all()
        init = gf.global_variables_initializer()
        saver = gf.train.Saver(max_to_keep=2)
        graph.finalize()  # the training loop below must not add ops

    writer = gf.summary.FileWriter(os.path.join(out_dir, "logs"), graph=graph)
    gf.train.write_graph(graph, out_dir, "graph.pbtxt", as_text=True)
    try:
        # the model in full; gradients, optimizer and saver as one box each, so the picture stays readable
        gf.viz.render(graph, os.path.join(out_dir, "graph.svg"), format="svg", collapse_gradients=True,
                      collapse_scopes=[train_op.name, "save", "ExponentialDecay"])
    except Exception as e:  # a missing or failing `dot` binary must not cost the user the training run
        log(f"graph.svg skipped: graphviz could not draw the graph ({type(e).__name__}: {str(e)[:200]})")
    bar = _Progress(epochs * steps_per_epoch, progress)
    history = []
    started = time.perf_counter()
    with gf.Session(graph=graph) as sess:
        sess.run(init)
        feeds = [model["images"], model["labels"], model["keep_prob"]]
        step_fn = sess.make_callable([train_op, model["loss"], model["accuracy"], global_step], feeds)
        for epoch in range(epochs):
            for xb, yb in gf.data.minibatches([train.images, train.labels], batch_size, seed=seed + epoch):
                _, loss, acc, step = step_fn(xb, yb, 0.75)
                bar.update(loss=float(loss), acc=float(acc))
            summary, train_loss, train_acc, step = sess.run(
                [summaries, model["loss"], model["accuracy"], global_step],
                {model["images"]: train.images, model["labels"]: train.labels})
            test_loss, test_acc = sess.run([model["loss"], model["accuracy"]],
                                           {model["images"]: test.images, model["labels"]: test.labels})
            writer.add_summary(summary, int(step))
            history.append({"epoch": epoch + 1, "step": int(step), "train_loss": float(train_loss),
                            "train_accuracy": float(train_acc), "test_loss": float(test_loss),
                            "test_accuracy": float(test_acc)})
        checkpoint = saver.save(sess, os.path.join(out_dir, "checkpoint", "model"), global_step=int(step))
    bar.close()
    writer.close()
    seconds = time.perf_counter() - started
    _write_history(os.path.join(out_dir, "metrics.csv"), history)
    result = {"test_accuracy": history[-1]["test_accuracy"], "test_loss": history[-1]["test_loss"],
              "train_accuracy": history[-1]["train_accuracy"], "epochs": epochs, "optimizer": optimizer,
              "learning_rate": lr, "batch_size": batch_size, "seconds": round(seconds, 2), "checkpoint": checkpoint,
              "out_dir": out_dir, "train_size": len(train.images), "test_size": len(test.images)}
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(result, f, indent=2)
    log(f"test accuracy {result['test_accuracy']:.4f} (loss {result['test_loss']:.4f}) after {epochs} epochs, "
        f"{seconds:.1f} s")
    log(f"run folder: {out_dir} (checkpoint, graph.pbtxt, graph.svg, logs/ for TensorBoard, metrics.csv)")
    return result


def _load_data(mnist_dir: Optional[str], seed: int):
    if mnist_dir is None:
        return gf.data.load_digits(seed=seed)
    from .data.digits import Split
    train = gf.data.load_mnist(os.path.join(mnist_dir, "train-images-idx3-ubyte.gz"),
                               os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"))
    test = gf.data.load_mnist(os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz"),
                              os.path.join(mnist_dir, "t10k-labels-idx1-ubyte.gz"))
    return Split(*train), Split(*test)


def _write_history(path: str, history) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
