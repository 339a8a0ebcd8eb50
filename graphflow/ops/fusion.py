"""Elementwise followers run as epilogues of a producing kernel, on each output block while it is still in cache.

A kernel that writes its output block by block (the convolutions) can apply the ops that follow it, a bias add and
an activation say, to every block just after computing it, instead of sweeping the whole output once per op. The
Plan offers a producer its chain of single-reader followers (`OpDef.fuse`); `channel_epilogue` picks the prefix of
that chain that can run on row blocks of an NHWC output.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

from ..framework.tensor import Operation, Tensor

Epilogue = Callable[..., None]  # epilogue(block, *extra_inputs): updates a (pixels, channels) block in place


def channel_epilogue(producer: Operation, followers: Sequence[Operation], ctx: Any) -> Tuple[Optional[Epilogue], int]:
    """The longest prefix of `followers` that can run in place on (pixels, channels) row blocks of `producer`'s
    NHWC output, as one epilogue, and its length (0 and None when none can).

    A follower qualifies when it has an elementwise in-place kernel, reads the chained value as its first input,
    keeps its dtype and shape, and its other inputs only vary along the channel axis: a bias, a scale, a scalar.
    The epilogue takes those other inputs, in chain order, after the block.
    """
    link = producer.outputs[0]
    channels = link.shape.dims[-1] if link.shape.rank == 4 else None
    steps: List[Tuple[Callable[..., Any], int]] = []  # (in-place kernel, how many extra inputs it takes)
    for follower in followers:
        if channels is None or not _runs_on_channel_blocks(follower, link, channels):
            break
        steps.append((follower.opdef.make_inplace_kernel(follower, ctx), len(follower.inputs) - 1))
        link = follower.outputs[0]
    if not steps:
        return None, 0

    def epilogue(block: Any, *extras: Any) -> None:
        position = 0
        for kernel, count in steps:
            # channel vectors of any rank, flattened so that they broadcast over the block's trailing axis
            kernel(block, *(extra.reshape(-1) for extra in extras[position:position + count]))
            position += count
    return epilogue, len(steps)


def _runs_on_channel_blocks(follower: Operation, link: Tensor, channels: int) -> bool:
    opdef = follower.opdef
    if opdef.make_inplace_kernel is None or len(follower.outputs) != 1 or follower.inputs[0] is not link:
        return False
    if follower.attrs.get("data_format", "NHWC") != "NHWC":
        return False
    out = follower.outputs[0]
    if out.dtype != link.dtype or not out.shape.is_compatible_with(link.shape):
        return False
    return all(_is_channel_vector(t, channels) for t in follower.inputs[1:])


def _is_channel_vector(tensor: Tensor, channels: int) -> bool:
    """Whether `tensor`'s static shape is all ones but for a last axis of 1 or `channels`."""
    dims = tensor.shape.dims
    if dims is None:
        return False
    return all(d == 1 for d in dims[:-1]) and (not dims or dims[-1] in (1, channels))
