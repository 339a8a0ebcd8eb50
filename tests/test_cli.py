"""The graphflow command: demo (short runs), inspect and dot on real GraphDef files, and error handling."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import graphflow as gf
from graphflow.cli import main

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf")


def test_demo_writes_a_complete_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["demo", "--epochs", "2", "--no-progress", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 2 and summary["train_size"] + summary["test_size"] == 1797
    assert 0.5 < summary["test_accuracy"] <= 1.0  # two epochs already learn a lot; the full run is tested below
    lines = (out / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,step,train_loss") and len(lines) == 3
    assert (out / "graph.svg").read_text().lstrip().startswith("<?xml")
    assert "node {" in (out / "graph.pbtxt").read_text()
    assert gf.train.latest_checkpoint(str(out / "checkpoint")).endswith("model-90")
    assert "test accuracy" in capsys.readouterr().out
    # TensorBoard's own reader finds the graph, one loss/accuracy point per epoch and the weight histograms
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(out / "logs"), size_guidance={"histograms": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert tags["graph"] is True
    assert {"training_loss", "training_accuracy"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("training_accuracy")] == [45, 90]
    assert events.Scalars("training_accuracy")[-1].value == pytest.approx(summary["train_accuracy"], abs=1e-6)
    assert {"conv1_weights", "fc2_weights"} <= set(tags["histograms"])


def test_demo_checkpoint_restores_without_the_model_code(tmp_path):
    out = tmp_path / "run"
    main(["demo", "--epochs", "1", "--no-progress", "--out", str(out), "--optimizer", "momentum"])
    checkpoint = gf.train.latest_checkpoint(str(out / "checkpoint"))
    graph = gf.Graph()
    with graph.as_default():
        saver = gf.train.import_meta_graph(checkpoint + ".meta")
        with gf.Session(graph=graph) as sess:
            saver.restore(sess, checkpoint)
            train, test = gf.data.load_digits()
            accuracy = sess.run("accuracy/Mean:0", {"images:0": test.images, "labels:0": test.labels})
    expected = json.loads((out / "summary.json").read_text())["test_accuracy"]
    assert accuracy == pytest.approx(expected, abs=1e-6)


def test_demo_reaches_97_percent_with_defaults(tmp_path):
    from graphflow.demo import run_demo
    result = run_demo(out_dir=str(tmp_path / "run"), progress=False, log=lambda *_: None)
    assert result["test_accuracy"] >= 0.97


def test_inspect_reports_ops_shapes_and_parameters(capsys):
    assert main(["inspect", os.path.join(FIXTURES, "cnn_frozen.pb")]) == 0
    out = capsys.readouterr().out
    assert "Conv2D                           1" in out and "MaxPool" in out
    graph_def = gf.GraphDef()
    with open(os.path.join(FIXTURES, "cnn_frozen.pb"), "rb") as f:
        graph_def.ParseFromString(f.read())
    constants = sum(int(np.prod([d.size for d in n.attr["value"].tensor.tensor_shape.dim]))
                    for n in graph_def.node if n.op == "Const")
    assert f"parameters (variables and constants): {constants:,}" in out
    assert "images: (?, 8, 8, 1)" in out and "logits (Identity): (?, 3)" in out


def test_dot_renders_svg_and_png(tmp_path):
    svg = tmp_path / "g.svg"
    assert main(["dot", os.path.join(FIXTURES, "train_graph.pb"), "-o", str(svg)]) == 0
    assert "<svg" in svg.read_text()
    png = tmp_path / "g.png"
    assert main(["dot", os.path.join(FIXTURES, "mlp_frozen.pb"), "-o", str(png), "--collapse-gradients"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_files_give_clear_errors(tmp_path, capsys):
    garbage = tmp_path / "garbage.pb"
    garbage.write_bytes(bytes(range(256)) * 3)
    assert main(["inspect", str(garbage)]) == 1
    assert "Cannot decode" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "missing.pb")]) == 1
    assert "No such file" in capsys.readouterr().err
    assert main(["dot", os.path.join(FIXTURES, "mlp_frozen.pb"), "-o", str(tmp_path / "g.bmpx")]) == 2


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "graphflow", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "demo" in result.stdout and "inspect" in result.stdout


def test_demo_trains_on_mnist_idx_files(tmp_path):
    import gzip
    import struct
    rng = np.random.default_rng(0)

    def write_idx(name, array):
        header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        with gzip.open(tmp_path / name, "wb") as f:
            f.write(header + array.astype(np.uint8).tobytes())

    for prefix, count in (("train", 96), ("t10k", 32)):
        labels = rng.integers(0, 10, count)
        images = rng.integers(0, 40, (count, 28, 28))
        images[np.arange(count), 2 + 2 * labels, :] = 255  # a bright row whose position encodes the label
        write_idx(f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(f"{prefix}-labels-idx1-ubyte.gz", labels)
    out = tmp_path / "run"
    assert main(["demo", "--mnist", str(tmp_path), "--epochs", "1", "--no-progress", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["train_size"], summary["test_size"]) == (96, 32)
    assert "images: (?, 28, 28, 1)" in subprocess.run(
        [sys.executable, "-m", "graphflow", "inspect", str(out / "graph.pbtxt")], capture_output=True, text=True,
        timeout=120).stdout
