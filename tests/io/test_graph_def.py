"""Tests for graphflow.io.graph_def and tensor_proto: NodeDef/AttrValue/TensorProto encoding against TF's wire rules."""
import struct

import numpy as np
import pytest

import graphflow as gf
from graphflow.framework.errors import DataLossError
from graphflow.io.graph_def import (PRODUCER, attr_value_of, attr_value_to_python, graph_to_graph_def,
                                    parse_message, read_message)
from graphflow.io.tensor_proto import make_ndarray, make_tensor_proto, shape_from_proto, shape_to_proto
from graphflow.proto import attr_value_pb2, graph_pb2, tensor_pb2, types_pb2
from tests.io.multi_output_op import pos_neg

SMALL_AND_BIG = [np.arange(6).reshape(2, 3), np.arange(40).reshape(5, 8)]


# --- TensorProto ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("np_dtype, field, enum", [
    (np.float32, "float_val", types_pb2.DT_FLOAT), (np.float64, "double_val", types_pb2.DT_DOUBLE),
    (np.int32, "int_val", types_pb2.DT_INT32), (np.int8, "int_val", types_pb2.DT_INT8),
    (np.uint8, "int_val", types_pb2.DT_UINT8), (np.int16, "int_val", types_pb2.DT_INT16),
    (np.uint16, "int_val", types_pb2.DT_UINT16), (np.int64, "int64_val", types_pb2.DT_INT64),
    (np.uint32, "uint32_val", types_pb2.DT_UINT32), (np.uint64, "uint64_val", types_pb2.DT_UINT64),
    (np.bool_, "bool_val", types_pb2.DT_BOOL), (np.float16, "half_val", types_pb2.DT_HALF)])
def test_tensor_proto_round_trip_uses_tf_fields(np_dtype, field, enum):
    for values in SMALL_AND_BIG:
        array = (values % 2 == 1) if np_dtype is np.bool_ else values.astype(np_dtype)
        proto = make_tensor_proto(array)
        assert proto.dtype == enum
        assert [d.size for d in proto.tensor_shape.dim] == list(array.shape)
        if array.size <= 16:
            assert len(getattr(proto, field)) == array.size and not proto.tensor_content
        else:
            # raw little-endian row-major bytes, exactly numpy's '<' encoding
            assert proto.tensor_content == array.astype(np.dtype(np_dtype).newbyteorder("<")).tobytes()
            assert len(getattr(proto, field)) == 0
        back = make_ndarray(proto)
        assert back.dtype == array.dtype and back.shape == array.shape
        np.testing.assert_array_equal(back, array)


def test_half_values_travel_as_bit_patterns():
    proto = make_tensor_proto(np.array([1.0, -2.0], np.float16))
    assert list(proto.half_val) == [0x3C00, 0xC000]  # IEEE half encodings of 1.0 and -2.0


def test_float_content_matches_hand_packed_bytes():
    values = np.linspace(-1, 1, 20).astype(np.float32)
    assert make_tensor_proto(values).tensor_content == struct.pack("<20f", *values.tolist())


def test_string_tensor_uses_string_val_and_decodes_utf8():
    proto = make_tensor_proto(np.array([["a", "bé"], ["", "xyz"]]))
    assert proto.dtype == types_pb2.DT_STRING
    assert list(proto.string_val) == [b"a", "bé".encode(), b"", b"xyz"]
    back = make_ndarray(proto)
    assert back.shape == (2, 2) and back.tolist() == [["a", "bé"], ["", "xyz"]]
    raw = make_ndarray(make_tensor_proto(np.array([b"\xff\x00"], dtype=object)))
    assert raw.tolist() == [b"\xff\x00"]  # not UTF-8: stays bytes


def test_scalars_python_defaults_and_broadcast_shape():
    assert make_tensor_proto(1.5).dtype == types_pb2.DT_FLOAT  # TF1 default for Python floats
    assert make_tensor_proto(7).dtype == types_pb2.DT_INT32
    proto = make_tensor_proto(3.0, dtype=gf.float64, shape=[2, 2])
    np.testing.assert_array_equal(make_ndarray(proto), np.full((2, 2), 3.0))
    assert make_ndarray(make_tensor_proto(2.0)).shape == ()
    with pytest.raises(ValueError, match="shape"):
        make_tensor_proto([1, 2, 3], shape=[2, 2])


def test_short_val_list_is_padded_with_last_value_as_tf_does():
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0, 2.0])
    proto.tensor_shape.dim.add(size=4)
    np.testing.assert_array_equal(make_ndarray(proto), [1.0, 2.0, 2.0, 2.0])
    empty = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32)
    empty.tensor_shape.dim.add(size=3)
    np.testing.assert_array_equal(make_ndarray(empty), [0, 0, 0])


def test_corrupt_tensor_protos_raise_clear_errors():
    bad = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=b"\x00" * 7)
    bad.tensor_shape.dim.add(size=2)
    with pytest.raises(DataLossError, match="7 bytes"):
        make_ndarray(bad)
    many = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32, int_val=[1, 2, 3])
    many.tensor_shape.dim.add(size=2)
    with pytest.raises(DataLossError, match="3 values"):
        make_ndarray(many)
    unknown = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT)
    unknown.tensor_shape.dim.add(size=-1)
    with pytest.raises(ValueError, match="fully defined"):
        make_ndarray(unknown)
    with pytest.raises(TypeError, match="DataType"):
        make_ndarray(tensor_pb2.TensorProto(dtype=types_pb2.DT_RESOURCE))


def test_shape_protos():
    assert shape_to_proto(None).unknown_rank
    proto = shape_to_proto((None, 3))
    assert [d.size for d in proto.dim] == [-1, 3] and not proto.unknown_rank
    assert len(shape_to_proto(()).dim) == 0  # scalar: no dims, known rank
    assert shape_from_proto(proto).dims == (None, 3)
    assert shape_from_proto(shape_to_proto(None)).dims is None


# --- AttrValue ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, value, kind, expected_back", [
    ("transpose_a", True, "b", True), ("axis", -2, "i", -2), ("alpha", 0.25, "f", 0.25),
    ("padding", "SAME", "s", "SAME"), ("dtype", gf.float64, "type", gf.float64),
    ("shape", (None, 3), "shape", (None, 3)), ("shape", gf.TensorShape([2]), "shape", (2,)),
    ("strides", [1, 2, 2, 1], "list", [1, 2, 2, 1]), ("rates", (0.5, 1.5), "list", [0.5, 1.5]),
    ("names", ["a", "b"], "list", ["a", "b"]), ("Tlist", [gf.int32, gf.float32], "list", [gf.int32, gf.float32]),
    ("flags", [True, False], "list", [True, False]), ("shapes", [(1, None), None], "list", [(1, None), None]),
    ("_gradient_op_type", "MyGrad", "s", "MyGrad"), ("label", b"\xff", "s", b"\xff")])
def test_attr_round_trip(key, value, kind, expected_back):
    encoded = attr_value_of(key, value)
    assert encoded.WhichOneof("value") == kind
    back = attr_value_to_python(attr_value_pb2.AttrValue.FromString(encoded.SerializeToString()))
    assert back == expected_back
    assert type(back) is type(expected_back)


def test_attr_wire_values_match_tf():
    assert attr_value_of("dtype", gf.float32).type == types_pb2.DT_FLOAT == 1
    assert attr_value_of("padding", "VALID").s == b"VALID"
    assert list(attr_value_of("ksize", [1, 2, 2, 1]).list.i) == [1, 2, 2, 1]
    tensor_attr = attr_value_of("value", np.array([1.0, 2.0], np.float32))
    np.testing.assert_array_equal(make_ndarray(tensor_attr.tensor), [1.0, 2.0])


def test_attr_none_is_omitted_and_bad_values_raise():
    assert attr_value_of("shape", None) is None
    assert attr_value_to_python(attr_value_pb2.AttrValue()) == []  # TF writes an empty list as an unset AttrValue
    with pytest.raises(TypeError, match="mixes"):
        attr_value_of("xs", [1, "a"])
    with pytest.raises(TypeError, match="cannot serialise|Cannot serialise"):
        attr_value_of("fn", object())
    func = attr_value_pb2.AttrValue()
    func.func.name = "f"
    with pytest.raises(ValueError, match="func"):
        attr_value_to_python(func)


# --- NodeDef / GraphDef ---------------------------------------------------------------------------------------------
def build_graph():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None, 3], name="x")
        with gf.name_scope("layer"):
            w = gf.Variable(np.ones((3, 2), np.float32), name="w")
            y = gf.matmul(x, w, transpose_b=False)
        pos, neg = pos_neg(graph, y)
        with gf.control_dependencies([y.op]):
            with gf.device("/cpu:0"):
                out = gf.add(pos, neg, name="out")
    return graph, out


def test_node_def_inputs_devices_and_attrs():
    graph, out = build_graph()
    node = out.op.node_def
    assert node.name == "out" and node.op == "Add"
    assert list(node.input) == ["PosNeg", "PosNeg:1", "^layer/MatMul"]  # data inputs first, ':0' left implicit
    assert node.device == "/device:CPU:0"
    assert node.attr["T"].type == gf.float32.as_datatype_enum  # filled from the input dtype, as TF requires
    matmul = graph.get_operation_by_name("layer/MatMul").node_def
    assert matmul.attr["transpose_a"].b is False and "transpose_a" in matmul.attr
    placeholder = graph.get_operation_by_name("x").node_def
    assert placeholder.attr["dtype"].type == types_pb2.DT_FLOAT
    assert [d.size for d in placeholder.attr["shape"].shape.dim] == [-1, 3]
    var = graph.get_operation_by_name("layer/w").node_def
    assert var.op == "VariableV2" and [d.size for d in var.attr["shape"].shape.dim] == [3, 2]


def test_graph_def_order_versions_and_output_shapes():
    graph, _ = build_graph()
    graph_def = graph_to_graph_def(graph)
    assert graph_def.versions.producer == PRODUCER > 0
    assert [n.name for n in graph_def.node] == [op.name for op in graph.get_operations()]
    assert all("_output_shapes" not in n.attr for n in graph_def.node)
    with_shapes = graph.as_graph_def(add_shapes=True)
    by_name = {n.name: n for n in with_shapes.node}
    shapes = by_name["PosNeg"].attr["_output_shapes"].list.shape
    assert [[d.size for d in s.dim] for s in shapes] == [[-1, 2], [-1, 2]]
    assert len(by_name["layer/w/Assign"].attr["_output_shapes"].list.shape) == 1
    assert len(by_name[graph.get_operations()[-1].name].attr["_output_shapes"].list.shape) == 1


def test_parse_binary_text_and_corrupt_data(tmp_path):
    graph, _ = build_graph()
    graph_def = graph.as_graph_def()
    data = graph_def.SerializeToString()
    assert parse_message(data, graph_pb2.GraphDef) == graph_def
    text = str(graph_def)
    assert parse_message(text, graph_pb2.GraphDef) == graph_def
    (tmp_path / "g.pbtxt").write_text(text)
    (tmp_path / "g.pb").write_bytes(data)
    assert read_message(str(tmp_path / "g.pbtxt"), graph_pb2.GraphDef) == graph_def
    assert read_message(str(tmp_path / "g.pb"), graph_pb2.GraphDef) == graph_def
    with pytest.raises(DataLossError, match="GraphDef"):
        parse_message(b"\x0a\xff\x01abc", graph_pb2.GraphDef)  # a node field claiming 255 bytes, holding 3
    with pytest.raises(ValueError, match="1:7"):
        parse_message("node {{ name: 'x' }", graph_pb2.GraphDef)
