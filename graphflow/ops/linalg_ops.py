"""Matrix products, inverse / determinant / Cholesky and matrix helpers, arg-reductions, cumulative sums and products."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..framework import dtypes
from ..framework.convert import convert_to_tensor
from ..framework.registry import OpDef, register_op
from ..framework.shapes import TensorShape, broadcast_shapes
from ..framework.tensor import Tensor
from ..backends import intra_op
from .builder import const_value, convert_pair

__all__ = ["matmul", "tensordot", "argmax", "argmin", "cumsum", "cumprod", "count_nonzero", "matrix_inverse",
           "matrix_determinant", "cholesky", "matrix_transpose", "eye", "trace", "norm"]


def _matmul_dims(a_shape, b_shape, ta: bool, tb: bool, op_type: str):
    m, ka = (a_shape[-1], a_shape[-2]) if ta else (a_shape[-2], a_shape[-1])
    kb, n = (b_shape[-1], b_shape[-2]) if tb else (b_shape[-2], b_shape[-1])
    if ka is not None and kb is not None and ka != kb:
        raise ValueError(f"{op_type}: inner dimensions differ: {ka} (a{' transposed' if ta else ''}) vs "
                         f"{kb} (b{' transposed' if tb else ''})")
    return m, n


@register_op
class MatMul(OpDef):
    """c = op(a) @ op(b) for matrices, op = transpose when transpose_a / transpose_b."""

    fresh_output = True  # every kernel path returns a newly allocated array

    op_type = "MatMul"
    attrs = {"transpose_a": False, "transpose_b": False, "T": None}

    def infer(self, op):
        a, b = op.inputs
        if a.dtype != b.dtype:
            raise TypeError(f"MatMul inputs must have the same dtype, got {a.dtype.name} and {b.dtype.name}")
        a_shape, b_shape = a.shape.with_rank(2).as_list(), b.shape.with_rank(2).as_list()
        m, n = _matmul_dims(a_shape, b_shape, op.attrs["transpose_a"], op.attrs["transpose_b"], "MatMul")
        return [(a.dtype, TensorShape([m, n]))]

    def make_kernel(self, op, ctx):
        ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
        dot = intra_op.matmul if ctx.xp is np else ctx.xp.matmul
        if not ta and not tb:
            return dot
        return lambda a, b: dot(a.T if ta else a, b.T if tb else b)

    def grad(self, op, dy):
        a, b = op.inputs
        ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
        if not ta and not tb:
            return [matmul(dy, b, transpose_b=True), matmul(a, dy, transpose_a=True)]
        if not ta and tb:
            return [matmul(dy, b), matmul(dy, a, transpose_a=True)]
        if ta and not tb:
            return [matmul(b, dy, transpose_b=True), matmul(a, dy)]
        return [matmul(b, dy, transpose_a=True, transpose_b=True), matmul(dy, a, transpose_a=True, transpose_b=True)]


@register_op
class BatchMatMulV2(OpDef):
    """Batched matmul over leading dims (broadcast), adj_x / adj_y transpose the last two dims."""

    fresh_output = True  # every kernel path returns a newly allocated array

    op_type = "BatchMatMulV2"
    attrs = {"adj_x": False, "adj_y": False, "T": None}

    def infer(self, op):
        a, b = op.inputs
        if a.dtype != b.dtype:
            raise TypeError(f"BatchMatMul inputs must have the same dtype, got {a.dtype.name} and {b.dtype.name}")
        if a.shape.rank is None or b.shape.rank is None:
            return [(a.dtype, TensorShape(None))]
        a_shape, b_shape = a.shape.with_rank_at_least(2).as_list(), b.shape.with_rank_at_least(2).as_list()
        m, n = _matmul_dims(a_shape, b_shape, op.attrs["adj_x"], op.attrs["adj_y"], "BatchMatMul")
        batch = broadcast_shapes(a_shape[:-2], b_shape[:-2])
        return [(a.dtype, batch.concatenate([m, n]))]

    def make_kernel(self, op, ctx):
        ta, tb, dot = op.attrs["adj_x"], op.attrs["adj_y"], ctx.xp.matmul
        swap = ctx.xp.swapaxes
        return lambda a, b: dot(swap(a, -1, -2) if ta else a, swap(b, -1, -2) if tb else b)

    def grad(self, op, dy):
        from .math_ops import sum_to
        a, b = op.inputs
        ta, tb = op.attrs["adj_x"], op.attrs["adj_y"]
        if not ta:
            ga = matmul(dy, b, transpose_b=not tb)
        else:
            ga = matmul(b, dy, transpose_a=tb, transpose_b=True)
        if not tb:
            gb = matmul(a, dy, transpose_a=not ta)
        else:
            gb = matmul(dy, a, transpose_a=True, transpose_b=ta)
        return [sum_to(ga, a), sum_to(gb, b)]


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False, adjoint_a: bool = False,
           adjoint_b: bool = False, a_is_sparse: bool = False, b_is_sparse: bool = False, name: Optional[str] = None):
    """Matrix product op(a) @ op(b); inputs of rank > 2 are batched (leading dims broadcast)."""
    a, b = convert_pair(a, b)
    ta, tb = transpose_a or adjoint_a, transpose_b or adjoint_b
    if a.shape.rank == 2 and b.shape.rank == 2:
        return a.graph.create_op("MatMul", [a, b], {"transpose_a": ta, "transpose_b": tb},
                                 name=name or "MatMul").outputs[0]
    return a.graph.create_op("BatchMatMulV2", [a, b], {"adj_x": ta, "adj_y": tb}, name=name or "MatMul").outputs[0]


def tensordot(a: Any, b: Any, axes: Any, name: Optional[str] = None):
    """Contracts `axes` of a with those of b (an int N: last N of a with first N of b), via reshape + matmul."""
    from . import array_ops
    a, b = convert_pair(a, b)
    if a.shape.rank is None or b.shape.rank is None or not a.shape.is_fully_defined() or not b.shape.is_fully_defined():
        raise ValueError("tensordot needs fully defined input shapes")
    ra, rb = a.shape.rank, b.shape.rank
    if isinstance(axes, (int, np.integer)):
        a_axes, b_axes = list(range(ra - int(axes), ra)), list(range(int(axes)))
    else:
        a_axes, b_axes = [list(np.atleast_1d(ax)) for ax in axes]
    a_axes, b_axes = [int(x) % ra for x in a_axes], [int(x) % rb for x in b_axes]
    a_dims, b_dims = a.shape.as_list(), b.shape.as_list()
    for i, j in zip(a_axes, b_axes):
        if a_dims[i] != b_dims[j]:
            raise ValueError(f"tensordot: axis {i} of a ({a_dims[i]}) does not match axis {j} of b ({b_dims[j]})")
    free_a = [i for i in range(ra) if i not in a_axes]
    free_b = [i for i in range(rb) if i not in b_axes]
    k = int(np.prod([a_dims[i] for i in a_axes]))
    with a.graph.name_scope(name or "Tensordot"):
        at = array_ops.reshape(array_ops.transpose(a, free_a + a_axes), [-1, k])
        bt = array_ops.reshape(array_ops.transpose(b, b_axes + free_b), [k, -1])
        product = matmul(at, bt)
        return array_ops.reshape(product, [a_dims[i] for i in free_a] + [b_dims[i] for i in free_b])


class _ArgReduce(OpDef):
    attrs = {"output_type": dtypes.int64, "T": None, "Tidx": None}
    numpy_name = ""
    grad = None

    def infer(self, op):
        x, axis = op.inputs
        value = const_value(axis)
        if value is None or x.shape.rank is None:
            return [(dtypes.as_dtype(op.attrs["output_type"]), TensorShape(None))]
        rank = x.shape.rank
        a = int(value)
        if not -rank <= a < rank:
            raise ValueError(f"{op.type}: axis {a} out of range for rank {rank}")
        dims = x.shape.as_list()
        del dims[a % rank]
        return [(dtypes.as_dtype(op.attrs["output_type"]), TensorShape(dims))]

    def make_kernel(self, op, ctx):
        fn = getattr(ctx.xp, self.numpy_name)
        out = dtypes.as_dtype(op.attrs["output_type"]).numpy
        return lambda x, axis: fn(x, axis=int(axis)).astype(out)


@register_op
class ArgMax(_ArgReduce):
    """Index of the largest value along `axis` (first one on ties)."""

    op_type = "ArgMax"
    numpy_name = "argmax"


@register_op
class ArgMin(_ArgReduce):
    """Index of the smallest value along `axis` (first one on ties)."""

    op_type = "ArgMin"
    numpy_name = "argmin"


def _arg(op_type: str, input: Any, axis: Any, name: Optional[str], dimension: Any, output_type: Any):
    x = convert_to_tensor(input)
    if axis is None:
        axis = dimension if dimension is not None else 0
    axis_t = convert_to_tensor(axis, dtype=dtypes.int32, graph=x.graph)
    return x.graph.create_op(op_type, [x, axis_t], {"output_type": dtypes.as_dtype(output_type)},
                             name=name or op_type).outputs[0]


def argmax(input: Any, axis: Any = None, name: Optional[str] = None, dimension: Any = None,
           output_type: Any = dtypes.int64):
    """Index of the maximum along `axis` (default 0)."""
    return _arg("ArgMax", input, axis, name, dimension, output_type)


def argmin(input: Any, axis: Any = None, name: Optional[str] = None, dimension: Any = None,
           output_type: Any = dtypes.int64):
    """Index of the minimum along `axis` (default 0)."""
    return _arg("ArgMin", input, axis, name, dimension, output_type)


@register_op
class Cumsum(OpDef):
    """Cumulative sum along `axis` (exclusive / reverse as TF)."""

    op_type = "Cumsum"
    attrs = {"exclusive": False, "reverse": False, "T": None, "Tidx": None}

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[0].shape)]

    def make_kernel(self, op, ctx):
        xp, exclusive, reverse = ctx.xp, op.attrs["exclusive"], op.attrs["reverse"]

        def cumsum_kernel(x, axis):
            axis = int(axis)
            y = xp.flip(x, axis) if reverse else x
            out = xp.cumsum(y, axis=axis, dtype=x.dtype)
            if exclusive:
                out = xp.concatenate([xp.zeros_like(xp.take(out, [0], axis=axis)),
                                      xp.take(out, xp.arange(out.shape[axis] - 1), axis=axis)], axis=axis)
            return xp.flip(out, axis) if reverse else out
        return cumsum_kernel

    def grad(self, op, dy):
        return [cumsum(dy, op.inputs[1], exclusive=op.attrs["exclusive"], reverse=not op.attrs["reverse"]), None]


def cumsum(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False, name: Optional[str] = None):
    """Cumulative sum along `axis`."""
    x = convert_to_tensor(x)
    axis_t = convert_to_tensor(axis, dtype=dtypes.int32, graph=x.graph)
    return x.graph.create_op("Cumsum", [x, axis_t], {"exclusive": exclusive, "reverse": reverse},
                             name=name or "Cumsum").outputs[0]


def _exclusive(xp, out, axis: int, fill: int):
    """Shifts a cumulative result one step along `axis`, filling the first slot with `fill` (0 or 1)."""
    first = xp.full_like(xp.take(out, [0], axis=axis), fill)
    return xp.concatenate([first, xp.take(out, xp.arange(out.shape[axis] - 1), axis=axis)], axis=axis)


@register_op
class Cumprod(OpDef):
    """Cumulative product along `axis`: y_i = x_0 * ... * x_i (exclusive: up to x_{i-1}; reverse: from the end)."""

    op_type = "Cumprod"
    attrs = {"exclusive": False, "reverse": False, "T": None, "Tidx": None}

    def infer(self, op):
        return [(op.inputs[0].dtype, op.inputs[0].shape)]

    def make_kernel(self, op, ctx):
        xp, exclusive, reverse = ctx.xp, op.attrs["exclusive"], op.attrs["reverse"]

        def cumprod_kernel(x, axis):
            axis = int(axis)
            if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
                raise ValueError(f"Cumprod: axis {axis} is out of range for shape {x.shape}")
            y = xp.flip(x, axis) if reverse else x
            out = xp.cumprod(y, axis=axis, dtype=x.dtype)
            if exclusive and out.shape[axis]:
                out = _exclusive(xp, out, axis, 1)
            return xp.flip(out, axis) if reverse else out
        return cumprod_kernel

    def grad(self, op, dy):
        # TF's gradient, exact for nonzero inputs: dx_j = sum_{i >= j} dy_i * y_i / x_j
        x, axis = op.inputs
        ex, rev = op.attrs["exclusive"], op.attrs["reverse"]
        return [cumsum(op.outputs[0] * dy, axis, exclusive=ex, reverse=not rev) / x, None]


def cumprod(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False, name: Optional[str] = None):
    """Cumulative product along `axis` (TF1's tf.cumprod); the gradient assumes nonzero inputs, as TF's does."""
    x = convert_to_tensor(x)
    axis_t = convert_to_tensor(axis, dtype=dtypes.int32, graph=x.graph)
    return x.graph.create_op("Cumprod", [x, axis_t], {"exclusive": exclusive, "reverse": reverse},
                             name=name or "Cumprod").outputs[0]


def count_nonzero(input_tensor: Any, axis: Any = None, keepdims: bool = False, dtype: Any = dtypes.int64,
                  name: Optional[str] = None):
    """Number of non-zero elements across `axis`."""
    from .math_ops import cast, not_equal
    from .reduction_ops import reduce_sum
    x = convert_to_tensor(input_tensor)
    with x.graph.name_scope(name or "count_nonzero"):
        zero = np.zeros((), dtype=x.dtype.numpy) if x.dtype != dtypes.string else ""
        return reduce_sum(cast(not_equal(x, zero), dtype), axis, keepdims=keepdims)


# ---------------------------------------------------------------------------------------------------------------------
# Square-matrix ops over the last two dimensions (batched over the leading ones)
# ---------------------------------------------------------------------------------------------------------------------
_LINALG_FLOATS = (dtypes.float32, dtypes.float64)


def _square_shape(op) -> TensorShape:
    """The input's shape, checked to be [..., N, N] with a float32/float64 dtype."""
    x = op.inputs[0]
    if x.dtype not in _LINALG_FLOATS:
        raise TypeError(f"{op.type} needs float32 or float64 input, got {x.dtype.name}")
    if x.shape.rank is None:
        return x.shape
    if x.shape.rank < 2:
        raise ValueError(f"{op.type}: input must have rank >= 2 ([..., N, N]), got shape {x.shape}")
    rows, cols = x.shape.dims[-2:]
    if rows is not None and cols is not None and rows != cols:
        raise ValueError(f"{op.type}: input must be square matrices, got shape {x.shape}")
    return x.shape


def _linalg_error(op_type: str, error: Exception) -> ValueError:
    """numpy.linalg (and CuPy, which reuses its class) raise LinAlgError; report it naming the op."""
    return ValueError(f"{op_type}: {error}")


@register_op
class MatrixInverse(OpDef):
    """y = A⁻¹ (or (Aᴴ)⁻¹ with adjoint) for each matrix in [..., N, N]."""

    op_type = "MatrixInverse"
    attrs = {"adjoint": False, "T": None}

    def infer(self, op):
        return [(op.inputs[0].dtype, _square_shape(op))]

    def make_kernel(self, op, ctx):
        xp, adjoint = ctx.xp, op.attrs["adjoint"]

        def inverse_kernel(a):
            try:
                return xp.linalg.inv(xp.swapaxes(a, -1, -2) if adjoint else a)
            except np.linalg.LinAlgError as e:
                raise _linalg_error("MatrixInverse", e) from None
        return inverse_kernel

    def grad(self, op, dy):
        # d(A⁻¹) = -A⁻¹ dA A⁻¹, so dA = -A⁻ᵀ dy A⁻ᵀ (transposed throughout with adjoint)
        ainv = op.outputs[0]
        if op.attrs["adjoint"]:
            return [-matmul(ainv, matmul(dy, ainv, adjoint_a=True))]
        return [-matmul(ainv, matmul(dy, ainv, adjoint_b=True), adjoint_a=True)]


def matrix_inverse(input: Any, adjoint: bool = False, name: Optional[str] = None):
    """Inverse of each square matrix in `input` ([..., N, N]); singular matrices are an error."""
    x = convert_to_tensor(input)
    return x.graph.create_op("MatrixInverse", [x], {"adjoint": adjoint}, name=name or "MatrixInverse").outputs[0]


@register_op
class MatrixDeterminant(OpDef):
    """y = det(A) for each matrix in [..., N, N]; y has shape [...]."""

    op_type = "MatrixDeterminant"
    attrs = {"T": None}

    def infer(self, op):
        shape = _square_shape(op)
        return [(op.inputs[0].dtype, shape if shape.rank is None else TensorShape(shape.dims[:-2]))]

    def kernel(self, xp, a, **_):
        return xp.linalg.det(a).astype(a.dtype, copy=False)

    def grad(self, op, dy):
        # d det(A) / dA = det(A) A⁻ᵀ
        from .shape_ops import expand_dims
        scale = expand_dims(expand_dims(dy * op.outputs[0], -1), -1)
        return [scale * matrix_inverse(op.inputs[0], adjoint=True)]


def matrix_determinant(input: Any, name: Optional[str] = None):
    """Determinant of each square matrix in `input` ([..., N, N] -> [...])."""
    x = convert_to_tensor(input)
    return x.graph.create_op("MatrixDeterminant", [x], name=name or "MatrixDeterminant").outputs[0]


@register_op
class Cholesky(OpDef):
    """L with A = L Lᴴ, lower triangular, for each symmetric positive-definite matrix in [..., N, N].

    Only the lower triangle of A is read (as numpy's and TF's kernels do).
    """

    op_type = "Cholesky"
    attrs = {"T": None}

    def infer(self, op):
        return [(op.inputs[0].dtype, _square_shape(op))]

    def make_kernel(self, op, ctx):
        xp = ctx.xp

        def cholesky_kernel(a):
            try:
                return xp.linalg.cholesky(a)
            except np.linalg.LinAlgError as e:
                raise _linalg_error("Cholesky", e) from None
        return cholesky_kernel

    def grad(self, op, dy):
        # TF's (Murray 2016): phi(Lᴴ dy) keeps the lower triangle with the diagonal halved;
        # dA = sym(L⁻ᴴ phi L⁻¹) / 2 … written as 0.5 (G + Gᴴ) with G = L⁻ᴴ phi L⁻¹
        from .array_ops import range as range_
        from .math_ops import cast, equal, greater
        chol = op.outputs[0]
        n = _last_dim(chol)
        rows = range_(n)
        lower = cast(greater(rows[:, None], rows[None, :]), chol.dtype) + \
            0.5 * cast(equal(rows[:, None], rows[None, :]), chol.dtype)
        chol_inv = matrix_inverse(chol)
        middle = matmul(chol, dy, adjoint_a=True) * lower
        g = matmul(matmul(chol_inv, middle, adjoint_a=True), chol_inv)
        return [0.5 * (g + matrix_transpose(g))]


def cholesky(input: Any, name: Optional[str] = None):
    """Lower-triangular Cholesky factor of each symmetric positive-definite matrix in `input` ([..., N, N])."""
    x = convert_to_tensor(input)
    return x.graph.create_op("Cholesky", [x], name=name or "Cholesky").outputs[0]


# ---------------------------------------------------------------------------------------------------------------------
# Composites: matrix_transpose, eye, trace, norm
# ---------------------------------------------------------------------------------------------------------------------
def _last_dim(x, index: int = -1):
    """x.shape[index] as a Python int when static, else a scalar int32 tensor."""
    from .array_ops import shape
    if x.shape.rank is not None and x.shape.dims[index] is not None:
        return x.shape.dims[index]
    return shape(x)[index]


def matrix_transpose(a: Any, name: str = "matrix_transpose", conjugate: bool = False):
    """Swaps the last two dimensions of `a` ([..., M, N] -> [..., N, M]); needs a known rank >= 2."""
    from .array_ops import transpose
    x = convert_to_tensor(a)
    rank = x.shape.rank
    if rank is None or rank < 2:
        raise ValueError(f"matrix_transpose needs a tensor of known rank >= 2, got shape {x.shape} ({x.name})")
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    return transpose(x, perm, name=name)


def _static_ints(values: Any) -> Optional[list]:
    """`values` as a list of Python ints when they are all plain integers (not Tensors), else None."""
    if isinstance(values, Tensor) or hasattr(values, "_as_tensor"):
        return None
    values = list(values)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return [int(v) for v in values]
    return None


def eye(num_rows: Any, num_columns: Any = None, batch_shape: Any = None, dtype: Any = dtypes.float32,
        name: Optional[str] = None):
    """Identity matrix [num_rows, num_columns] (ones on the main diagonal), broadcast over `batch_shape` if given.

    Static sizes give one Const; tensor sizes build the matrix from range() comparisons.
    """
    from .array_ops import broadcast_to, shape
    from .array_ops import range as range_
    from .core_ops import constant
    dtype = dtypes.as_dtype(dtype)
    num_columns = num_rows if num_columns is None else num_columns
    sizes = _static_ints([num_rows, num_columns])
    batch = None if batch_shape is None else _static_ints(batch_shape)
    if sizes is not None and (batch_shape is None or batch is not None):
        value = np.eye(sizes[0], sizes[1], dtype=dtype.numpy)
        if batch:
            value = np.ascontiguousarray(np.broadcast_to(value, tuple(batch) + value.shape))
        return constant(value, dtype=dtype, name=name or "eye")
    from .math_ops import cast, equal
    from .shape_ops import concat
    rows, cols = range_(num_rows), range_(num_columns)
    matrix = cast(equal(rows[:, None], cols[None, :]), dtype)
    if batch_shape is None:
        return matrix
    full = concat([convert_to_tensor(batch_shape, dtype=dtypes.int32), shape(matrix)], 0)
    return broadcast_to(matrix, full, name=name or "eye")


def trace(x: Any, name: Optional[str] = None):
    """Sum of the main diagonal of each matrix in `x` ([..., M, N] -> [...])."""
    from .reduction_ops import reduce_sum
    x = convert_to_tensor(x)
    if x.shape.rank is not None and x.shape.rank < 2:
        raise ValueError(f"trace needs a tensor of rank >= 2, got shape {x.shape} ({x.name})")
    with x.graph.name_scope(name or "Trace"):
        return reduce_sum(x * eye(_last_dim(x, -2), _last_dim(x, -1), dtype=x.dtype), [-2, -1])


def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None, keepdims: Optional[bool] = None,
         name: Optional[str] = None, keep_dims: Optional[bool] = None):
    """Vector or matrix norm (TF1's tf.norm).

    Args:
        tensor: a float tensor.
        ord: 'euclidean' / 'fro' (sqrt of the sum of squares), 1, 2, np.inf or any p > 0 for vectors
            ((sum |x|^p)^(1/p)); for matrices (`axis` a pair) 'euclidean', 'fro', 1 (max column sum of |x|) or
            np.inf (max row sum); the matrix 2-norm needs an SVD and is not supported.
        axis: None (the whole tensor as one vector), an int (vectors along it) or a pair of ints (matrices).
        keepdims / keep_dims: keep the reduced dimensions with size 1.
        name: name scope.

    Returns:
        The norms, with `axis` reduced.
    """
    from .math_ops import abs as abs_
    from .math_ops import pow as pow_
    from .math_ops import sqrt
    from .reduction_ops import reduce_max, reduce_sum
    from .shape_ops import squeeze
    keep = bool(keepdims if keepdims is not None else keep_dims)
    x = convert_to_tensor(tensor)
    is_matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
    if isinstance(axis, (list, tuple)) and not is_matrix:
        raise ValueError(f"norm: axis must be None, an int or a pair of ints, got {axis}")
    euclidean = ord in ("euclidean", "fro") or (not is_matrix and ord == 2)
    if not euclidean and (isinstance(ord, str) or ord <= 0 or (is_matrix and ord not in (1, np.inf))):
        raise ValueError(f"norm: ord={ord!r} is not supported for {'matrix' if is_matrix else 'vector'} norms "
                         "(vectors: 'euclidean', 'fro', p > 0, np.inf; matrices: 'euclidean', 'fro', 1, np.inf)")
    with x.graph.name_scope(name or "norm"):
        if euclidean:
            return sqrt(reduce_sum(x * x, axis, keepdims=keep))
        if is_matrix:
            # 1: max over columns of the column sums; inf: max over rows of the row sums
            inner, outer = (axis[0], axis[1]) if ord == 1 else (axis[1], axis[0])
            result = reduce_max(reduce_sum(abs_(x), inner, keepdims=True), outer, keepdims=True)
            return result if keep else squeeze(result, list(axis))
        if ord == np.inf:
            return reduce_max(abs_(x), axis, keepdims=keep)
        if ord == 1:
            return reduce_sum(abs_(x), axis, keepdims=keep)
        p = convert_to_tensor(float(ord), dtype=x.dtype, graph=x.graph)
        return pow_(reduce_sum(pow_(abs_(x), p), axis, keepdims=keep), 1.0 / p)
