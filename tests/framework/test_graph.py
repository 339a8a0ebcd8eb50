"""Graph building: names, scopes, control dependencies, collections, devices, finalize, call sites."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.framework.shapes import TensorShape


def test_unique_names_and_scopes():
    g = gf.Graph()
    with g.as_default():
        a = gf.constant(1.0, name="a")
        b = gf.constant(2.0, name="a")
        with gf.name_scope("dense"):
            m = gf.add(a, b)
        with gf.name_scope("dense"):
            m2 = gf.add(a, b)
    assert (a.op.name, b.op.name) == ("a", "a_1")
    assert m.op.name == "dense/Add" and m2.op.name == "dense_1/Add"
    assert m.name == "dense/Add:0"
    assert g.get_tensor_by_name("dense/Add:0") is m
    assert g.get_operation_by_name("dense_1/Add") is m2.op


def test_an_exact_scope_name_is_taken_for_later_ops():
    g = gf.Graph()
    with g.as_default():
        exact = gf.no_op(name="w/")  # a trailing "/" names the op exactly, as Variable does
        later = gf.no_op(name="w")
        with pytest.raises(ValueError, match="Duplicate op name 'w'"):
            gf.no_op(name="w/")
        with gf.name_scope("v") as scope:
            v = gf.no_op(name=scope)
        v2 = gf.no_op(name="v")
    assert (exact.name, later.name, v.name, v2.name) == ("w", "w_1", "v", "v_1")
    assert g.get_operation_by_name("w") is exact and g.get_operation_by_name("w_1") is later


def test_lookup_errors():
    g = gf.Graph()
    with g.as_default():
        gf.constant(1.0, name="c")
    with pytest.raises(KeyError, match="nope"):
        g.get_operation_by_name("nope")
    with pytest.raises(ValueError, match="Operation name"):
        g.get_tensor_by_name("c")
    with pytest.raises(KeyError, match="1 output"):
        g.get_tensor_by_name("c:3")


def test_default_graph_stack_and_reset():
    outer = gf.get_default_graph()
    g = gf.Graph()
    with g.as_default():
        assert gf.get_default_graph() is g
        with pytest.raises(AssertionError):
            gf.reset_default_graph()
    assert gf.get_default_graph() is outer
    gf.reset_default_graph()
    assert gf.get_default_graph() is not outer


def test_control_dependencies_and_clearing():
    g = gf.Graph()
    with g.as_default():
        a = gf.constant(1.0)
        with gf.control_dependencies([a]):
            b = gf.constant(2.0)
            with gf.control_dependencies(None):
                c = gf.constant(3.0)
    assert b.op.control_inputs == [a.op]
    assert c.op.control_inputs == []


def test_collections_and_graph_keys():
    g = gf.Graph()
    with g.as_default():
        v = gf.Variable(1.0, name="v")
        w = gf.Variable(2.0, name="w", trainable=False)
        gf.add_to_collection(gf.GraphKeys.LOSSES, v)
    assert gf.GraphKeys.GLOBAL_VARIABLES in g.get_all_collection_keys()
    assert g.get_collection(gf.GraphKeys.GLOBAL_VARIABLES) == [v, w]
    assert g.get_collection(gf.GraphKeys.TRAINABLE_VARIABLES) == [v]
    assert g.get_collection(gf.GraphKeys.GLOBAL_VARIABLES, scope="w") == [w]


def test_finalize_blocks_new_ops():
    g = gf.Graph()
    with g.as_default():
        gf.constant(1.0)
        g.finalize()
        with pytest.raises(RuntimeError, match="finalized"):
            gf.constant(2.0)


def test_op_records_user_call_site():
    g = gf.Graph()
    with g.as_default():
        c = gf.constant(1.0)
    assert c.op.traceback_line.startswith(__file__)


def test_device_scope_canonical_names():
    g = gf.Graph()
    with g.as_default():
        with gf.device("/device:CPU:1"):
            a = gf.constant(1.0)
        with gf.device("/job:localhost/replica:0/task:0/device:GPU:0"):
            b = gf.constant(1.0)
    assert a.device == "/cpu:1" and b.device == "/gpu:0"
    with pytest.raises(ValueError, match="device"):
        with g.device("/tpu:weird"):
            pass


def test_set_shape_and_shape_errors():
    g = gf.Graph()
    with g.as_default():
        x = gf.placeholder(gf.float32, [None, 3])
        x.set_shape([4, None])
        assert x.shape == TensorShape([4, 3])
        with pytest.raises(ValueError, match="incompatible"):
            x.set_shape([5, 3])
        with pytest.raises(ValueError, match="inner dimensions"):
            gf.matmul(x, gf.placeholder(gf.float32, [4, 2]))


def test_build_error_names_op_and_line():
    g = gf.Graph()
    with g.as_default():
        a = gf.placeholder(gf.float32, [2, 3])
        b = gf.placeholder(gf.float32, [4, 5])
        with pytest.raises(ValueError) as info:
            gf.add(a, b, name="bad_add")
    message = str(info.value)
    assert "bad_add" in message and "(2, 3)" in message and "(4, 5)" in message and __file__ in message


def test_tensor_bool_is_an_error():
    g = gf.Graph()
    with g.as_default():
        x = gf.constant(1.0)
    with pytest.raises(TypeError, match="Python bool"):
        if x:
            pass


def test_mixing_graphs_is_an_error():
    g1, g2 = gf.Graph(), gf.Graph()
    with g1.as_default():
        a = gf.constant(1.0)
    with g2.as_default():
        b = gf.constant(1.0)
        with pytest.raises(ValueError, match="graph"):
            gf.add(b, a)


def test_dtypes_wire_numbers():
    assert gf.float32.as_datatype_enum == 1 and gf.float64.as_datatype_enum == 2
    assert gf.int32.as_datatype_enum == 3 and gf.int64.as_datatype_enum == 9 and gf.bool.as_datatype_enum == 10
    assert gf.as_dtype(101) is gf.float32  # DT_FLOAT_REF
    assert gf.as_dtype(np.float16) is gf.float16 and gf.as_dtype("uint8") is gf.uint8
    with pytest.raises(TypeError):
        gf.as_dtype("complex1024")


def test_constant_rejects_lossy_python_values():
    g = gf.Graph()
    with g.as_default():
        with pytest.raises(TypeError, match="int32"):
            gf.constant(1.5, dtype=gf.int32)
        assert gf.constant(3).dtype is gf.int32
        assert gf.constant(3.0).dtype is gf.float32
        assert gf.constant(np.float64(3.0)).dtype is gf.float64
