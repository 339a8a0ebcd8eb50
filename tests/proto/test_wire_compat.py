"""Checks our protos against TensorBoard's vendored TensorFlow protos: same field numbers, names and wire types."""
import importlib

import pytest
from google.protobuf import descriptor_pool, json_format

from graphflow.proto import (
    attr_value_pb2,
    config_pb2,
    event_pb2,
    function_pb2,
    graph_pb2,
    meta_graph_pb2,
    node_def_pb2,
    op_def_pb2,
    resource_handle_pb2,
    saver_pb2,
    step_stats_pb2,
    summary_pb2,
    tensor_pb2,
    tensor_shape_pb2,
    types_pb2,
    variable_pb2,
    versions_pb2,
)

OUR_MODULES = [
    attr_value_pb2,
    config_pb2,
    event_pb2,
    function_pb2,
    graph_pb2,
    meta_graph_pb2,
    node_def_pb2,
    op_def_pb2,
    resource_handle_pb2,
    saver_pb2,
    step_stats_pb2,
    summary_pb2,
    tensor_pb2,
    tensor_shape_pb2,
    types_pb2,
    variable_pb2,
    versions_pb2,
]

# TensorBoard's copies use package "tensorboard"; importing them registers every TF proto under that name.
TB_MODULES = [
    "allocation_description",
    "attr_value",
    "config",
    "event",
    "function",
    "graph",
    "histogram",
    "meta_graph",
    "node_def",
    "op_def",
    "resource_handle",
    "saver",
    "step_stats",
    "summary",
    "tensor",
    "tensor_description",
    "tensor_shape",
    "types",
    "variable",
    "versions",
]


@pytest.fixture(scope="module")
def tensorboard_pool():
    importlib.import_module("tensorboard.compat.proto.graph_pb2")

    for name in TB_MODULES:
        importlib.import_module(f"tensorboard.compat.proto.{name}_pb2")
    return descriptor_pool.Default()


def all_messages(descriptor):
    yield descriptor
    for nested in descriptor.nested_types:
        yield from all_messages(nested)


def all_enums(file_descriptor):
    yield from file_descriptor.enum_types_by_name.values()
    for message in file_descriptor.message_types_by_name.values():
        for nested in all_messages(message):
            yield from nested.enum_types


def tensorboard_name(full_name):
    assert full_name.startswith("graphflow."), full_name
    return "tensorboard." + full_name[len("graphflow.") :]


def type_name(field):
    if field.message_type is not None:
        return field.message_type.full_name.split(".", 1)[1]
    if field.enum_type is not None:
        return field.enum_type.full_name.split(".", 1)[1]
    return field.type


@pytest.mark.parametrize("module", OUR_MODULES, ids=lambda module: module.__name__.rsplit(".", 1)[1])
def test_messages_match_tensorflow_numbering(module, tensorboard_pool):
    assert module.DESCRIPTOR.package == "graphflow"
    for top in module.DESCRIPTOR.message_types_by_name.values():
        for ours in all_messages(top):
            theirs = tensorboard_pool.FindMessageTypeByName(tensorboard_name(ours.full_name))
            for field in ours.fields:
                reference = theirs.fields_by_number.get(field.number)
                where = f"{ours.full_name}.{field.name} = {field.number}"
                assert reference is not None, f"{where}: TF has no field with this number"
                assert field.name == reference.name, where
                assert type_name(field) == type_name(reference), where
                assert field.is_repeated == reference.is_repeated, where
                assert field.is_packed == reference.is_packed, where
                assert (field.containing_oneof is None) == (reference.containing_oneof is None), where


@pytest.mark.parametrize("module", OUR_MODULES, ids=lambda module: module.__name__.rsplit(".", 1)[1])
def test_enums_match_tensorflow_numbering(module, tensorboard_pool):
    for ours in all_enums(module.DESCRIPTOR):
        theirs = tensorboard_pool.FindEnumTypeByName(tensorboard_name(ours.full_name))
        reference = {value.name: value.number for value in theirs.values}
        assert {value.name: value.number for value in ours.values} == reference, ours.full_name


def test_data_type_values():
    assert types_pb2.DT_FLOAT == 1
    assert types_pb2.DT_INT64 == 9
    assert types_pb2.DT_BOOL == 10
    assert types_pb2.DT_HALF == 19
    assert types_pb2.DT_FLOAT_REF == 101
    assert types_pb2.DT_INT32_REF == 103
    assert config_pb2.RunOptions.FULL_TRACE == 3


def sample_graph_def():
    graph = graph_pb2.GraphDef()
    graph.versions.producer = 561
    placeholder = graph.node.add(name="x", op="Placeholder")
    placeholder.attr["dtype"].type = types_pb2.DT_FLOAT
    placeholder.attr["shape"].shape.dim.add(size=-1)
    placeholder.attr["shape"].shape.dim.add(size=3)
    const = graph.node.add(name="w", op="Const")
    const.attr["dtype"].type = types_pb2.DT_FLOAT
    const.attr["value"].tensor.dtype = types_pb2.DT_FLOAT
    const.attr["value"].tensor.tensor_shape.dim.add(size=3)
    const.attr["value"].tensor.float_val.extend([1.0, 2.0, 3.0])
    conv = graph.node.add(name="layer/conv", op="Conv2D", input=["x", "w", "^init"], device="/device:CPU:0")
    conv.attr["strides"].list.i.extend([1, 2, 2, 1])
    conv.attr["padding"].s = b"SAME"
    conv.attr["_output_shapes"].list.shape.add(unknown_rank=True)
    function = graph.library.function.add()
    function.signature.name = "body"
    function.signature.input_arg.add(name="a", type=types_pb2.DT_FLOAT)
    function.ret["out"] = "add:z:0"
    return graph


def test_graph_def_bytes_parse_identically_in_tensorboard():
    tensorboard_graph_pb2 = importlib.import_module("tensorboard.compat.proto.graph_pb2")
    ours = sample_graph_def()
    theirs = tensorboard_graph_pb2.GraphDef.FromString(ours.SerializeToString(deterministic=True))
    # MessageToDict drops unknown fields, so equal dicts mean TensorBoard understood every field we wrote.
    assert json_format.MessageToDict(theirs) == json_format.MessageToDict(ours)
    assert [node.name for node in theirs.node] == ["x", "w", "layer/conv"]
    assert list(theirs.node[2].input) == ["x", "w", "^init"]
    assert list(theirs.node[2].attr["strides"].list.i) == [1, 2, 2, 1]
    assert list(theirs.node[1].attr["value"].tensor.float_val) == [1.0, 2.0, 3.0]
    assert theirs.library.function[0].ret["out"] == "add:z:0"
    assert theirs.SerializeToString(deterministic=True) == ours.SerializeToString(deterministic=True)


def test_run_metadata_and_meta_graph_round_trip_through_tensorboard():
    tensorboard_config_pb2 = importlib.import_module("tensorboard.compat.proto.config_pb2")
    tensorboard_meta_graph_pb2 = importlib.import_module("tensorboard.compat.proto.meta_graph_pb2")

    run_metadata = config_pb2.RunMetadata()
    device = run_metadata.step_stats.dev_stats.add(device="/job:localhost/replica:0/task:0/device:CPU:0")
    stats = device.node_stats.add(node_name="layer/conv", all_start_micros=10, op_end_rel_micros=7)
    stats.memory.add(allocator_name="cpu", peak_bytes=4096)
    stats.output.add(slot=0).tensor_description.allocation_description.requested_bytes = 4096
    run_metadata.partition_graphs.add().CopyFrom(sample_graph_def())
    theirs = tensorboard_config_pb2.RunMetadata.FromString(run_metadata.SerializeToString())
    assert json_format.MessageToDict(theirs) == json_format.MessageToDict(run_metadata)
    their_stats = theirs.step_stats.dev_stats[0].node_stats[0]
    assert their_stats.node_name == "layer/conv" and their_stats.op_end_rel_micros == 7
    assert their_stats.memory[0].peak_bytes == 4096
    assert their_stats.output[0].tensor_description.allocation_description.requested_bytes == 4096
    assert theirs.partition_graphs[0].node[2].op == "Conv2D"

    meta_graph = meta_graph_pb2.MetaGraphDef()
    meta_graph.meta_info_def.tags.append("serve")
    meta_graph.graph_def.CopyFrom(sample_graph_def())
    meta_graph.saver_def.max_to_keep = 5
    meta_graph.collection_def["variables"].bytes_list.value.append(b"\x0a\x01w")
    meta_graph.collection_def["train_op"].node_list.value.append("train")
    meta_graph.collection_def["steps"].int64_list.value.extend([1, 2])
    meta_graph.collection_def["rates"].float_list.value.append(0.5)
    theirs = tensorboard_meta_graph_pb2.MetaGraphDef.FromString(meta_graph.SerializeToString())
    assert json_format.MessageToDict(theirs) == json_format.MessageToDict(meta_graph)
    assert list(theirs.meta_info_def.tags) == ["serve"]
    assert theirs.saver_def.max_to_keep == 5
    assert list(theirs.collection_def["train_op"].node_list.value) == ["train"]
    assert list(theirs.collection_def["steps"].int64_list.value) == [1, 2]
    assert list(theirs.collection_def["rates"].float_list.value) == [0.5]
    assert theirs.graph_def.node[0].attr["shape"].shape.dim[0].size == -1
