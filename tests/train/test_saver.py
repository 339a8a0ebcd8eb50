"""gf.train.Saver: round trips into fresh graphs, renaming, retention, state file, errors, crash safety."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import graphflow as gf
from graphflow.framework.errors import DataLossError, InvalidArgumentError, NotFoundError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def fresh_default_graph():
    gf.reset_default_graph()


def _model(scale=1.0):
    """Two variables with known initial values (so every rebuild starts from the same numbers)."""
    w = gf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3) * scale, name="w")
    b = gf.Variable(np.array([1, 2, 3], dtype=np.int64), name="layer/b")
    return w, b


def test_round_trip_into_a_fresh_graph(tmp_path):
    prefix = str(tmp_path / "model")
    with gf.Graph().as_default():
        w, b = _model()
        saver = gf.train.Saver()
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            sess.run([w.assign(w * 2.0 + 0.5), b.assign_add(np.array([10, 10, 10], np.int64))])
            expected = sess.run([w, b])
            assert saver.save(sess, prefix, write_meta_graph=False) == prefix
    with gf.Graph().as_default() as graph:
        w, b = _model(scale=0.0)
        saver = gf.train.Saver()
        graph.finalize()  # restore must not add ops
        with gf.Session() as sess:
            saver.restore(sess, prefix)
            got = sess.run([w, b])
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], [11, 12, 13])
    assert got[1].dtype == np.int64


def test_save_and_restore_add_no_ops(tmp_path):
    w, _ = _model()
    saver = gf.train.Saver(max_to_keep=2)
    graph = gf.get_default_graph()
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        saver.save(sess, str(tmp_path / "m"), global_step=0, write_meta_graph=False)  # may compile plans, no ops
        count = len(graph.get_operations())
        for step in range(1, 4):
            path = saver.save(sess, str(tmp_path / "m"), global_step=step, write_meta_graph=False)
            saver.restore(sess, path)
        assert len(graph.get_operations()) == count


def test_var_list_dict_renames(tmp_path):
    prefix = str(tmp_path / "renamed")
    with gf.Graph().as_default():
        w, b = _model()
        saver = gf.train.Saver({"weights": w})
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            saver.save(sess, prefix, write_meta_graph=False)
    assert gf.train.list_variables(prefix) == [("weights", [2, 3])]
    with gf.Graph().as_default():
        other = gf.Variable(np.zeros((2, 3), np.float32), name="completely/different")
        saver = gf.train.Saver({"weights": other})
        with gf.Session() as sess:
            saver.restore(sess, prefix)
            np.testing.assert_array_equal(sess.run(other), np.arange(6).reshape(2, 3))


def test_global_step_suffix_max_to_keep_and_state_file(tmp_path):
    w, _ = _model()
    step = gf.Variable(0, name="global_step", trainable=False)
    saver = gf.train.Saver(max_to_keep=2)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        paths = []
        for i in range(1, 5):
            sess.run(step.assign(i * 10))
            paths.append(saver.save(sess, str(tmp_path / "model"), global_step=step, write_meta_graph=False))
    assert paths == [str(tmp_path / f"model-{i * 10}") for i in range(1, 5)]
    assert saver.last_checkpoints == paths[2:]
    assert [gf.train.checkpoint_exists(p) for p in paths] == [False, False, True, True]
    assert gf.train.latest_checkpoint(str(tmp_path)) == paths[-1]
    state = gf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == paths[-1]
    assert state.all_model_checkpoint_paths == paths[2:]
    text = open(tmp_path / "checkpoint").read()
    assert f'model_checkpoint_path: "{paths[-1]}"' in text
    assert text.count("all_model_checkpoint_paths:") == 2
    assert gf.train.load_variable(str(tmp_path), "global_step") == 40


def test_relative_paths_and_custom_state_filename(tmp_path):
    _model()
    saver = gf.train.Saver(save_relative_paths=True)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        saver.save(sess, str(tmp_path / "m"), global_step=3, latest_filename="state", write_meta_graph=False)
    assert 'model_checkpoint_path: "m-3"' in open(tmp_path / "state").read()
    assert gf.train.latest_checkpoint(str(tmp_path)) is None
    assert gf.train.latest_checkpoint(str(tmp_path), "state") == os.path.join(str(tmp_path), "m-3")


def test_recover_last_checkpoints_continues_retention(tmp_path):
    _model()
    saver = gf.train.Saver(max_to_keep=2)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        first = [saver.save(sess, str(tmp_path / "m"), global_step=i, write_meta_graph=False) for i in range(2)]
        restarted = gf.train.Saver(max_to_keep=2)
        restarted.recover_last_checkpoints(first + [str(tmp_path / "never-saved")])
        assert restarted.last_checkpoints == first
        restarted.save(sess, str(tmp_path / "m"), global_step=2, write_meta_graph=False)
    assert not gf.train.checkpoint_exists(first[0]) and gf.train.checkpoint_exists(first[1])


def test_missing_variable_in_checkpoint_is_not_found(tmp_path):
    prefix = str(tmp_path / "m")
    with gf.Graph().as_default():
        w, _ = _model()
        saver = gf.train.Saver([w])
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            saver.save(sess, prefix, write_meta_graph=False)
    with gf.Graph().as_default():
        _model()
        saver = gf.train.Saver()
        with gf.Session() as sess, pytest.raises(NotFoundError, match="layer/b"):
            saver.restore(sess, prefix)


def test_shape_mismatch_names_variable_and_both_shapes(tmp_path):
    prefix = str(tmp_path / "m")
    with gf.Graph().as_default():
        _model()
        saver = gf.train.Saver()
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            saver.save(sess, prefix, write_meta_graph=False)
    with gf.Graph().as_default():
        gf.Variable(np.zeros((3, 2), np.float32), name="w")
        gf.Variable(np.zeros(3, np.int64), name="layer/b")
        saver = gf.train.Saver()
        with gf.Session() as sess, pytest.raises(InvalidArgumentError, match=r"w .*\(3, 2\).*\[2, 3\]"):
            saver.restore(sess, prefix)


def test_missing_checkpoint_is_not_found(tmp_path):
    _model()
    saver = gf.train.Saver()
    with gf.Session() as sess:
        with pytest.raises(NotFoundError, match="nope"):
            saver.restore(sess, str(tmp_path / "nope"))
        with pytest.raises(ValueError, match="None"):
            saver.restore(sess, None)
        with pytest.raises(ValueError, match="doesn't exist"):
            saver.save(sess, str(tmp_path / "no_dir" / "m"))
    assert gf.train.latest_checkpoint(str(tmp_path)) is None


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_checkpoint_is_data_loss(tmp_path, damage):
    prefix = str(tmp_path / "m")
    gf.Variable(np.arange(2000, dtype=np.float32), name="big")
    saver = gf.train.Saver()
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        saver.save(sess, prefix, write_meta_graph=False)
        path = prefix + ".gfckpt"
        data = bytearray(open(path, "rb").read())
        if damage == "flip":
            data[len(data) // 2] ^= 0x40
        else:
            del data[len(data) * 2 // 3:]
        open(path, "wb").write(bytes(data))
        with pytest.raises(DataLossError):
            saver.restore(sess, prefix)


def test_meta_graph_written_beside_checkpoint(tmp_path):
    from graphflow.proto import meta_graph_pb2
    _model()
    saver = gf.train.Saver(max_to_keep=1)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        first = saver.save(sess, str(tmp_path / "m"), global_step=1)
        saver.save(sess, str(tmp_path / "m"), global_step=2)
    meta = meta_graph_pb2.MetaGraphDef.FromString(open(tmp_path / "m-2.meta", "rb").read())
    assert {"w", "layer/b"} <= {node.name for node in meta.graph_def.node}
    assert meta.saver_def.restore_op_name == "save/restore_all"
    assert not os.path.exists(first + ".meta")  # deleted with its checkpoint


def test_empty_var_list_needs_allow_empty():
    with pytest.raises(ValueError, match="No variables to save"):
        gf.train.Saver([])
    assert gf.train.Saver([], allow_empty=True).last_checkpoints == []


def test_duplicate_names_rejected():
    w, _ = _model()
    with pytest.raises(ValueError, match="same name: w"):
        gf.train.Saver([w, w])


_CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import graphflow as gf
    from graphflow.io import checkpoint

    prefix, marker = sys.argv[1], sys.argv[2]
    big = gf.Variable(np.full((64, 1024), 7.0, np.float32), name="big")
    saver = gf.train.Saver()
    sess = gf.Session()
    sess.run(gf.global_variables_initializer())
    saver.restore(sess, prefix)
    sess.run(big.assign(big * 0.0 - 1.0))

    class SlowWriter(checkpoint.TFRecordWriter):
        def write(self, record):
            super().write(record)
            self.flush()
            open(marker, "w").close()
            time.sleep(60)  # the parent kills us here, half-way through the file

    checkpoint.TFRecordWriter = SlowWriter
    saver.save(sess, prefix, write_meta_graph=False)
""")


def test_killed_mid_save_keeps_previous_checkpoint(tmp_path):
    prefix = str(tmp_path / "model")
    big = gf.Variable(np.full((64, 1024), 3.0, np.float32), name="big")
    saver = gf.train.Saver()
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        saver.save(sess, prefix, write_meta_graph=False)
    before = open(prefix + ".gfckpt", "rb").read()
    state_before = open(tmp_path / "checkpoint").read()

    marker = str(tmp_path / "started")
    child = subprocess.Popen([sys.executable, "-c", _CHILD, prefix, marker], cwd=REPO,
                             env={**os.environ, "PYTHONPATH": REPO})
    try:
        for _ in range(3000):  # wait up to about a minute for the child to reach the middle of its write
            if os.path.exists(marker):
                break
            assert child.poll() is None, "child exited before it started writing"
            time.sleep(0.02)
        else:
            pytest.fail("child never started writing")
        temporaries = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        assert temporaries and os.path.getsize(tmp_path / temporaries[0]) > 0  # really mid-write
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert open(prefix + ".gfckpt", "rb").read() == before
    assert open(tmp_path / "checkpoint").read() == state_before
    assert gf.train.latest_checkpoint(str(tmp_path)) == prefix
    with gf.Session() as sess:
        saver.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(big), np.full((64, 1024), 3.0, np.float32))


def test_failed_state_write_keeps_the_checkpoint_it_would_rotate_out(tmp_path):
    _model()
    saver = gf.train.Saver(max_to_keep=1)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        first = saver.save(sess, str(tmp_path / "m"), global_step=1, write_meta_graph=False)
        os.remove(tmp_path / "checkpoint")
        os.mkdir(tmp_path / "checkpoint")  # the state file can no longer be replaced
        with pytest.raises(OSError):
            saver.save(sess, str(tmp_path / "m"), global_step=2, write_meta_graph=False)
        assert gf.train.checkpoint_exists(first)  # still the newest checkpoint a state file could name
        assert saver.last_checkpoints == [first]
        os.rmdir(tmp_path / "checkpoint")
        second = saver.save(sess, str(tmp_path / "m"), global_step=3, write_meta_graph=False)
    assert not gf.train.checkpoint_exists(first) and gf.train.checkpoint_exists(second)


def test_rotation_deletes_meta_graph_with_the_suffix_it_was_saved_under(tmp_path):
    _model()
    saver = gf.train.Saver(max_to_keep=1)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        first = saver.save(sess, str(tmp_path / "m"), global_step=1, meta_graph_suffix="mg")
        assert os.path.isfile(first + ".mg")
        saver.save(sess, str(tmp_path / "m"), global_step=2, meta_graph_suffix="mg")
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-2.gfckpt", "m-2.mg"]


def test_resaving_one_checkpoint_under_another_spelling_never_deletes_it(tmp_path, monkeypatch):
    _model()
    monkeypatch.chdir(tmp_path)
    saver = gf.train.Saver(max_to_keep=1)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        saver.save(sess, "model", global_step=1, write_meta_graph=False)
        latest = saver.save(sess, str(tmp_path / "model"), global_step=1, write_meta_graph=False)
        assert gf.train.checkpoint_exists(latest)
        assert saver.last_checkpoints == [latest]
        assert gf.train.latest_checkpoint(str(tmp_path)) == latest
        saver.restore(sess, latest)
