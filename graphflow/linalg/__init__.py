"""gf.linalg: TF1's tf.linalg namespace — matrix products, inverse, determinant, Cholesky and matrix helpers."""
from ..ops.linalg_ops import cholesky, eye, matmul, matrix_transpose, norm, trace
from ..ops.linalg_ops import matrix_determinant as det
from ..ops.linalg_ops import matrix_inverse as inv

__all__ = ["matmul", "inv", "det", "cholesky", "matrix_transpose", "eye", "trace", "norm"]
