"""Array math for 2-D max and average pooling over NHWC arrays and their gradients, written once for any namespace."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy

from ..backends.intra_op import run_shares
from .conv_math import (Array, Block, Padding, Pads, array_namespace, between_images, crop_nhwc, pad_nhwc,
                        pixel_blocks, resolve_padding_2d, tap_window)


class PoolGeometry(NamedTuple):
    """Every size of one NHWC pooling, checked once."""

    batch: int
    in_h: int
    in_w: int
    channels: int
    ksize: Tuple[int, int]
    strides: Tuple[int, int]
    out_h: int
    out_w: int
    pads: Pads

    @property
    def padded_hw(self) -> Tuple[int, int]:
        (top, bottom), (left, right) = self.pads
        return self.in_h + top + bottom, self.in_w + left + right

    def blocks(self, xp: ModuleType) -> List[Block]:
        """Blocks (n0, n1, r0, r1) of output pixels. A tap loop streams about four output-sized arrays; keeping a
        block of them cache-resident measured 2-3x faster than sweeping whole-batch arrays once per tap.

        One share per intra-op thread: a block makes several short numpy calls per tap, and with two threads
        queueing for the GIL between them, four shares per thread made Deep-MNIST's second MaxPoolGrad slower than
        one thread (1.13 against 0.96 ms), where one share per thread took 0.71 ms.
        """
        return list(pixel_blocks(xp, self.batch, self.out_h, self.out_w, 4 * self.channels, shares_per_thread=1))

    @property
    def tiled(self) -> bool:
        """Windows that neither overlap nor pad (ksize == strides, no padding): every input element is in at most one
        window, so gradients are written into their input windows rather than added."""
        return self.ksize == self.strides and self.pads == ((0, 0), (0, 0))

    def gradient_buffer(self, xp: ModuleType, dtype: Any) -> Array:
        """The padded-input-shaped gradient that the taps fill in. Zeros in general; when `tiled`, only the edge rows
        and columns that no window covers (VALID pooling of an indivisible size) are zeroed, since the taps
        overwrite the rest."""
        shape = (self.batch, *self.padded_hw, self.channels)
        if not self.tiled:
            return xp.zeros(shape, dtype=dtype)
        buffer = xp.empty(shape, dtype=dtype)
        buffer[:, self.out_h * self.ksize[0]:] = 0
        buffer[:, :, self.out_w * self.ksize[1]:] = 0
        return buffer

    def taps(self, r0: int, r1: int) -> Iterator[Tuple[int, int, slice, slice]]:
        """Window taps (i, j) in row-major order with the padded-input rows and columns read for output rows r0:r1."""
        for i in range(self.ksize[0]):
            for j in range(self.ksize[1]):
                yield (i, j, *tap_window(i, j, r0, r1 - r0, self.out_w, self.strides))


def pool_geometry(input_shape: Sequence[int], ksize: Sequence[int], strides: Sequence[int],
                  padding: Padding) -> PoolGeometry:
    """Check an NHWC input shape and size a (kh, kw) window pooling with (sh, sw) strides, TF padding rules."""
    if len(input_shape) != 4:
        raise ValueError(f"pooling needs a rank-4 NHWC input; got shape {tuple(input_shape)}")
    if len(ksize) != 2 or len(strides) != 2:
        raise ValueError(f"ksize and strides must be (height, width) pairs; got {ksize!r} and {strides!r}")
    batch, in_h, in_w, channels = (int(d) for d in input_shape)
    (out_h, out_w), pads = resolve_padding_2d((in_h, in_w), ksize, strides, (1, 1), padding)
    return PoolGeometry(batch, in_h, in_w, channels, (int(ksize[0]), int(ksize[1])),
                        (int(strides[0]), int(strides[1])), out_h, out_w, pads)


def _lowest(dtype: Any) -> Any:
    """A padding value that never wins a max: -inf for floats, the minimum for integers."""
    dtype = numpy.dtype(dtype)
    if dtype.kind == "f":
        return -numpy.inf
    return numpy.iinfo(dtype).min


def _window_counts(xp: ModuleType, geometry: PoolGeometry, dtype: Any) -> Array:
    """(out_h, out_w, 1) array: how many NON-padding elements each window covers (TF's SAME average divisor).

    Along one axis, output o starts at o*s - pad_before and covers [max(start, 0), min(start + k, size)).
    """
    g = geometry
    per_axis = []
    for out, size, k, stride, (before, _) in zip((g.out_h, g.out_w), (g.in_h, g.in_w), g.ksize, g.strides, g.pads):
        start = numpy.arange(out) * stride - before
        per_axis.append(numpy.minimum(start + k, size) - numpy.maximum(start, 0))
    counts = per_axis[0][:, None, None] * per_axis[1][None, :, None]
    return xp.asarray(counts.astype(dtype))


def _tap_validity(geometry: PoolGeometry, i: int, j: int) -> Optional[Array]:
    """(out_h, out_w, 1) host mask of outputs whose tap (i, j) reads a real (not padding) element; None if all do."""
    g = geometry
    masks = []
    for out, size, tap, stride, (before, _) in zip((g.out_h, g.out_w), (g.in_h, g.in_w), (i, j), g.strides, g.pads):
        position = numpy.arange(out) * stride + tap - before
        masks.append((position >= 0) & (position < size))
    if masks[0].all() and masks[1].all():
        return None
    return masks[0][:, None, None] & masks[1][None, :, None]


def max_pool_nhwc(x: Array, ksize: Sequence[int], strides: Sequence[int], padding: Padding = "VALID", *,
                  xp: Optional[ModuleType] = None) -> Array:
    """Max pooling (TF's MaxPool): y[n, r, c, ch] = max over the window's non-padding elements of x.

    The input is padded with -inf (the dtype's minimum for integers) and reduced with one elementwise maximum
    per window tap over strided views; no loop touches batch, pixels or channels.
    """
    xp = xp or array_namespace(x)
    g = pool_geometry(x.shape, ksize, strides, padding)
    padded = pad_nhwc(xp, x, g.pads, _lowest(x.dtype))
    y = xp.empty((g.batch, g.out_h, g.out_w, g.channels), dtype=x.dtype)

    def pool(blocks: Sequence[Block]) -> None:
        for n0, n1, r0, r1 in blocks:
            y_block = y[n0:n1, r0:r1]
            for i, j, rows, cols in g.taps(r0, r1):
                if i == j == 0:
                    y_block[...] = padded[n0:n1, rows, cols, :]
                else:
                    xp.maximum(y_block, padded[n0:n1, rows, cols, :], out=y_block)
    run_shares(xp, g.blocks(xp), pool)
    return y


def avg_pool_nhwc(x: Array, ksize: Sequence[int], strides: Sequence[int], padding: Padding = "VALID", *,
                  xp: Optional[ModuleType] = None) -> Array:
    """Average pooling (TF's AvgPool): the window sum divided by the count of NON-padding elements in the window."""
    xp = xp or array_namespace(x)
    g = pool_geometry(x.shape, ksize, strides, padding)
    padded = pad_nhwc(xp, x, g.pads)
    total = xp.empty((g.batch, g.out_h, g.out_w, g.channels), dtype=x.dtype)

    def pool(blocks: Sequence[Block]) -> None:
        for n0, n1, r0, r1 in blocks:
            total_block = total[n0:n1, r0:r1]
            for i, j, rows, cols in g.taps(r0, r1):
                if i == j == 0:
                    total_block[...] = padded[n0:n1, rows, cols, :]
                else:
                    total_block += padded[n0:n1, rows, cols, :]
    run_shares(xp, g.blocks(xp), pool)
    del padded
    total /= _window_counts(xp, g, x.dtype)
    return total


def max_pool_grad_nhwc(x: Array, y: Array, dy: Array, ksize: Sequence[int], strides: Sequence[int],
                       padding: Padding = "VALID", *, xp: Optional[ModuleType] = None,
                       positive_maxima_only: bool = False) -> Array:
    """Gradient of max pooling (TF's MaxPoolGrad): each dy goes to ONE input, the first maximum of its window.

    Walking the taps in row-major window order, an output's gradient goes to the first tap whose (non-padding)
    input equals the pooled maximum y; a per-output "claimed" mask stops later ties from receiving it too. Within
    one tap the output->input map is one-to-one, so each tap is a plain strided slice-add. (dy is masked by
    multiplying with the 0/1 hit mask, so a non-finite dy also turns the other inputs of its window into NaN.)

    Args:
      x: the pooled input; y: `max_pool_nhwc(x, ...)`; dy: gradient with respect to y.
      positive_maxima_only: drop the gradient of windows whose maximum is not positive. With x = relu(h), that
        makes the result the gradient with respect to h (see MaxPoolGrad.fuse).
    Returns:
      dx, shaped like x.
    """
    xp = xp or array_namespace(x, y, dy)
    g = pool_geometry(x.shape, ksize, strides, padding)
    _check_pooled_shape(y, g, "pooled output")
    _check_pooled_shape(dy, g, "output gradient")
    # Padding is excluded by the validity masks below, so its value never matters.
    padded = pad_nhwc(xp, x, g.pads)
    dx_padded = g.gradient_buffer(xp, dy.dtype)
    taps = list(g.taps(0, g.out_h))
    validity = {(i, j): _tap_validity(g, i, j) for i, j, _, _ in taps}
    first, last = taps[0][:2], taps[-1][:2]

    def route(blocks: Sequence[Block]) -> None:
        buffers = None
        for n0, n1, r0, r1 in blocks:
            y_block, dy_block = y[n0:n1, r0:r1], dy[n0:n1, r0:r1]
            # Buffers reused across taps and blocks: fresh temporaries per tap measured several times slower.
            if buffers is None or buffers[0].shape != y_block.shape:
                buffers = (xp.empty(y_block.shape, dtype=bool), xp.empty(y_block.shape, dtype=bool),
                           xp.empty(y_block.shape, dtype=dy.dtype), xp.empty(y_block.shape, dtype=dy.dtype))
            claimed, hit, routed, gated = buffers
            if positive_maxima_only:
                xp.greater(y_block, 0, out=hit)
                dy_block = xp.multiply(dy_block, hit, out=gated)
            for i, j, rows, cols in g.taps(r0, r1):
                # The first tap's hits are all unclaimed: they become the claimed mask; the last tap's hits need
                # not be recorded. That saves three of the sixteen passes of a 2x2 window.
                xp.equal(padded[n0:n1, rows, cols, :], y_block, out=claimed if (i, j) == first else hit)
                if validity[i, j] is not None:
                    mask = claimed if (i, j) == first else hit
                    xp.logical_and(mask, xp.asarray(validity[i, j][r0:r1]), out=mask)
                if (i, j) == first:
                    taken = claimed
                else:
                    xp.greater(hit, claimed, out=hit)  # for booleans, hit > claimed is "hit and not yet claimed"
                    if (i, j) != last:
                        xp.logical_or(claimed, hit, out=claimed)
                    taken = hit
                if g.tiled:  # written straight into its window: 30% faster than zeros plus an add
                    xp.multiply(dy_block, taken, out=dx_padded[n0:n1, rows, cols, :])
                else:
                    xp.multiply(dy_block, taken, out=routed)
                    dx_padded[n0:n1, rows, cols, :] += routed
    run_shares(xp, g.blocks(xp), route, between_images)
    return crop_nhwc(xp, dx_padded, g.pads, (g.in_h, g.in_w))


def avg_pool_grad_nhwc(input_shape: Sequence[int], dy: Array, ksize: Sequence[int], strides: Sequence[int],
                       padding: Padding = "VALID", *, xp: Optional[ModuleType] = None) -> Array:
    """Gradient of average pooling (TF's AvgPoolGrad): dx[p] = sum over windows w containing p of dy[w] / count[w]."""
    xp = xp or array_namespace(dy)
    g = pool_geometry(input_shape, ksize, strides, padding)
    _check_pooled_shape(dy, g, "output gradient")
    share = dy / _window_counts(xp, g, dy.dtype)
    dx_padded = g.gradient_buffer(xp, share.dtype)

    def spread(blocks: Sequence[Block]) -> None:
        for n0, n1, r0, r1 in blocks:
            for i, j, rows, cols in g.taps(r0, r1):
                if g.tiled:
                    dx_padded[n0:n1, rows, cols, :] = share[n0:n1, r0:r1]
                else:
                    dx_padded[n0:n1, rows, cols, :] += share[n0:n1, r0:r1]
    run_shares(xp, g.blocks(xp), spread, between_images)
    return crop_nhwc(xp, dx_padded, g.pads, (g.in_h, g.in_w))


def _check_pooled_shape(array: Array, geometry: PoolGeometry, what: str) -> None:
    g = geometry
    expected = (g.batch, g.out_h, g.out_w, g.channels)
    if tuple(array.shape) != expected:
        raise ValueError(f"{what} has shape {tuple(array.shape)}; this pooling produces {expected}")
