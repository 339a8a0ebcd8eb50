"""The global step: one int64 variable named "global_step" counting training steps, found through GLOBAL_STEP."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..framework import dtypes
from ..framework.graph import Graph, GraphKeys, get_default_graph
from ..ops.variables import Variable

__all__ = ["get_global_step", "create_global_step", "get_or_create_global_step", "global_step",
           "assert_global_step"]


def get_global_step(graph: Optional[Graph] = None) -> Optional[Variable]:
    """The graph's global step variable (from the GLOBAL_STEP collection), or None when it has none.

    Raises:
        TypeError: the collection holds more than one item, or something that is not an integer scalar variable.
    """
    graph = graph or get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if not found:
        return None
    if len(found) > 1:
        raise TypeError(f"There are {len(found)} items in collection {GraphKeys.GLOBAL_STEP}: "
                        f"{[getattr(v, 'name', v) for v in found]}; expected one global step")
    assert_global_step(found[0])
    return found[0]


def create_global_step(graph: Optional[Graph] = None) -> Variable:
    """Creates the int64 scalar variable "global_step" (value 0, not trainable) in GLOBAL_VARIABLES and GLOBAL_STEP.

    Raises:
        ValueError: the graph already has a global step.
    """
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.name_scope(None), graph.control_dependencies(None):
        return Variable(np.int64(0), trainable=False, dtype=dtypes.int64, name="global_step",
                        collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])


def get_or_create_global_step(graph: Optional[Graph] = None) -> Variable:
    """The graph's global step, created first if it has none."""
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)


def assert_global_step(global_step_tensor: Any) -> None:
    """Raises TypeError unless `global_step_tensor` is an integer scalar Variable or Tensor."""
    dtype = getattr(global_step_tensor, "dtype", None)
    shape = getattr(global_step_tensor, "shape", None)
    if dtype is None or not dtype.is_integer or shape is None or shape.rank != 0:
        raise TypeError(f"Existing \"global_step\" must be an integer scalar Variable or Tensor, got "
                        f"{global_step_tensor!r}")


def global_step(sess: Any, global_step_tensor: Any) -> int:
    """The global step's current value in `sess`, as a Python int."""
    return int(sess.run(global_step_tensor))
