"""TF1 conveniences: py_func, Print, tf.logging, GPUOptions, tf.random, nn.xw_plus_b/zero_fraction, linspace, meshgrid."""
import logging

import numpy as np
import pytest

import graphflow as gf
from tests.harness import check_op


@pytest.fixture
def graph():
    g = gf.Graph()
    with g.as_default():
        yield g


def test_py_func_runs_python_on_arrays(graph):
    x = gf.placeholder(gf.float32, [3])
    doubled, count = gf.py_func(lambda a: (a * 2, np.int64(a.size)), [x], [gf.float32, gf.int64])
    assert doubled.dtype == gf.float32 and count.dtype == gf.int64 and doubled.shape.rank is None
    total = gf.reduce_sum(gf.py_func(np.sort, [x], gf.float32) * 1.0)
    with gf.Session() as sess:
        d, c, t = sess.run([doubled, count, total], {x: [3.0, 1.0, 2.0]})
    np.testing.assert_array_equal(d, [6.0, 2.0, 4.0])
    assert c == 3 and t == 6.0
    assert "_func" not in {k for n in graph.as_graph_def().node for k in n.attr}  # never serialised


def test_py_func_errors_name_the_op(graph):
    x = gf.placeholder(gf.float32, [2])
    wrong_count = gf.py_func(lambda a: (a, a), [x], gf.float32, name="two_results")
    wrong_dtype = gf.py_func(lambda a: a.astype(np.float64), [x], gf.int32, name="floats_as_ints")
    with gf.Session() as sess:
        with pytest.raises(gf.errors.InvalidArgumentError, match="returned 2 value"):
            sess.run(wrong_count, {x: [1, 2]})
        with pytest.raises(gf.errors.InvalidArgumentError, match="int32") as info:
            sess.run(wrong_dtype, {x: [1, 2]})
    assert info.value.op.name == "floats_as_ints"


def test_print_passes_its_input_and_writes_stderr(graph, capsys):
    x = gf.placeholder(gf.float32, [4])
    y = gf.Print(x * 2.0, [x, gf.reduce_sum(x)], message="values: ", first_n=2, summarize=2)
    grad = gf.gradients(gf.reduce_sum(y), x)[0]
    with gf.Session() as sess:
        for _ in range(3):
            out, g = sess.run([y, grad], {x: [1, 2, 3, 4]})
    np.testing.assert_array_equal(out, [2, 4, 6, 8])
    np.testing.assert_array_equal(g, [2, 2, 2, 2])
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["values: [1.0 2.0...][10.0]"] * 2  # first_n=2 of the three runs


def test_logging_and_config_objects():
    gf.logging.set_verbosity(gf.logging.WARN)
    assert gf.logging.get_verbosity() == logging.WARNING
    config = gf.ConfigProto(gpu_options=gf.GPUOptions(allow_growth=True), intra_op_parallelism_threads=2)
    assert config.gpu_options.allow_growth and config.intra_op_parallelism_threads == 2
    with gf.Session(graph=gf.Graph(), config=config) as sess:
        assert "/cpu:0" in sess.list_devices()


def test_random_namespace_matches_the_tf1_names():
    def sample(build):
        g = gf.Graph()
        with g.as_default():
            gf.random.set_random_seed(5)
            value = build()
            with gf.Session() as sess:
                return sess.run(value)
    np.testing.assert_array_equal(sample(lambda: gf.random.normal([3], seed=2)),
                                  sample(lambda: gf.random_normal([3], seed=2)))
    np.testing.assert_array_equal(sample(lambda: gf.random.uniform([3], seed=2)),
                                  sample(lambda: gf.random_uniform([3], seed=2)))


def test_xw_plus_b_and_zero_fraction():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    check_op(lambda a, c, d: gf.nn.xw_plus_b(a, c, d), [x, w, b], lambda a, c, d: a @ c + d, rtol=1e-10)
    values = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, 0.0]])
    check_op(gf.nn.zero_fraction, [values], lambda v: np.float32(np.mean(v == 0)), grad=False)


def test_linspace_and_meshgrid_match_numpy():
    check_op(lambda a, b: gf.linspace(a, b, 7), [np.float64(-1.0), np.float64(2.0)],
             lambda a, b: np.linspace(a, b, 7), grad=False)
    xs, ys = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0])
    for indexing in ("xy", "ij"):
        check_op(lambda a, b: gf.meshgrid(a, b, indexing=indexing), [xs, ys],
                 lambda a, b: np.meshgrid(a, b, indexing=indexing))
    g = gf.Graph()
    with g.as_default():
        with pytest.raises(ValueError, match="indexing"):
            gf.meshgrid([1.0], [2.0], indexing="yx")
        with pytest.raises(TypeError, match="float"):
            gf.linspace(gf.constant(0), gf.constant(3), 4)
