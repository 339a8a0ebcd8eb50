"""Random ops: random_normal, random_uniform, truncated_normal, random_shuffle, multinomial, seeded as in TF1."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor
from ..framework.graph import Graph, get_default_graph
from ..framework.registry import REQUIRED, OpDef, register_op
from ..framework.shapes import TensorShape
from ..framework.tensor import Tensor
from .array_ops import _shape_value
from .builder import const_value
from .builder import FLOATS, INTEGERS

__all__ = ["random_normal", "random_uniform", "truncated_normal", "random_shuffle", "multinomial", "get_seed",
           "set_random_seed"]

DEFAULT_GRAPH_SEED = 87654321  # TF1's op seed partner when only the op seed is given
_MAXINT32 = 2 ** 31 - 1


def _truncate_seed(seed: int) -> int:
    return int(seed) % _MAXINT32


def set_random_seed(seed: Optional[int]) -> None:
    """Sets the default graph's seed: with it, random ops give the same numbers in every new Session."""
    from ..framework.graph import get_default_graph
    get_default_graph().seed = seed


def get_seed(op_seed: Optional[int], graph: Optional[Graph] = None) -> Tuple[Optional[int], Optional[int]]:
    """The (graph seed, op seed) pair a random op uses, following TF1's rules.

    - graph seed set, op seed not: the op seed is derived from the graph's op count, so a rebuilt graph gives
      the same numbers while two ops in one graph differ;
    - op seed set, graph seed not: the graph seed defaults to DEFAULT_GRAPH_SEED;
    - neither: (None, None), meaning nondeterministic numbers.

    Args:
        op_seed: the seed passed to the op builder, or None.
        graph: the graph the op goes in (default: the default graph).

    Returns:
        (seed, seed2), where (0, 0) is avoided because it means "nondeterministic" to the kernels.
    """
    graph = graph if graph is not None else get_default_graph()
    graph_seed = graph.seed
    if graph_seed is not None:
        if op_seed is None:
            op_seed = graph._last_id
        seeds = _truncate_seed(graph_seed), _truncate_seed(op_seed)
    elif op_seed is not None:
        seeds = DEFAULT_GRAPH_SEED, _truncate_seed(op_seed)
    else:
        seeds = None, None
    if seeds == (0, 0):
        return 0, _MAXINT32
    return seeds


def seed_attrs(seed: Optional[int], graph: Optional[Graph] = None) -> dict:
    """The `seed`/`seed2` attrs of a random op built with op seed `seed` in `graph` (0, 0: unseeded)."""
    seed1, seed2 = get_seed(seed, graph)
    return {"seed": seed1 or 0, "seed2": seed2 or 0}


def _concrete_shape(shape) -> Tuple[int, ...]:
    values = shape.tolist() if hasattr(shape, "tolist") else list(shape)
    return tuple(int(v) for v in np.asarray(values).reshape(-1))


class _RandomOp(OpDef):
    """Samples of shape `shape` (the op's first input) from the Session's per-op generator (`ctx.rng(op)`)."""

    stateful = True
    grad = None
    allowed = FLOATS

    def infer(self, op):
        shape = op.inputs[0]
        if not shape.dtype.is_integer:
            raise TypeError(f"{op.type}: shape must be an integer tensor, got {shape.dtype.name}")
        dtype = dtypes.as_dtype(op.attrs["dtype"])
        if dtype not in self.allowed:
            raise TypeError(f"{op.type} does not support dtype {dtype.name}; allowed: "
                            f"{[d.name for d in self.allowed]}")
        dims = _shape_value(shape)
        if dims is None:
            rank = shape.shape.dims[0] if shape.shape.rank == 1 else None
            return [(dtype, TensorShape(None if rank is None else [None] * rank))]
        return [(dtype, TensorShape(dims))]

    def sample(self, rng: np.random.Generator, shape: Tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        raise NotImplementedError(f"{self.op_type} defines no sampler")

    def make_kernel(self, op, ctx):
        # numbers are drawn on the host so CPU and GPU give the same values for the same seeds
        rng, put = ctx.rng(op), ctx.device.put
        dtype = dtypes.as_dtype(op.attrs["dtype"]).numpy
        sample = self.sample

        def random_kernel(shape):
            return put(sample(rng, _concrete_shape(shape), dtype))
        return random_kernel


def _float_draw(draw, shape, dtype) -> np.ndarray:
    """Generator methods take float32/float64 only; float16 samples are drawn in float32 and rounded."""
    native = dtype if dtype in (np.float32, np.float64) else np.float32
    return draw(size=shape, dtype=native).astype(dtype, copy=False)


@register_op
class RandomStandardNormal(_RandomOp):
    """Samples from N(0, 1)."""

    op_type = "RandomStandardNormal"
    attrs = {"seed": 0, "seed2": 0, "dtype": REQUIRED, "T": None}

    def sample(self, rng, shape, dtype):
        return _float_draw(rng.standard_normal, shape, dtype)


@register_op
class RandomUniform(_RandomOp):
    """Samples from the uniform distribution on [0, 1)."""

    op_type = "RandomUniform"
    attrs = {"seed": 0, "seed2": 0, "dtype": REQUIRED, "T": None}

    def sample(self, rng, shape, dtype):
        return _float_draw(rng.random, shape, dtype)


@register_op
class TruncatedNormal(_RandomOp):
    """Samples from N(0, 1) conditioned on |x| <= 2: values beyond two standard deviations are redrawn."""

    op_type = "TruncatedNormal"
    attrs = {"seed": 0, "seed2": 0, "dtype": REQUIRED, "T": None}

    def sample(self, rng, shape, dtype):
        out = rng.standard_normal(size=shape)
        outside = np.abs(out) > 2.0
        while outside.any():  # ~4.6% redrawn per round, so this ends after a few rounds
            out[outside] = rng.standard_normal(size=int(outside.sum()))
            outside = np.abs(out) > 2.0
        return out.astype(dtype, copy=False)


@register_op
class RandomUniformInt(OpDef):
    """Integers uniform on [minval, maxval); inputs (shape, minval, maxval)."""

    op_type = "RandomUniformInt"
    attrs = {"seed": 0, "seed2": 0, "Tout": None, "T": None}
    stateful = True
    grad = None

    def infer(self, op):
        shape, minval, maxval = op.inputs
        if minval.dtype != maxval.dtype or minval.dtype not in (dtypes.int32, dtypes.int64):
            raise TypeError(f"RandomUniformInt: minval and maxval must both be int32 or int64, got "
                            f"{minval.dtype.name} and {maxval.dtype.name}")
        if minval.shape.rank not in (None, 0) or maxval.shape.rank not in (None, 0):
            raise ValueError(f"RandomUniformInt: minval and maxval must be scalars, got shapes {minval.shape} and "
                             f"{maxval.shape}")
        dims = _shape_value(shape)
        return [(minval.dtype, TensorShape(dims))]

    def make_kernel(self, op, ctx):
        rng, put = ctx.rng(op), ctx.device.put
        dtype = op.inputs[1].dtype.numpy

        def random_int(shape, minval, maxval):
            low, high = int(minval), int(maxval)
            if low >= high:
                raise ValueError(f"RandomUniformInt {op.name}: need minval < maxval, got {low} >= {high}")
            return put(rng.integers(low, high, size=_concrete_shape(shape), dtype=dtype))
        return random_int


@register_op
class RandomShuffle(OpDef):
    """Shuffles the input along its first dimension."""

    op_type = "RandomShuffle"
    attrs = {"seed": 0, "seed2": 0, "T": None}
    stateful = True
    grad = None

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[0].shape)]

    def make_kernel(self, op, ctx):
        rng, xp = ctx.rng(op), ctx.xp

        def shuffle(value):
            if value.ndim == 0:
                return value
            order = rng.permutation(value.shape[0])
            return value[xp.asarray(order)]
        return shuffle


def _shape_tensor(shape: Any, graph) -> Tensor:
    if isinstance(shape, Tensor) or hasattr(shape, "_as_tensor"):
        return convert_to_tensor(shape, graph=graph)
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    return convert_to_tensor(np.asarray(shape, dtype=np.int32).reshape(-1), graph=graph)


def _scaled(op_type: str, shape: Any, loc: Any, scale: Any, dtype: Any, seed: Optional[int], name: str) -> Tensor:
    graph = get_default_graph()
    dtype = dtypes.as_dtype(dtype)
    with graph.name_scope(name) as scope:
        shape_t = _shape_tensor(shape, graph)
        scale_t = convert_to_tensor(scale, dtype=dtype, graph=graph)
        loc_t = convert_to_tensor(loc, dtype=dtype, graph=graph)
        draw = graph.create_op(op_type, [shape_t], {"dtype": dtype, **seed_attrs(seed, graph)},
                               name=op_type).outputs[0]
        # the result is named after the scope ("random_normal"), as in TF1
        return graph.create_op("Add", [draw * scale_t, loc_t], name=scope).outputs[0]


def random_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = dtypes.float32,
                  seed: Optional[int] = None, name: Optional[str] = None) -> Tensor:
    """Samples from the normal distribution N(mean, stddev²).

    Args:
        shape: 1-D integer list/array/Tensor, the output shape.
        mean, stddev: scalars or Tensors broadcast against the samples (mean + stddev * z, z ~ N(0, 1)).
        dtype: a floating dtype.
        seed: op seed; combined with the graph seed (gf.set_random_seed) by `get_seed`.

    Returns:
        A Tensor of `shape` and `dtype`.
    """
    return _scaled("RandomStandardNormal", shape, mean, stddev, dtype, seed, name or "random_normal")


def truncated_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = dtypes.float32,
                     seed: Optional[int] = None, name: Optional[str] = None) -> Tensor:
    """Samples from N(mean, stddev²) truncated to [mean - 2 stddev, mean + 2 stddev] (values outside are redrawn).

    Args and Returns as `random_normal`.
    """
    return _scaled("TruncatedNormal", shape, mean, stddev, dtype, seed, name or "truncated_normal")


def random_uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = dtypes.float32,
                   seed: Optional[int] = None, name: Optional[str] = None) -> Tensor:
    """Samples uniformly from [minval, maxval).

    Args:
        shape: 1-D integer list/array/Tensor, the output shape.
        minval, maxval: range bounds; for floats maxval defaults to 1 (minval + (maxval - minval) * u, u ~ U[0, 1));
            integer dtypes (int32, int64) need an explicit maxval.
        dtype: float16/32/64, int32 or int64.
        seed: op seed (see `get_seed`).

    Returns:
        A Tensor of `shape` and `dtype`.
    """
    graph = get_default_graph()
    dtype = dtypes.as_dtype(dtype)
    if dtype in INTEGERS:
        if maxval is None:
            raise ValueError(f"random_uniform with integer dtype {dtype.name} needs maxval")
        if dtype not in (dtypes.int32, dtypes.int64):
            raise TypeError(f"random_uniform supports int32 and int64 among integers, got {dtype.name}")
        with graph.name_scope(name or "random_uniform") as scope:
            shape_t = _shape_tensor(shape, graph)
            low = convert_to_tensor(minval, dtype=dtype, graph=graph)
            high = convert_to_tensor(maxval, dtype=dtype, graph=graph)
            attrs = {"Tout": dtype, **seed_attrs(seed, graph)}
            return graph.create_op("RandomUniformInt", [shape_t, low, high], attrs,
                                   name=scope).outputs[0]
    if maxval is None:
        maxval = 1
    with graph.name_scope(name or "random_uniform") as scope:
        shape_t = _shape_tensor(shape, graph)
        low = convert_to_tensor(minval, dtype=dtype, graph=graph)
        high = convert_to_tensor(maxval, dtype=dtype, graph=graph)
        draw = graph.create_op("RandomUniform", [shape_t], {"dtype": dtype, **seed_attrs(seed, graph)},
                               name="RandomUniform").outputs[0]
        return graph.create_op("Add", [draw * (high - low), low], name=scope).outputs[0]


def random_shuffle(value: Any, seed: Optional[int] = None, name: Optional[str] = None) -> Tensor:
    """Randomly shuffles `value` along its first dimension."""
    x = convert_to_tensor(value)
    return x.graph.create_op("RandomShuffle", [x], seed_attrs(seed, x.graph), name=name or "RandomShuffle").outputs[0]


@register_op
class Multinomial(OpDef):
    """Class indices drawn from softmax(logits[b]) for each batch row b: [batch, classes] -> [batch, num_samples]."""

    op_type = "Multinomial"
    attrs = {"seed": 0, "seed2": 0, "T": None, "output_dtype": dtypes.int64}
    stateful = True
    grad = None

    def infer(self, op):
        logits, num = op.inputs
        if logits.dtype not in FLOATS:
            raise TypeError(f"Multinomial: logits must be floating point, got {logits.dtype.name}")
        if not num.dtype.is_integer or num.shape.rank not in (None, 0):
            raise ValueError(f"Multinomial: num_samples must be an integer scalar, got {num.dtype.name} {num.shape}")
        if logits.shape.rank not in (None, 2):
            raise ValueError(f"Multinomial: logits must be [batch_size, num_classes], got shape {logits.shape}")
        out = dtypes.as_dtype(op.attrs["output_dtype"])
        if out not in (dtypes.int32, dtypes.int64):
            raise TypeError(f"Multinomial: output_dtype must be int32 or int64, got {out.name}")
        value = const_value(num)
        batch = logits.shape.dims[0] if logits.shape.rank == 2 else None
        return [(out, TensorShape([batch, None if value is None else int(value)]))]

    def make_kernel(self, op, ctx):
        # drawn on the host (inverse CDF of uniform draws) so CPU and GPU give the same samples for the same seeds
        rng, device = ctx.rng(op), ctx.device
        out_dtype = dtypes.as_dtype(op.attrs["output_dtype"]).numpy

        def multinomial_kernel(logits, num_samples):
            logits = np.asarray(device.get(logits), dtype=np.float64)
            count = int(num_samples)
            if count < 0:
                raise ValueError(f"Multinomial {op.name}: num_samples must be >= 0, got {count}")
            if logits.shape[1] == 0:
                raise ValueError(f"Multinomial {op.name}: logits need at least one class, got shape {logits.shape}")
            weights = np.exp(logits - logits.max(axis=1, keepdims=True))
            cdf = np.cumsum(weights, axis=1)
            cdf /= cdf[:, -1:]
            draws = rng.random((logits.shape[0], count))
            samples = np.stack([np.searchsorted(row, u, side="right") for row, u in zip(cdf, draws)]) \
                if logits.shape[0] else np.zeros((0, count), np.int64)
            return device.put(np.minimum(samples, logits.shape[1] - 1).astype(out_dtype))
        return multinomial_kernel


def multinomial(logits: Any, num_samples: Any, seed: Optional[int] = None, name: Optional[str] = None,
                output_dtype: Any = dtypes.int64) -> Tensor:
    """Draws `num_samples` class indices per row of `logits` (unnormalised log-probabilities), TF1's tf.multinomial.

    Args:
        logits: [batch_size, num_classes] float tensor.
        num_samples: scalar int, samples per row.
        seed: op seed (combined with the graph seed as in TF1).
        name: op name.
        output_dtype: int32 or int64.

    Returns:
        [batch_size, num_samples] tensor of class indices.
    """
    x = convert_to_tensor(logits)
    num = convert_to_tensor(num_samples, dtype=dtypes.int32, graph=x.graph)
    attrs = {"output_dtype": dtypes.as_dtype(output_dtype), **seed_attrs(seed, x.graph)}
    return x.graph.create_op("Multinomial", [x, num], attrs, name=name or "Multinomial").outputs[0]
