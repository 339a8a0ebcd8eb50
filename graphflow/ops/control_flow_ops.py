"""Functional control flow: `cond` as an If op whose branches are sub-graphs, each run as its own Plan."""
from __future__ import annotations

from typing import Any, Callable, List, NamedTuple, Optional, Tuple

from ..framework import dtypes, nest
from ..framework.convert import convert_to_tensor
from ..framework.graph import BranchGraph, Graph, get_default_graph
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor

__all__ = ["cond"]


class Branch(NamedTuple):
    """One side of an If: its graph, the placeholders fed from the If's inputs, and the tensors it produces."""

    graph: Graph
    inputs: List[Tensor]      # placeholders in `graph`, one per If input after the predicate (by position)
    outputs: List[Tensor]     # tensors in `graph`


def _common_shape(a: TensorShape, b: TensorShape) -> TensorShape:
    """The most specific shape both branches' results fit (dims that differ become unknown)."""
    if a.rank is None or b.rank is None or a.rank != b.rank:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.dims, b.dims)])


@register_op
class If(OpDef):
    """Runs the then- or else-branch sub-graph, by the scalar bool predicate (input 0), on inputs 1..N.

    The branches are kept in private attrs (this process only): a GraphDef of a graph with a cond records the If
    node but not its branches.
    """

    op_type = "If"
    attrs = {"Tcond": None, "Tin": None, "Tout": None}
    stateful = True  # a branch may hold random or variable-reading ops: never constant-fold it
    cpu_only = True  # the predicate decides on the host; the branch plans place their own ops

    def infer(self, op):
        pred = op.inputs[0]
        if pred.dtype != dtypes.bool_ or pred.shape.rank not in (None, 0):
            raise ValueError(f"cond needs a scalar bool predicate, got {pred.name} ({pred.dtype.name}, {pred.shape})")
        then, other = op.attrs["_then"], op.attrs["_else"]
        specs = []
        for index, (a, b) in enumerate(zip(then.outputs, other.outputs)):
            if a.dtype != b.dtype:
                raise TypeError(f"cond branches disagree on result {index}: {a.dtype.name} vs {b.dtype.name}")
            specs.append((a.dtype, _common_shape(a.shape, b.shape)))
        return specs

    def make_kernel(self, op, ctx):
        then, other = op.attrs["_then"], op.attrs["_else"]
        run_then, run_else = ctx.compile(then.outputs, then.inputs), ctx.compile(other.outputs, other.inputs)
        single = len(op.outputs) == 1

        def run_if(pred, *values):
            results = (run_then if bool(pred) else run_else)(values)
            return results[0] if single else tuple(results)
        return run_if

    def grad(self, op, *dys):
        """An If over each branch's own gradient sub-graph, built inside that branch's graph."""
        captured = list(op.inputs[1:])
        graph = op.graph
        dy_tensors = [dy for dy, t in zip(dys, op.outputs) if dy is not None and t.dtype.is_floating]
        float_outputs = [i for i, (dy, t) in enumerate(zip(dys, op.outputs)) if dy is not None and t.dtype.is_floating]
        wanted = [i for i, t in enumerate(captured) if t.dtype.is_floating]
        branches = [_gradient_branch(b, float_outputs, wanted) for b in (op.attrs["_then"], op.attrs["_else"])]
        if not wanted:
            return [None] * len(op.inputs)
        grads = _make_if(graph, op.inputs[0], captured + dy_tensors, branches[0], branches[1], "If_grad")
        result: List[Optional[Tensor]] = [None] * len(op.inputs)
        for position, index in enumerate(wanted):
            result[index + 1] = grads[position]
        return result


def _gradient_branch(branch: Branch, float_outputs: List[int], wanted: List[int]) -> Branch:
    """Builds, in `branch.graph`, d(outputs)/d(inputs) seeded by new dy placeholders."""
    from ..gradients import gradients  # the gradient machinery sits above the op library
    graph = branch.graph
    with graph.as_default():
        seeds = [graph.create_op("Placeholder", [], {"dtype": branch.outputs[i].dtype,
                                                     "shape": branch.outputs[i].shape.dims},
                                 name="grad_seed").outputs[0] for i in float_outputs]
        xs = [branch.inputs[i] for i in wanted]
        ys = [branch.outputs[i] for i in float_outputs]
        grads = gradients(ys, xs, grad_ys=seeds, unconnected_gradients="zero") if ys else \
            [graph.create_op("ZerosLike", [x]).outputs[0] for x in xs]
    return Branch(graph, list(branch.inputs) + seeds, list(grads))


def _make_if(graph: Graph, pred: Tensor, inputs: List[Tensor], then: Branch, other: Branch, name: str) -> List[Tensor]:
    attrs = {"Tcond": dtypes.bool_, "Tin": [t.dtype for t in inputs], "Tout": [t.dtype for t in then.outputs],
             "_then": then, "_else": other}
    return list(graph.create_op("If", [pred] + inputs, attrs, name=name).outputs)


def _build_branch(outer: Graph, fn: Callable[[], Any], name: str) -> Tuple[BranchGraph, Any, List[Tensor]]:
    branch = BranchGraph(outer)
    redirect, outer._redirect = outer._redirect, branch
    try:
        with branch.as_default(), branch.name_scope(name):
            result = fn()
            structure = result
            flat = [branch.capture(r) if isinstance(r, Tensor) else convert_to_tensor(r, graph=branch)
                    for r in nest.flatten(result)]
            # an output must be an op of the branch, so identity even captured placeholders and constants
            flat = [branch.create_op("Identity", [t], name="output").outputs[0] for t in flat]
    finally:
        outer._redirect = redirect
    return branch, structure, flat


def cond(pred: Any, true_fn: Optional[Callable[[], Any]] = None, false_fn: Optional[Callable[[], Any]] = None,
         strict: bool = False, name: Optional[str] = None, fn1: Any = None, fn2: Any = None) -> Any:
    """`true_fn()` if `pred` else `false_fn()`, deciding at run time; only the chosen branch's ops run.

    Each function builds its ops in its own sub-graph, using any tensors of the enclosing graph; both must return
    the same structure of tensors with matching dtypes. Gradients flow through the branch that ran.

    Args:
        pred: a scalar bool Tensor (or Python bool).
        true_fn, false_fn: functions of no arguments building each branch (TF1's fn1/fn2 names are accepted).
    Returns:
        The chosen branch's results, in `true_fn`'s structure.
    """
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError("cond needs callable true_fn and false_fn")
    outer = get_default_graph()  # inside a branch being built this is that branch: conds nest
    if isinstance(pred, Tensor) and pred.graph is not outer:
        if not isinstance(outer, BranchGraph):
            outer = pred.graph
        else:
            pred = outer.capture(pred)
    pred = convert_to_tensor(pred, dtype=dtypes.bool_, graph=outer)
    with outer.name_scope(name or "cond"):
        then_graph, structure, then_out = _build_branch(outer, true_fn, "then")
        else_graph, else_structure, else_out = _build_branch(outer, false_fn, "else")
        if len(then_out) != len(else_out):
            raise ValueError(f"cond branches return different structures: {len(then_out)} vs {len(else_out)} tensors")
        captured = list(dict.fromkeys(list(then_graph.captures) + list(else_graph.captures)))
        # both branches take every captured tensor (a branch that never read one just leaves it unused)
        then = Branch(then_graph, [then_graph.capture(t) for t in captured], then_out)
        other = Branch(else_graph, [else_graph.capture(t) for t in captured], else_out)
        outputs = _make_if(outer, pred, captured, then, other, "If")
    return nest.pack_sequence_as(structure, outputs)

