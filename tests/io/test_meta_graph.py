"""Tests for gf.train write_graph / export_meta_graph / import_meta_graph: collections, variables, Saver, TF files."""
import os

import numpy as np
import pytest

import graphflow as gf
from graphflow.framework.errors import DataLossError
from graphflow.io.graph_def import read_message
from graphflow.proto import graph_pb2, meta_graph_pb2
from graphflow.train.graph_io import VariableDef, export_meta_graph, import_meta_graph, write_graph

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "tf")
X = np.array([[1.0, -1.0, 2.0]], np.float32)


def build():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, 3], name="x")
        with gf.name_scope("model"):
            w = gf.Variable(np.full((3, 2), 0.5, np.float32), name="w")
            steps = gf.Variable(0, trainable=False, name="steps")
            y = gf.matmul(x, w, name="y")
        gf.add_to_collection("outputs", y)
        gf.add_to_collection("rates", 0.25)
        gf.add_to_collection("counts", 3)
        gf.add_to_collection("labels", "cat")
        gf.add_to_collection("python_objects", object())  # not serialisable: skipped
        gf.group(w.assign_add(np.ones((3, 2), np.float32)), steps.assign_add(1), name="train")
        gf.global_variables_initializer()
    return graph


def test_export_stores_variable_defs_and_collections(tmp_path):
    graph = build()
    meta = export_meta_graph(filename=str(tmp_path / "m.meta"), graph=graph)
    assert read_message(str(tmp_path / "m.meta"), meta_graph_pb2.MetaGraphDef) == meta
    assert meta.meta_info_def.meta_graph_version
    assert any("_output_shapes" in n.attr for n in meta.graph_def.node)
    variables = [VariableDef.FromString(b) for b in meta.collection_def["variables"].bytes_list.value]
    assert [(v.variable_name, v.initializer_name, v.snapshot_name, v.initial_value_name, v.trainable)
            for v in variables] == [("model/w:0", "model/w/Assign", "model/w/read:0", "model/w/initial_value:0", True),
                                    ("model/steps:0", "model/steps/Assign", "model/steps/read:0",
                                     "model/steps/initial_value:0", False)]
    assert len(meta.collection_def["trainable_variables"].bytes_list.value) == 1
    assert list(meta.collection_def["outputs"].node_list.value) == ["model/y:0"]
    assert list(meta.collection_def["rates"].float_list.value) == [0.25]
    assert list(meta.collection_def["counts"].int64_list.value) == [3]
    assert list(meta.collection_def["labels"].bytes_list.value) == [b"cat"]
    assert "python_objects" not in meta.collection_def


def test_import_recreates_variables_collections_and_behaviour(tmp_path):
    path = str(tmp_path / "m.meta")
    export_meta_graph(filename=path, graph=build(), as_text=True)
    graph = gf.Graph()
    with graph.as_default():
        saver = import_meta_graph(path)
        names = [v.op.name for v in gf.global_variables()]
        assert names == ["model/w", "model/steps"]
        assert [v.op.name for v in gf.trainable_variables()] == ["model/w"]
        assert gf.global_variables()[0] is gf.trainable_variables()[0]  # one object per variable
        assert gf.get_collection("outputs")[0].name == "model/y:0"
        assert gf.get_collection("rates") == [0.25] and gf.get_collection("counts") == [3]
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            sess.run("train")
            np.testing.assert_allclose(sess.run(gf.get_collection("outputs")[0], {"x:0": X}), X @ np.full((3, 2), 1.5))
            assert sess.run(gf.global_variables()[1]) == 1
    assert saver is not None


def test_saver_from_import_restores_values_saved_by_original_graph(tmp_path):
    graph = build()
    with graph.as_default(), gf.Session() as sess:
        sess.run("init")
        sess.run("train")
        sess.run("train")
        prefix = gf.train.Saver().save(sess, str(tmp_path / "ckpt"))
        meta = export_meta_graph(graph=graph)
    fresh = gf.Graph()
    with fresh.as_default():
        saver = import_meta_graph(meta, import_scope="restored")
        assert [v.op.name for v in gf.global_variables()] == ["restored/model/w", "restored/model/steps"]
        with gf.Session() as sess:
            saver.restore(sess, prefix)  # checkpoint keys are the original, unscoped names
            np.testing.assert_allclose(sess.run("restored/model/w/read:0"), np.full((3, 2), 2.5))
            assert sess.run("restored/model/steps/read:0") == 2


def test_clear_devices_and_export_scope():
    graph = gf.Graph()
    with graph.as_default():
        with gf.name_scope("net"), gf.device("/cpu:0"):
            a = gf.placeholder(gf.float32, [2], name="a")
            gf.negative(a, name="neg")
        gf.constant(1.0, name="outside")
    meta = export_meta_graph(graph=graph, export_scope="net", clear_devices=True)
    assert [(n.name, list(n.input), n.device) for n in meta.graph_def.node] == [("a", [], ""), ("neg", ["a"], "")]
    with_devices = export_meta_graph(graph=graph)
    assert {n.device for n in with_devices.graph_def.node} == {"/device:CPU:0", ""}
    fresh = gf.Graph()
    with fresh.as_default():
        assert import_meta_graph(with_devices, clear_devices=True) is None  # no variables: no Saver
    assert all(op.device == "" for op in fresh.get_operations())


def test_import_meta_graph_errors(tmp_path):
    bad = tmp_path / "bad.meta"
    bad.write_bytes(b"\x12\xff\x01zz")
    with pytest.raises(DataLossError, match="MetaGraphDef"):
        import_meta_graph(str(bad))
    meta = export_meta_graph(graph=build())
    meta.collection_def["variables"].bytes_list.value[0] = VariableDef(
        variable_name="ghost:0", initializer_name="model/w/Assign", snapshot_name="model/w/read:0").SerializeToString()
    with gf.Graph().as_default(), pytest.raises(ValueError, match="ghost"):
        import_meta_graph(meta)


def test_write_graph_text_and_binary(tmp_path):
    graph = build()
    text_path = write_graph(graph, str(tmp_path / "sub"), "g.pbtxt")
    assert text_path == str(tmp_path / "sub" / "g.pbtxt")
    assert 'op: "VariableV2"' in open(text_path).read()
    binary_path = write_graph(graph.as_graph_def(), str(tmp_path), "g.pb", as_text=False)
    assert graph_pb2.GraphDef.FromString(open(binary_path, "rb").read()) == graph.as_graph_def()
    assert read_message(text_path, graph_pb2.GraphDef) == graph.as_graph_def()
    with pytest.raises(TypeError, match="Graph or GraphDef"):
        write_graph("nope", str(tmp_path), "x.pb")


def test_tf_made_meta_graph_imports_with_variables():
    arrays = np.load(os.path.join(FIXTURES, "train_graph.npz"))
    graph = gf.Graph()
    with graph.as_default():
        saver = import_meta_graph(os.path.join(FIXTURES, "train_graph.meta"))
        assert [v.op.name for v in gf.trainable_variables()] == ["w", "b"]
        assert saver is not None
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            np.testing.assert_allclose(sess.run("y:0", {"x:0": arrays["input_0"]}), arrays["expected_0"], atol=1e-5)


def test_written_graph_files_get_ordinary_file_permissions(tmp_path):
    graph = build()
    reference = tmp_path / "plain"
    reference.write_bytes(b"")
    usual = os.stat(reference).st_mode & 0o777
    graph_path = write_graph(graph, str(tmp_path), "g.pbtxt")
    meta_path = str(tmp_path / "m.meta")
    export_meta_graph(meta_path, graph=graph)
    assert os.stat(graph_path).st_mode & 0o777 == usual
    assert os.stat(meta_path).st_mode & 0o777 == usual
    assert sorted(os.listdir(tmp_path)) == ["g.pbtxt", "m.meta", "plain"]  # no temporaries left


def test_corrupt_collections_in_a_meta_graph_raise_value_error_naming_them():
    graph = build()
    meta = export_meta_graph(graph=graph)
    meta.collection_def["outputs"].node_list.value.append("ghost:0")
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match=r"collection 'outputs'.*ghost:0"):
            import_meta_graph(meta)
    meta = export_meta_graph(graph=graph)
    meta.collection_def["variables"].bytes_list.value.append(b"\xff\xff")
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match=r"collection 'variables'.*VariableDef"):
            import_meta_graph(meta)
