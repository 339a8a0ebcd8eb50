"""graphflow: the TensorFlow 1 programming model — static graphs, Sessions, symbolic gradients — in Python.

`import graphflow as tf` runs TF1-style scripts: this module re-exports the public API under TF1's names.
"""
from .framework import dtypes, errors
from .framework.dtypes import (DType, as_dtype, bool_ as bool, float16, float32, float64, half, double, int8, int16,
                               int32, int64, string, uint8, uint16, uint32, uint64)
from .framework.graph import Graph, GraphKeys, get_default_graph, reset_default_graph
from .framework.shapes import Dimension, TensorShape
from .framework.tensor import Operation, Tensor
from .framework.convert import convert_to_tensor
from .framework.registry import OpDef, register_op
from .ops.core_ops import constant, group, identity, no_op, placeholder, placeholder_with_default, stop_gradient
from .ops.math_ops import *  # noqa: F401,F403 - the public op builders, listed in each module's __all__
from .ops.array_ops import *  # noqa: F401,F403
from .ops.variables import *  # noqa: F401,F403
from .ops.shape_ops import *  # noqa: F401,F403
from .ops.indexing_ops import *  # noqa: F401,F403
from .ops.gather_ops import *  # noqa: F401,F403
from .ops.select_ops import *  # noqa: F401,F403
from .ops.linalg_ops import cholesky, eye, matrix_determinant, matrix_inverse, matrix_transpose, norm, trace
from .ops.random_ops import *  # noqa: F401,F403
from .ops.variable_scope import *  # noqa: F401,F403
from .ops.init_ops import *  # noqa: F401,F403
from . import data, graph_util, initializers, io, layers, linalg, losses, nn, random, summary, train, viz  # noqa: E402
from .gradients import NoGradient, NotDifferentiable, RegisterGradient, custom_gradient, gradients, hessians
from .runtime.session import ConfigProto, GPUOptions, InteractiveSession, Session, get_default_session
from .ops.script_ops import Print, py_func
from .ops.control_flow_ops import cond
from . import tf_logging as logging
from .backends import available_devices
from .train.clip_ops import clip_by_average_norm, clip_by_global_norm, clip_by_norm, global_norm
from .proto.config_pb2 import RunMetadata, RunOptions
from .summary import Event, HistogramProto, SessionLog, Summary
from .runtime import timeline
from .io import graph_def as _graph_def  # noqa: F401 - installs Operation.node_def and Graph.as_graph_def
from .io.importer import import_graph_def
from .io.tensor_proto import make_ndarray, make_tensor_proto
from .proto.attr_value_pb2 import AttrValue
from .proto.graph_pb2 import GraphDef
from .proto.meta_graph_pb2 import MetaGraphDef
from .proto.node_def_pb2 import NodeDef
from .proto.tensor_pb2 import TensorProto

__version__ = "0.1.0"


def name_scope(name, default_name=None, values=None):
    """Opens a name scope in the graph of `values` (default graph otherwise); yields the scope string."""
    from .framework.convert import graph_of
    graph = graph_of(values or [])
    return graph.name_scope(name if name is not None else default_name)


def control_dependencies(control_inputs):
    """Ops created inside run after `control_inputs` (in the default graph)."""
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name):
    """Places ops created inside on `device_name` ('/cpu:0', '/cpu:1', '/gpu:0')."""
    return get_default_graph().device(device_name)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key):
    return get_default_graph().get_collection_ref(key)

