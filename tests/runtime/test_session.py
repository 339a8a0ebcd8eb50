"""Session: fetch structures, feeds, plan caching, variables, errors, devices, threads, growth warning."""
import collections
import threading
import warnings

import numpy as np
import pytest

import graphflow as gf


@pytest.fixture
def graph():
    g = gf.Graph()
    with g.as_default():
        yield g


def test_fetch_structures(graph):
    a = gf.constant(1.0, name="a")
    b = gf.constant([2.0, 3.0], name="b")
    Pair = collections.namedtuple("Pair", "x y")
    with gf.Session() as sess:
        out = sess.run({"p": Pair(a, [b, (a,)]), "op": a.op, "name": "b:0"})
    assert out["p"].x == 1.0 and isinstance(out["p"], Pair)
    np.testing.assert_array_equal(out["p"].y[0], [2.0, 3.0])
    assert out["p"].y[1][0] == 1.0 and out["op"] is None
    np.testing.assert_array_equal(out["name"], [2.0, 3.0])


def test_unknown_fetch_and_feed_names(graph):
    gf.constant(1.0, name="a")
    with gf.Session() as sess:
        with pytest.raises(gf.errors.NotFoundError, match="zzz"):
            sess.run("zzz:0")
        with pytest.raises(TypeError):
            sess.run(None)
        with pytest.raises(gf.errors.NotFoundError):
            sess.run("a:0", {"nothere:0": 1.0})


def test_feed_validation(graph):
    x = gf.placeholder(gf.float32, [None, 2], name="x")
    n = gf.placeholder(gf.int32, [], name="n")
    y = x * 2.0
    with gf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [[1, 2]]}), [[2, 4]])  # lists and ints convert
        assert sess.run(y, {x: np.ones((1, 2))}).dtype == np.float32  # float64 data into float32
        with pytest.raises(gf.errors.InvalidArgumentError, match=r"shape \(3,\).*'x:0'.*\(\?, 2\)"):
            sess.run(y, {x: np.ones(3)})
        with pytest.raises(TypeError, match="int32"):
            sess.run(n + 1, {n: 1.5})
        with pytest.raises(gf.errors.InvalidArgumentError, match="do not fit"):
            sess.run(n + 1, {n: np.int64(2 ** 40)})
        with pytest.raises(gf.errors.InvalidArgumentError, match="must feed a value for placeholder tensor 'x'"):
            sess.run(y)


def test_feeding_an_intermediate_cuts_the_graph(graph):
    x = gf.placeholder(gf.float32, [], name="x")
    hidden = x * 3.0
    out = hidden + 1.0
    with gf.Session() as sess:
        assert sess.run(out, {hidden: 10.0}) == 11.0  # x need not be fed


def test_plan_is_cached_and_frees_intermediates(graph):
    x = gf.placeholder(gf.float32, [4])
    y = gf.exp(gf.sin(x) * 2.0) + 1.0
    with gf.Session() as sess:
        v = np.arange(4, dtype=np.float32)
        sess.run(y, {x: v})
        sess.run(y, {x: v})
        assert len(sess._plans) == 1
        plan = next(iter(sess._plans.values()))[0]
        assert "del " in plan.source  # dead intermediates are dropped as soon as they are used
        np.testing.assert_allclose(sess.run(y, {x: v}), np.exp(np.sin(v) * 2) + 1, rtol=1e-6)


def test_variables_live_in_sessions(graph):
    v = gf.Variable(1.0, name="v")
    inc = v.assign_add(1.0)
    init = gf.global_variables_initializer()
    s1, s2 = gf.Session(), gf.Session()
    s1.run(init)
    s2.run(init)
    s1.run(inc)
    s1.run(inc)
    assert s1.run(v) == 3.0 and s2.run(v) == 1.0
    s3 = gf.Session()
    with pytest.raises(gf.errors.FailedPreconditionError, match="uninitialized value v"):
        s3.run(v)
    assert [str(n) for n in s3.run(gf.report_uninitialized_variables())] == ["v"]


def test_fetched_variable_value_is_a_copy(graph):
    v = gf.Variable(np.zeros(3, np.float32), name="v")
    inc = gf.assign_add(v, np.ones(3, np.float32))
    with gf.Session() as sess:
        sess.run(v.initializer)
        before = sess.run(v)
        sess.run(inc)
        np.testing.assert_array_equal(before, np.zeros(3))


def test_variable_load_eval_and_initialized_value(graph):
    v = gf.Variable(np.ones(2, np.float32), name="v")
    w = gf.Variable(v.initialized_value() * 2, name="w")
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        np.testing.assert_array_equal(w.eval(), [2, 2])
        v.load([5.0, 6.0])
        np.testing.assert_array_equal(v.eval(), [5, 6])


def test_eval_and_run_need_a_default_session(graph):
    c = gf.constant(2.0)
    with pytest.raises(ValueError, match="default session"):
        c.eval()
    sess = gf.InteractiveSession()
    try:
        assert c.eval() == 2.0
        gf.no_op().run()
    finally:
        sess.close()


def test_runtime_error_names_op_inputs_and_line(graph):
    idx = gf.placeholder(gf.int32, [None])
    params = gf.placeholder(gf.float32, [None, 3])
    bad = gf.reshape(params, [-1, 4], name="bad_reshape")
    with gf.Session() as sess:
        with pytest.raises(gf.errors.InvalidArgumentError) as info:
            sess.run(bad, {params: np.ones((2, 3))})
    message = str(info.value)
    assert "bad_reshape" in message and "(2, 3)" in message and __file__ in message
    assert info.value.op is bad.op
    del idx


def test_make_callable(graph):
    x = gf.placeholder(gf.float32, [2])
    y = gf.placeholder(gf.float32, [2])
    with gf.Session() as sess:
        fn = sess.make_callable([x + y, x * y], [x, y])
        s, p = fn(np.array([1, 2], np.float32), np.array([3, 4], np.float32))
    np.testing.assert_array_equal(s, [4, 6])
    np.testing.assert_array_equal(p, [3, 8])


def test_concurrent_runs(graph):
    x = gf.placeholder(gf.float64, [100])
    y = gf.reduce_sum(gf.square(x))
    sess = gf.Session()
    errors, results = [], {}

    def worker(k):
        try:
            for _ in range(50):
                value = np.full(100, float(k))
                results[k] = sess.run(y, {x: value})
                assert results[k] == 100 * k * k
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_second_cpu_device_and_transfers(graph):
    x = gf.placeholder(gf.float32, [3])
    with gf.device("/cpu:1"):
        y = x * 2.0
    z = y + 1.0
    with gf.Session() as sess:
        np.testing.assert_array_equal(sess.run(z, {x: [1, 2, 3]}), [3, 5, 7])
        plan = next(iter(sess._plans.values()))[0]
    assert plan.source.count("put") >= 2  # into /cpu:1 and back
    assert sess._place(y.op).name == "/cpu:1" and sess._place(z.op).name == "/cpu:0"


def test_unknown_device_without_soft_placement(graph):
    with gf.device("/gpu:7"):
        y = gf.constant(1.0) + 1.0
    with gf.Session(config=gf.ConfigProto(allow_soft_placement=True)) as sess:
        assert sess.run(y) == 2.0
    with gf.Session(config=gf.ConfigProto(allow_soft_placement=False)) as sess:
        with pytest.raises(gf.errors.InvalidArgumentError, match="/gpu:7"):
            sess.run(y)


def test_graph_growth_warning(graph):
    x = gf.placeholder(gf.float32, [])
    with gf.Session() as sess:
        with pytest.warns(gf.runtime.session.GraphGrowthWarning, match="inside the training loop"):
            for _ in range(8):
                sess.run(x * 2.0, {x: 1.0})  # builds a new op every step: the classic leak
    with gf.Session() as sess:
        y = x * 2.0
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(8):
                sess.run(y, {x: 1.0})


def test_cycle_is_reported(graph):
    a = gf.constant(1.0, name="a")
    b = gf.identity(a, name="b")
    c = gf.add(b, 1.0, name="c")
    a.op._add_control_input(c.op)
    with gf.Session() as sess:
        with pytest.raises(gf.errors.InvalidArgumentError, match="cycle.*a"):
            sess.run(c)


def test_closed_session(graph):
    sess = gf.Session()
    sess.close()
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(gf.constant(1.0))


def test_random_seeds_repeat_in_new_sessions(graph):
    gf.set_random_seed(42)
    r = gf.random_normal([5])
    with gf.Session() as s1:
        a1, a2 = s1.run(r), s1.run(r)
    with gf.Session() as s2:
        b1 = s2.run(r)
    np.testing.assert_array_equal(a1, b1)
    assert not np.array_equal(a1, a2)


def test_elementwise_results_reuse_dying_buffers_without_changing_values(graph):
    rng = np.random.default_rng(0)
    x_value = rng.standard_normal((4, 3)).astype(np.float32)
    w_value = rng.standard_normal((3, 5)).astype(np.float32)
    x = gf.placeholder(gf.float32, [None, 3])
    w = gf.Variable(w_value, name="w")
    hidden = gf.matmul(x, w)                    # fresh: may be overwritten by the ops below when it dies
    activated = gf.nn.relu(hidden + 1.0)        # Add writes into hidden, Relu into the Add's result
    viewed = gf.reshape(activated, [-1])        # a view of `activated`: activated must not be overwritten
    doubled = activated * 2.0
    scaled = x * 3.0                            # x is the caller's array: never overwritten
    kept = gf.exp(hidden)                       # a fetched tensor is never overwritten by a later op
    with gf.Session() as sess:
        sess.run(w.initializer)
        fed = x_value.copy()
        out = sess.run({"act": activated, "view": viewed, "double": doubled, "scaled": scaled},
                       {x: fed})
        plan = list(sess._plans.values())[-1][0]  # the plan of the run just made
        h_value, e_value = sess.run([hidden, kept], {x: fed})
        np.testing.assert_array_equal(sess.run(w), w_value)
    expected = np.maximum(x_value @ w_value + 1, 0)
    np.testing.assert_allclose(out["act"], expected, rtol=1e-6)
    np.testing.assert_allclose(out["view"], expected.reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(out["double"], expected * 2, rtol=1e-6)
    np.testing.assert_allclose(out["scaled"], x_value * 3, rtol=1e-6)
    np.testing.assert_array_equal(fed, x_value)
    np.testing.assert_allclose(h_value, x_value @ w_value, rtol=1e-6)
    np.testing.assert_allclose(e_value, np.exp(x_value @ w_value), rtol=1e-5)
    # Add reuses hidden's buffer and Relu the Add's; Mul may not reuse `activated`, which Reshape's view shares
    assert [op.type for op in plan.in_place_ops] == ["Add", "Relu"]


@pytest.mark.parametrize("threads", [1, 3])
def test_intra_op_parallelism_threads_sets_the_pool_and_keeps_values(graph, threads):
    from graphflow.backends import intra_op
    rng = np.random.default_rng(0)
    images = rng.standard_normal((8, 12, 12, 3))
    x = gf.placeholder(gf.float64, [None, 12, 12, 3])
    w = gf.constant(rng.standard_normal((3, 3, 3, 16)))
    dense = gf.constant(rng.standard_normal((6 * 6 * 16, 700)))
    h = gf.nn.max_pool(gf.nn.relu(gf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME")), [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    y = gf.matmul(gf.reshape(h, [-1, 6 * 6 * 16]), dense)
    loss = gf.reduce_sum(y * y)
    fetches = [y] + gf.gradients(loss, [x])
    before = intra_op._POOL._requested
    try:
        with gf.Session(config=gf.ConfigProto(intra_op_parallelism_threads=1)) as sess:
            serial = sess.run(fetches, {x: images})
        with gf.Session(config=gf.ConfigProto(intra_op_parallelism_threads=threads)) as sess:
            assert intra_op.intra_op_threads() == threads
            shared = sess.run(fetches, {x: images})
    finally:
        intra_op.set_intra_op_threads(before)
    for a, b in zip(serial, shared):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_a_negative_intra_op_thread_count_is_refused(graph):
    with pytest.raises(ValueError, match="intra-op thread count"):
        gf.Session(config=gf.ConfigProto(intra_op_parallelism_threads=-2))
