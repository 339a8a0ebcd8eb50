"""Smoke checks of the harness itself on a few core math ops."""
import numpy as np

import graphflow as gf
from tests.harness import check_op


def test_mul_broadcast():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    check_op(lambda x, y: x * y, [a, b], lambda x, y: x * y)


def test_matmul():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    check_op(lambda x, y: gf.matmul(x, y), [a, b], lambda x, y: x @ y)


def test_reduce_mean_axis():
    a = np.random.default_rng(3).standard_normal((3, 4))
    check_op(lambda x: gf.reduce_mean(x, axis=1, keepdims=True), [a], lambda x: x.mean(axis=1, keepdims=True))
