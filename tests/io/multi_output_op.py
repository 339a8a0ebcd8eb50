"""A two-output test op (graphflow has no multi-output op of its own yet): PosNeg(x) = (x, -x)."""
from graphflow.framework.registry import OpDef, register_op


@register_op
class PosNeg(OpDef):
    """(x, -x): exercises ':1' inputs in GraphDefs."""

    op_type = "TestPosNeg"
    attrs = {"T": None}
    grad = None

    def infer(self, op):
        x = op.inputs[0]
        return [(x.dtype, x.shape), (x.dtype, x.shape)]

    def kernel(self, xp, x, **attrs):
        return x, -x


def pos_neg(graph, x, name=None):
    return graph.create_op("TestPosNeg", [x], name=name or "PosNeg").outputs
