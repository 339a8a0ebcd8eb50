"""Optimizers: updates and slots against numpy re-implementations of TF's formulas, convergence, global step, errors."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.framework.graph import GraphKeys
from graphflow.ops import training_ops
from graphflow.train.global_step import create_global_step, get_global_step, get_or_create_global_step
from graphflow.train.learning_rate_decay import exponential_decay
from graphflow.train.optimizers import (AdadeltaOptimizer, AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer,
                                        MomentumOptimizer, RMSPropOptimizer)

RNG = np.random.default_rng(0)
W0 = RNG.standard_normal((2, 3))
GRADS = [RNG.standard_normal((2, 3)) for _ in range(4)]


# --- independent numpy references: each returns (var, {slot name: value}) after every step -----------------------------
def ref_gd(lr):
    def run(w, grads):
        for g in grads:
            w = w - lr * g
            yield w, {}
    return run


def ref_momentum(lr, momentum, nesterov):
    def run(w, grads):
        a = np.zeros_like(w)
        for g in grads:
            a = momentum * a + g
            w = w - (lr * g + lr * momentum * a if nesterov else lr * a)
            yield w, {"momentum": a}
    return run


def ref_adagrad(lr, init):
    def run(w, grads):
        acc = np.full_like(w, init)
        for g in grads:
            acc = acc + g * g
            w = w - lr * g / np.sqrt(acc)
            yield w, {"accumulator": acc}
    return run


def ref_adadelta(lr, rho, eps):
    def run(w, grads):
        acc, acc_up = np.zeros_like(w), np.zeros_like(w)
        for g in grads:
            acc = rho * acc + (1 - rho) * g * g
            update = np.sqrt(acc_up + eps) / np.sqrt(acc + eps) * g
            acc_up = rho * acc_up + (1 - rho) * update * update
            w = w - lr * update
            yield w, {"accum": acc, "accum_update": acc_up}
    return run


def ref_rmsprop(lr, decay, momentum, eps, centered):
    def run(w, grads):
        ms, mg, mom = np.ones_like(w), np.zeros_like(w), np.zeros_like(w)
        for g in grads:
            ms = decay * ms + (1 - decay) * g * g
            mg = decay * mg + (1 - decay) * g
            denom = ms - mg * mg + eps if centered else ms + eps
            mom = momentum * mom + lr * g / np.sqrt(denom)
            w = w - mom
            slots = {"rms": ms, "momentum": mom}
            if centered:
                slots["mg"] = mg
            yield w, slots
    return run


def ref_adam(lr, b1, b2, eps):
    def run(w, grads):
        m, v = np.zeros_like(w), np.zeros_like(w)
        for t, g in enumerate(grads, start=1):
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            w = w - lr_t * m / (np.sqrt(v) + eps)
            yield w, {"m": m, "v": v}
    return run


CASES = [
    ("gd", lambda: GradientDescentOptimizer(0.3), ref_gd(0.3)),
    ("momentum", lambda: MomentumOptimizer(0.1, 0.9), ref_momentum(0.1, 0.9, False)),
    ("momentum_zero", lambda: MomentumOptimizer(0.05, 0.0), ref_momentum(0.05, 0.0, False)),
    ("nesterov", lambda: MomentumOptimizer(0.1, 0.8, use_nesterov=True), ref_momentum(0.1, 0.8, True)),
    ("adagrad", lambda: AdagradOptimizer(0.2), ref_adagrad(0.2, 0.1)),
    ("adagrad_init", lambda: AdagradOptimizer(0.5, initial_accumulator_value=2.0), ref_adagrad(0.5, 2.0)),
    ("adadelta", lambda: AdadeltaOptimizer(1.0, rho=0.9, epsilon=1e-6), ref_adadelta(1.0, 0.9, 1e-6)),
    ("rmsprop", lambda: RMSPropOptimizer(0.01), ref_rmsprop(0.01, 0.9, 0.0, 1e-10, False)),
    ("rmsprop_momentum", lambda: RMSPropOptimizer(0.02, decay=0.8, momentum=0.5, epsilon=1e-3),
     ref_rmsprop(0.02, 0.8, 0.5, 1e-3, False)),
    ("rmsprop_centered", lambda: RMSPropOptimizer(0.02, decay=0.7, momentum=0.3, epsilon=1e-2, centered=True),
     ref_rmsprop(0.02, 0.7, 0.3, 1e-2, True)),
    ("adam", lambda: AdamOptimizer(0.1), ref_adam(0.1, 0.9, 0.999, 1e-8)),
    ("adam_betas", lambda: AdamOptimizer(0.05, beta1=0.5, beta2=0.9, epsilon=1e-3), ref_adam(0.05, 0.5, 0.9, 1e-3)),
]


@pytest.mark.parametrize("make_opt, reference", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_update_matches_numpy_formula(make_opt, reference, dtype, rtol):
    graph = gf.Graph()
    with graph.as_default():
        w = gf.Variable(W0.astype(dtype), name="w")
        g = gf.placeholder(gf.as_dtype(dtype), W0.shape, name="g")
        opt = make_opt()
        train = opt.apply_gradients([(g, w)])
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            for grad, (want_w, want_slots) in zip(GRADS, reference(W0.astype(np.float64), GRADS)):
                sess.run(train, {g: grad.astype(dtype)})
                np.testing.assert_allclose(sess.run(w), want_w, rtol=rtol, atol=rtol * 1e-2)
                assert sorted(opt.get_slot_names()) == sorted(want_slots)
                for name, want in want_slots.items():
                    slot = opt.get_slot(w, name)
                    assert slot.dtype == w.dtype and slot.shape == w.shape
                    np.testing.assert_allclose(sess.run(slot), want, rtol=rtol, atol=rtol * 1e-2, err_msg=name)


def test_slot_variables_are_named_like_tf_and_saved_not_trained():
    graph = gf.Graph()
    with graph.as_default():
        w = gf.Variable(np.ones(3), name="w")
        with graph.name_scope("layer"):
            b = gf.Variable(np.ones(2), name="b")
        loss = gf.reduce_sum(w * w) + gf.reduce_sum(b * b)
        adam = AdamOptimizer()
        train = adam.minimize(loss)
        assert train.name == "Adam"
        assert adam.get_slot(w, "m").op.name == "w/Adam"
        assert adam.get_slot(w, "v").op.name == "w/Adam_1"
        assert adam.get_slot(b, "m").op.name == "layer/b/Adam"
        names = [v.op.name for v in adam.variables()]
        assert names == ["beta1_power", "beta2_power", "layer/b/Adam", "layer/b/Adam_1", "w/Adam", "w/Adam_1"]
        global_names = {v.op.name for v in gf.global_variables()}
        assert set(names) <= global_names
        assert [v.op.name for v in gf.trainable_variables()] == ["w", "layer/b"]
        assert train in graph.get_collection(GraphKeys.TRAIN_OP)
        rms = RMSPropOptimizer(0.1, centered=True)
        rms.minimize(loss)
        assert [rms.get_slot(w, n).op.name for n in ("rms", "mg", "momentum")] == \
            ["w/RMSProp", "w/RMSProp_1", "w/RMSProp_2"]
        momentum = MomentumOptimizer(0.1, 0.9)
        momentum.minimize(loss, var_list=[w])
        assert momentum.get_slot(w, "momentum").op.name == "w/Momentum"
        assert momentum.get_slot(b, "momentum") is None
        assert momentum.get_slot(w, "nonexistent") is None


def test_adam_beta_powers_advance_once_per_step():
    graph = gf.Graph()
    with graph.as_default():
        w1, w2 = gf.Variable(np.ones(2), name="w1"), gf.Variable(np.ones(2), name="w2")
        adam = AdamOptimizer(0.1, beta1=0.8, beta2=0.95)
        train = adam.minimize(gf.reduce_sum(w1 * w2))
        beta1_power, beta2_power = adam._get_beta_accumulators()
        assert not beta1_power.trainable
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            for _ in range(3):
                sess.run(train)
            np.testing.assert_allclose(sess.run([beta1_power, beta2_power]), [0.8 ** 4, 0.95 ** 4], rtol=1e-12)


QUADRATIC_OPTS = [
    lambda: GradientDescentOptimizer(0.05), lambda: MomentumOptimizer(0.02, 0.9),
    lambda: MomentumOptimizer(0.02, 0.9, use_nesterov=True), lambda: AdagradOptimizer(0.5),
    lambda: AdadeltaOptimizer(1.0, epsilon=1e-2), lambda: RMSPropOptimizer(0.05), lambda: RMSPropOptimizer(0.02, centered=True),
    lambda: AdamOptimizer(0.1),
]


@pytest.mark.parametrize("make_opt", QUADRATIC_OPTS)
def test_every_optimizer_decreases_a_convex_quadratic(make_opt):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 4))
    b = rng.standard_normal(6)
    graph = gf.Graph()
    with graph.as_default():
        w = gf.Variable(np.zeros(4), name="w")
        residual = gf.reshape(gf.matmul(gf.constant(a), gf.reshape(w, [4, 1])), [6]) - b
        loss = gf.reduce_sum(residual * residual)
        train = make_opt().minimize(loss)
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            losses = [sess.run(loss)]
            for _ in range(150):
                sess.run(train)
            losses.append(sess.run(loss))
    best = np.sum((a @ np.linalg.lstsq(a, b, rcond=None)[0] - b) ** 2)
    assert losses[1] < best + 0.75 * (losses[0] - best)


def _regression_data():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((240, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.7 + 0.1 * rng.standard_normal(240)
    design = np.hstack([x, np.ones((240, 1))])
    return x, y, np.linalg.lstsq(design, y, rcond=None)[0]


def _regression_graph(learning_rate_fn):
    x = gf.placeholder(gf.float64, [None, 3], name="x")
    y = gf.placeholder(gf.float64, [None], name="y")
    w = gf.Variable(np.zeros((3, 1)), name="w")
    b = gf.Variable(np.zeros(1), name="b")
    pred = gf.reshape(gf.matmul(x, w), [-1]) + b
    loss = gf.reduce_mean(gf.square(pred - y))
    step = get_or_create_global_step()
    train = GradientDescentOptimizer(learning_rate_fn(step)).minimize(loss, global_step=step)
    return x, y, w, b, train


def test_batch_and_stochastic_gradient_descent_reach_least_squares():
    data_x, data_y, solution = _regression_data()
    with gf.Graph().as_default():
        x, y, w, b, train = _regression_graph(lambda step: 0.1)
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            for _ in range(400):
                sess.run(train, {x: data_x, y: data_y})
            found = np.append(sess.run(w).ravel(), sess.run(b))
    np.testing.assert_allclose(found, solution, atol=1e-6)

    with gf.Graph().as_default():
        # mini-batches of 16 rows, visited in a new order each epoch, with a decaying rate
        x, y, w, b, train = _regression_graph(lambda step: exponential_decay(0.05, step, 300, 0.5))
        rng = np.random.default_rng(3)
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            for _ in range(140):
                order = rng.permutation(240)
                for start in range(0, 240, 16):
                    rows = order[start:start + 16]
                    sess.run(train, {x: data_x[rows], y: data_y[rows]})
            found = np.append(sess.run(w).ravel(), sess.run(b))
    np.testing.assert_allclose(found, solution, atol=2e-3)


def test_global_step_increments_after_updates():
    graph = gf.Graph()
    with graph.as_default():
        assert get_global_step() is None
        step = get_or_create_global_step()
        assert step.dtype == gf.int64 and step.op.name == "global_step" and not step.trainable
        assert get_or_create_global_step() is step and get_global_step(graph) is step
        assert step in graph.get_collection(GraphKeys.GLOBAL_STEP) and step in gf.global_variables()
        with pytest.raises(ValueError, match="already exists"):
            create_global_step()
        w = gf.Variable(np.ones(2), name="w")
        train = GradientDescentOptimizer(0.1).minimize(gf.reduce_sum(w * w), global_step=step)
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            for expected in (1, 2, 3):
                sess.run(train)
                assert sess.run(step) == expected
            np.testing.assert_allclose(sess.run(w), 0.8 ** 3 * np.ones(2))


def test_minimize_with_var_list_updates_only_those():
    graph = gf.Graph()
    with graph.as_default():
        w1, w2 = gf.Variable(np.array([1.0, 2.0]), name="w1"), gf.Variable(np.array([3.0]), name="w2")
        loss = gf.reduce_sum(w1 * w1) + gf.reduce_sum(w2 * w2)
        train = GradientDescentOptimizer(0.25).minimize(loss, var_list=[w1])
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            sess.run(train)
            np.testing.assert_allclose(sess.run(w1), [0.5, 1.0])
            np.testing.assert_allclose(sess.run(w2), [3.0])


def test_variable_without_gradient_is_skipped():
    graph = gf.Graph()
    with graph.as_default():
        used, unused = gf.Variable(np.array([2.0]), name="used"), gf.Variable(np.array([5.0]), name="unused")
        loss = gf.reduce_sum(used * used)
        opt = MomentumOptimizer(0.1, 0.5)
        grads_and_vars = opt.compute_gradients(loss, var_list=[used, unused])
        assert grads_and_vars[1] == (None, unused) and grads_and_vars[0][0] is not None
        train = opt.apply_gradients(grads_and_vars)
        assert opt.get_slot(unused, "momentum") is None
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            sess.run(train)
            np.testing.assert_allclose(sess.run([used, unused]), [[1.6], [5.0]])
        with pytest.raises(ValueError, match=r"No gradients provided for any variable.*unused"):
            opt.apply_gradients([(None, unused)])
        with pytest.raises(ValueError, match=r"No gradients provided for any variable.*unused"):
            opt.minimize(gf.constant(1.0, gf.float64) + 0 * gf.stop_gradient(unused.value()), var_list=[unused])


def test_learning_rate_tensor_and_callable():
    graph = gf.Graph()
    with graph.as_default():
        w = gf.Variable(np.array([1.0]), name="w")
        rate = gf.placeholder(gf.float32, [], name="rate")
        train = GradientDescentOptimizer(rate).minimize(gf.reduce_sum(w * w))
        train2 = GradientDescentOptimizer(lambda: 0.25).minimize(gf.reduce_sum(w * w))
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            sess.run(train, {rate: 0.5})
            np.testing.assert_allclose(sess.run(w), [0.0])
            w.load(np.array([2.0]), sess)
            sess.run(train2)
            np.testing.assert_allclose(sess.run(w), [1.0])


def test_errors_name_the_problem():
    graph = gf.Graph()
    with graph.as_default():
        w = gf.Variable(np.ones(2), name="w")
        counter = gf.Variable(np.int32(0), name="counter", trainable=False)
        opt = GradientDescentOptimizer(0.1)
        with pytest.raises(ValueError, match="No variables to optimize"):
            opt.compute_gradients(gf.reduce_sum(w * w), var_list=[])
        with pytest.raises(ValueError, match="No variables provided"):
            opt.apply_gradients([])
        with pytest.raises(ValueError, match="shape"):
            opt.apply_gradients([(gf.constant(np.ones(3)), w)])
        with pytest.raises(ValueError, match="Invalid type int32 for counter"):
            opt.compute_gradients(gf.reduce_sum(w * w), var_list=[w, counter])
        with pytest.raises(ValueError, match="Invalid type int32"):
            opt.compute_gradients(gf.cast(gf.reduce_sum(w), gf.int32))
        with pytest.raises(ValueError, match="initial_accumulator_value"):
            AdagradOptimizer(0.1, initial_accumulator_value=0.0)
        accum = gf.Variable(np.ones(3), name="accum")
        with pytest.raises(ValueError, match=r"ApplyMomentum: accum .*shape \(3,\).*w"):
            training_ops.apply_momentum(w, accum, 0.1, np.ones(2), 0.9)
        with pytest.raises(TypeError, match="must be a variable"):
            training_ops.apply_momentum(w, gf.constant(np.ones(2)), 0.1, np.ones(2), 0.9)


def test_update_op_reads_uninitialized_slot_clearly():
    graph = gf.Graph()
    with graph.as_default():
        w = gf.Variable(np.ones(2), name="w")
        train = MomentumOptimizer(0.1, 0.9).minimize(gf.reduce_sum(w * w))
        with gf.Session() as sess:
            sess.run(w.initializer)
            with pytest.raises(gf.errors.FailedPreconditionError, match="w/Momentum"):
                sess.run(train)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("use_nesterov", [False, True])
def test_apply_adam_on_a_variable_larger_than_one_update_chunk(use_nesterov, threads, monkeypatch):
    from graphflow.backends import intra_op
    from graphflow.ops import training_ops
    monkeypatch.setattr(intra_op._POOL, "_requested", threads)
    # with three threads: three parts updated at once, each in passes of 5,000 elements with a ragged last one
    monkeypatch.setattr(training_ops.ApplyAdam, "parallel_size", 10_000)
    monkeypatch.setattr(training_ops.ApplyAdam, "parallel_chunk", 5_000)
    size = training_ops.ApplyAdam.chunk * 2 + 123  # crosses chunk boundaries, with a ragged last chunk
    rng = np.random.default_rng(5)
    w0, g = rng.standard_normal(size), rng.standard_normal(size)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    graph = gf.Graph()
    with graph.as_default():
        w = gf.Variable(w0, name="w")
        m = gf.Variable(np.zeros(size), name="m")
        v = gf.Variable(np.zeros(size), name="v")
        grad = gf.placeholder(gf.float64, [size])
        update = training_ops.apply_adam(w, m, v, b1, b2, lr, b1, b2, eps, grad, use_nesterov=use_nesterov)
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            sess.run(update, {grad: g})
            got_w, got_m, got_v = sess.run([w, m, v])
    m_ref = (1 - b1) * g
    v_ref = (1 - b2) * g * g
    alpha = lr * np.sqrt(1 - b2) / (1 - b1)
    numerator = b1 * m_ref + (1 - b1) * g if use_nesterov else m_ref
    np.testing.assert_allclose(got_m, m_ref, rtol=1e-12)
    np.testing.assert_allclose(got_v, v_ref, rtol=1e-12)
    np.testing.assert_allclose(got_w, w0 - alpha * numerator / (np.sqrt(v_ref) + eps), rtol=1e-12)
