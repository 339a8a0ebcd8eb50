"""Learning-rate schedules against their numpy formulas at several global steps."""
import math

import numpy as np
import pytest

import graphflow as gf
from graphflow.train import learning_rate_decay as decay

STEPS = [0, 1, 7, 10, 15, 30, 99]


def _evaluate(build, steps=STEPS):
    graph = gf.Graph()
    with graph.as_default():
        step = gf.placeholder(gf.int64, [], name="global_step")
        rate = build(step)
        with gf.Session() as sess:
            return np.array([sess.run(rate, {step: s}) for s in steps], dtype=np.float64), rate


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    got, rate = _evaluate(lambda s: decay.exponential_decay(0.1, s, 10, 0.5, staircase=staircase))
    p = np.array(STEPS) / 10.0
    want = 0.1 * 0.5 ** (np.floor(p) if staircase else p)
    assert rate.dtype == gf.float32 and rate.op.name.startswith("ExponentialDecay")
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("staircase", [False, True])
def test_natural_exp_and_inverse_time_decay(staircase):
    p = np.array(STEPS) / 8.0
    p = np.floor(p) if staircase else p
    got, _ = _evaluate(lambda s: decay.natural_exp_decay(0.2, s, 8, 0.3, staircase=staircase))
    np.testing.assert_allclose(got, 0.2 * np.exp(-0.3 * p), rtol=1e-6)
    got, _ = _evaluate(lambda s: decay.inverse_time_decay(0.2, s, 8, 0.3, staircase=staircase))
    np.testing.assert_allclose(got, 0.2 / (1 + 0.3 * p), rtol=1e-6)


def test_piecewise_constant_boundaries_are_inclusive_on_the_left_interval():
    steps = [0, 5, 6, 10, 11, 50]
    got, _ = _evaluate(lambda s: decay.piecewise_constant(s, [np.int64(5), np.int64(10)], [1.0, 0.5, 0.1]), steps)
    np.testing.assert_allclose(got, [1.0, 1.0, 0.5, 0.5, 0.1, 0.1], rtol=1e-7)
    with pytest.raises(ValueError, match="1 less than the length of values"):
        decay.piecewise_constant(gf.constant(1), [1, 2], [1.0, 2.0])


@pytest.mark.parametrize("power, cycle", [(1.0, False), (2.0, False), (0.5, True), (2.0, True)])
def test_polynomial_decay(power, cycle):
    got, _ = _evaluate(lambda s: decay.polynomial_decay(0.1, s, 10, end_learning_rate=0.01, power=power, cycle=cycle))
    want = []
    for s in STEPS:
        steps = 10 * max(math.ceil(s / 10), 1) if cycle else 10
        t = s if cycle else min(s, 10)
        want.append((0.1 - 0.01) * (1 - t / steps) ** power + 0.01)
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.2])
def test_cosine_decay(alpha):
    got, _ = _evaluate(lambda s: decay.cosine_decay(0.3, s, 20, alpha=alpha))
    t = np.minimum(STEPS, 20)
    want = 0.3 * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * t / 20)) + alpha)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_schedules_follow_the_global_step_variable_and_need_it():
    from graphflow.train.global_step import get_or_create_global_step
    graph = gf.Graph()
    with graph.as_default():
        step = get_or_create_global_step()
        rate = decay.exponential_decay(1.0, step, 1, 0.5)
        bump = step.assign_add(1)
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            sess.run(bump)
            sess.run(bump)
            assert sess.run(rate) == pytest.approx(0.25)
        for fn in (decay.exponential_decay, decay.natural_exp_decay, decay.inverse_time_decay):
            with pytest.raises(ValueError, match="global_step is required"):
                fn(0.1, None, 10, 0.5)
        with pytest.raises(ValueError, match="global_step is required for polynomial_decay"):
            decay.polynomial_decay(0.1, None, 10)
        with pytest.raises(ValueError, match="global_step is required for cosine_decay"):
            decay.cosine_decay(0.1, None, 10)
