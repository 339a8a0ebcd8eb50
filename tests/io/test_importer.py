"""Tests for graphflow.io.importer: round trips through GraphDef, TF-made GraphDefs, and bad input naming the node."""
import os

import numpy as np
import pytest

import graphflow as gf
from graphflow.framework.errors import DataLossError
from graphflow.io.importer import import_graph_def
from graphflow.proto import attr_value_pb2, graph_pb2
from tests.io.multi_output_op import pos_neg

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "tf")
RNG = np.random.default_rng(7)
X = RNG.standard_normal((5, 4)).astype(np.float32)
T = RNG.standard_normal((5, 3)).astype(np.float32)


def build_mlp():
    """Placeholders, variables, a softmax-ish head, gradients and an SGD-like assign step."""
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, 4], name="x")
        t = gf.placeholder(gf.float32, [None, 3], name="t")
        with gf.name_scope("hidden"):
            w1 = gf.Variable(RNG.standard_normal((4, 8)).astype(np.float32), name="w")
            b1 = gf.Variable(np.zeros(8, np.float32), name="b")
            h = gf.maximum(gf.matmul(x, w1) + b1, 0.0)
        with gf.name_scope("out"):
            w2 = gf.Variable(RNG.standard_normal((8, 3)).astype(np.float32), name="w")
            logits = gf.matmul(h, w2)
            e = gf.exp(logits - gf.reduce_max(logits, axis=1, keepdims=True))
            probs = gf.identity(e / gf.reduce_sum(e, axis=1, keepdims=True), name="probs")
        loss = gf.reduce_mean(gf.square(probs - t), name="loss")
        grads = gf.gradients(loss, [w1, b1, w2])
        updates = [v.assign_sub(0.5 * g) for v, g in zip([w1, b1, w2], grads)]
        gf.group(*updates, name="train")
        gf.global_variables_initializer()
    return graph


def run_steps(graph, prefix=""):
    with gf.Session(graph=graph) as sess:
        sess.run(prefix + "init")
        feed = {prefix + "x:0": X, prefix + "t:0": T}
        before = sess.run(prefix + "loss:0", feed)
        for _ in range(3):
            sess.run(prefix + "train", feed)
        return before, sess.run([prefix + "loss:0", prefix + "out/probs:0"], feed)


def import_into_new_graph(graph_def, **kwargs):
    graph = gf.Graph()
    with graph.as_default():
        result = import_graph_def(graph_def, **kwargs)
    return graph, result


def test_mlp_round_trip_same_names_shapes_and_training():
    graph = build_mlp()
    graph_def = graph.as_graph_def(add_shapes=True)  # _output_shapes keep shapes gradients refined
    imported, result = import_into_new_graph(graph_def, name="")
    assert result is None
    assert [op.name for op in imported.get_operations()] == [op.name for op in graph.get_operations()]
    for op in graph.get_operations():
        twin = imported.get_operation_by_name(op.name)
        assert twin.type == op.type
        assert [t.name for t in twin.inputs] == [t.name for t in op.inputs]
        assert [c.name for c in twin.control_inputs] == [c.name for c in op.control_inputs]
        assert [(t.dtype, t.shape.dims) for t in twin.outputs] == [(t.dtype, t.shape.dims) for t in op.outputs]
    expected_before, (expected_loss, expected_probs) = run_steps(graph)
    before, (loss, probs) = run_steps(imported)
    assert expected_loss < expected_before  # the graph really trains
    np.testing.assert_allclose(before, expected_before, rtol=1e-6)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-6)
    np.testing.assert_allclose(probs, expected_probs, rtol=1e-6)
    assert imported.as_graph_def(add_shapes=True) == graph_def  # export(import(g)) is a fixed point


def test_default_prefix_is_import_and_unique():
    graph_def = build_mlp().as_graph_def()
    graph = gf.Graph()
    with graph.as_default():
        import_graph_def(graph_def)
        import_graph_def(graph_def)
        x = gf.placeholder(gf.float32, name="extra")  # names stay usable after imports
    names = {op.name for op in graph.get_operations()}
    assert "import/out/probs" in names and "import_1/out/probs" in names and x.op.name == "extra"
    expected = run_steps(build_mlp_copy(graph_def))[0]
    np.testing.assert_allclose(run_steps(graph, "import_1/")[0], expected, rtol=1e-6)


def build_mlp_copy(graph_def):
    return import_into_new_graph(graph_def, name="")[0]


def test_any_node_order_imports():
    graph_def = build_mlp().as_graph_def()
    shuffled = graph_pb2.GraphDef(versions=graph_def.versions)
    shuffled.node.extend(graph_def.node[i] for i in np.random.default_rng(0).permutation(len(graph_def.node)))
    imported, _ = import_into_new_graph(shuffled, name="")
    # only the forward loss: the update step reads and writes variables without ordering (racy by design), so its
    # result depends on the op order
    np.testing.assert_allclose(run_steps(imported)[0], run_steps(build_mlp_copy(graph_def))[0], rtol=1e-6)


def test_scopes_control_deps_multi_output_and_devices():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [2], name="x")
        with gf.name_scope("block"):
            pos, neg = pos_neg(graph, x, name="split")
            first = gf.identity(pos, name="first")
        with gf.control_dependencies([first.op]), gf.device("/cpu:0"):
            out = gf.multiply(neg, 2.0, name="out")
    imported, (out2, split2) = import_into_new_graph(graph.as_graph_def(), name="",
                                                     return_elements=["out:0", "block/split"])
    assert [t.name for t in out2.op.inputs] == [t.name for t in out.op.inputs] == ["block/split:1", "Const:0"]
    assert [c.name for c in out2.op.control_inputs] == ["block/first"]
    assert out2.op.device == "/cpu:0" and len(split2.outputs) == 2
    with gf.Session(graph=imported) as sess:
        np.testing.assert_array_equal(sess.run(out2, {"x:0": [1.0, -3.0]}), [-2.0, 6.0])


def test_input_map_and_return_elements():
    graph = build_mlp()
    graph_def = graph.as_graph_def()
    target = gf.Graph()
    with target.as_default():
        new_x = gf.constant(X, name="fixed_x")
        probs, train = import_graph_def(graph_def, input_map={"x": new_x}, return_elements=["out/probs:0", "train"],
                                        name="net")
        assert isinstance(train, gf.Operation) and probs.name == "net/out/probs:0"
        with gf.Session() as sess:
            sess.run("net/init")
            got = sess.run(probs)
    with gf.Session(graph=graph) as sess:
        sess.run("init")
        np.testing.assert_allclose(got, sess.run("out/probs:0", {"x:0": X}), rtol=1e-6)


def test_text_format_graph_def_from_tf_style_pbtxt():
    text = """
    node { name: "b" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } }
                                                float_val: 1.5 float_val: -1 } } } }
    node { name: "a" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { dim { size: -1 } dim { size: 2 } } } } }
    node { name: "sum" op: "AddV2" input: "a" input: "b" attr { key: "T" value { type: DT_FLOAT } }
           attr { key: "_class" value { list { s: "loc:@a" } } } }
    versions { producer: 561 }
    """
    graph, (total,) = import_into_new_graph(text, name="", return_elements=["sum:0"])
    assert total.shape.dims == (None, 2)
    with gf.Session(graph=graph) as sess:
        np.testing.assert_array_equal(sess.run(total, {"a:0": [[1.0, 1.0]]}), [[2.5, 0.0]])


# --- bad input: every error names the node, and the graph is left untouched ----------------------------------------
def node(name, op, inputs=(), **attrs):
    n = graph_pb2.GraphDef().node.add(name=name, op=op)
    n.input.extend(inputs)
    for key, value in attrs.items():
        n.attr[key].CopyFrom(value)
    return n


def float_placeholder(name):
    return node(name, "Placeholder", dtype=attr_value_pb2.AttrValue(type=1))


def graph_def_of(*nodes):
    graph_def = graph_pb2.GraphDef()
    graph_def.node.extend(nodes)
    return graph_def


@pytest.mark.parametrize("nodes, message", [
    ([float_placeholder("a"), node("weird", "FancyOp", ["a"])], r"'weird' \(op type 'FancyOp'\)"),
    ([float_placeholder("a"), node("n", "Neg", ["ghost"])], r"'n'.*'ghost'"),
    ([node("p", "Neg", ["q"]), node("q", "Neg", ["r"]), node("r", "Neg", ["p"])], r"cycle: [pqr] -> [pqr] -> [pqr] -> "),
    ([float_placeholder("a"), float_placeholder("a")], r"two nodes named 'a'"),
    ([float_placeholder("a"), node("n", "Neg", ["a"], mystery=attr_value_pb2.AttrValue(i=3))],
     r"'n' \(op Neg\).*'mystery'"),
    ([float_placeholder("a"), node("m", "MatMul", ["a", "a"], use_cudnn_on_gpu=attr_value_pb2.AttrValue(b=True),
                                   data_format=attr_value_pb2.AttrValue(s=b"NCHW"))], r"'m'.*'data_format'.*NCHW"),
    ([node("d", "Placeholder", dtype=attr_value_pb2.AttrValue(type=1), _x=attr_value_pb2.AttrValue()),
      node("e", "Neg", ["d"])], None),
    ([node("p", "Placeholder", dtype=attr_value_pb2.AttrValue(type=1)), node("q", "Neg", ["p"])], None),
])
def test_bad_graph_defs_name_the_node(nodes, message):
    graph = gf.Graph()
    with graph.as_default():
        gf.constant(1.0, name="existing")
        if message is None:
            import_graph_def(graph_def_of(*nodes))  # the control cases import fine
            return
        with pytest.raises(ValueError, match=message):
            import_graph_def(graph_def_of(*nodes))
    assert [op.name for op in graph.get_operations()] == ["existing"]


def test_missing_output_index_names_node_and_input():
    with pytest.raises(ValueError, match=r"'n'.*'a:3'.*1 output"):
        import_into_new_graph(graph_def_of(float_placeholder("a"), node("n", "Neg", ["a:3"])))


def test_contradicting_recorded_shapes_name_the_node():
    bad = float_placeholder("a")
    bad.attr["shape"].shape.dim.add(size=2)
    bad.attr["_output_shapes"].list.shape.add().dim.add(size=5)
    with pytest.raises(ValueError, match="'a'.*_output_shapes"):
        import_into_new_graph(graph_def_of(bad))


def test_device_cycle_and_name_clash_errors():
    bad_device = float_placeholder("a")
    bad_device.device = "/device:TPU:0"
    with pytest.raises(ValueError, match="'a'.*TPU"):
        import_into_new_graph(graph_def_of(bad_device))
    graph = gf.Graph()
    with graph.as_default():
        gf.placeholder(gf.float32, name="a")
        with pytest.raises(ValueError, match="duplicate.*'a'"):
            import_graph_def(graph_def_of(float_placeholder("a")), name="")
        with pytest.raises(ValueError, match="not in the GraphDef"):
            import_graph_def(graph_def_of(float_placeholder("b")), input_map={"zzz:0": graph.get_tensor_by_name("a:0")})
        with pytest.raises(ValueError, match="return_elements.*'nope'"):
            import_graph_def(graph_def_of(float_placeholder("c")), return_elements=["nope"])


def test_random_and_truncated_bytes_give_clear_errors():
    data = build_mlp().as_graph_def().SerializeToString()
    with pytest.raises(DataLossError, match="GraphDef"):
        import_into_new_graph(data[: len(data) // 2 + 3])
    rng = np.random.default_rng(1)
    for _ in range(20):
        junk = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        with pytest.raises((DataLossError, ValueError)):
            import_into_new_graph(junk)
    for cut in range(1, len(data), max(1, len(data) // 40)):
        try:
            import_into_new_graph(data[:cut])
        except (DataLossError, ValueError):
            pass  # every truncation either decodes to a smaller valid graph or fails with a named problem


# --- GraphDefs made by real TensorFlow (tests/fixtures/tf/make_fixtures.py) -------------------------------------------
def run_fixture(name):
    with open(os.path.join(FIXTURES, f"{name}.pb"), "rb") as f:
        data = f.read()
    arrays = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    graph, _ = import_into_new_graph(data, name="")
    feeds = {str(n): arrays[f"input_{i}"] for i, n in enumerate(arrays["feed_names"])}
    with gf.Session(graph=graph) as sess:
        if "init" in {op.name for op in graph.get_operations()}:
            sess.run("init")
        outputs = sess.run([str(n) for n in arrays["fetch_names"]], feeds)
    for i, out in enumerate(outputs):
        np.testing.assert_allclose(out, arrays[f"expected_{i}"], atol=1e-5)
    return graph, sess, feeds


def test_tf_training_graph_with_ref_variables():
    graph, _, feeds = run_fixture("train_graph")
    assert graph.get_operation_by_name("w").type == "VariableV2"
    assert graph.get_tensor_by_name("y:0").shape.dims == (None, 2)
    arrays = np.load(os.path.join(FIXTURES, "train_graph.npz"))
    with gf.Session(graph=graph) as sess:
        sess.run("init")
        sess.run("step")
        np.testing.assert_allclose(sess.run("y:0", feeds), arrays["expected_after_step"], atol=1e-5)


def test_tf_frozen_mlp():
    """Needs Relu and Softmax (graphflow's nn ops)."""
    run_fixture("mlp_frozen")


def test_tf_frozen_cnn():
    """Needs Relu, Conv2D and MaxPool (graphflow/ops/conv_ops.py and pool_ops.py)."""
    graph, _, _ = run_fixture("cnn_frozen")
    assert graph.get_tensor_by_name("pool:0").shape.dims == (None, 4, 4, 4)


def test_return_elements_of_mapped_tensors_are_the_mapped_tensors_and_control_inputs_remap():
    source = gf.Graph()
    with source.as_default():
        a = gf.placeholder(gf.float32, [2], name="a")
        gate = gf.no_op(name="gate")
        with gf.control_dependencies([gate]):
            gf.identity(a * 3.0, name="out")
    target = gf.Graph()
    with target.as_default():
        fed = gf.constant(np.array([1.0, 2.0], np.float32), name="fed")
        other_gate = gf.no_op(name="other_gate")
        a_back, a_op, out = import_graph_def(source.as_graph_def(), input_map={"a:0": fed, "^gate": other_gate},
                                             return_elements=["a:0", "a", "out:0"], name="net")
        assert a_back is fed  # as TF: a mapped tensor is returned as what it was mapped to
        assert a_op.name == "net/a"  # an operation name still names the imported node
        assert [op.name for op in out.op.control_inputs] == ["other_gate"]
        assert [op.name for op in out.op.inputs[0].op.control_inputs] == ["other_gate"]  # the Mul, also gated
        with gf.Session() as sess:
            np.testing.assert_array_equal(sess.run(out), [3.0, 6.0])
