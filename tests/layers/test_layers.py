"""gf.layers: values against numpy, TF1 variable names and reuse, batch-norm updates, dropout, conv and pooling."""
import numpy as np
import pytest

import graphflow as gf


@pytest.fixture(autouse=True)
def fresh_default_graph():
    gf.reset_default_graph()


def _init_and_run(fetches, feed=None):
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_dense_matches_numpy_and_names_variables():
    x = gf.placeholder(gf.float32, [None, 4])
    y = gf.layers.dense(x, 3, activation=gf.nn.relu, bias_initializer=gf.initializers.constant(0.5))
    names = [v.op.name for v in gf.trainable_variables()]
    assert names == ["dense/kernel", "dense/bias"]
    kernel = gf.trainable_variables()[0]
    xv = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    out, k = _init_and_run([y, kernel], {x: xv})
    np.testing.assert_allclose(out, np.maximum(xv @ k + 0.5, 0), rtol=1e-5, atol=1e-6)


def test_dense_reuse_and_unique_default_names():
    x = gf.placeholder(gf.float32, [2, 4])
    a = gf.layers.dense(x, 3, name="fc")
    b = gf.layers.dense(x, 3, name="fc", reuse=True)
    gf.layers.dense(x, 2)
    gf.layers.dense(x, 2)
    assert [v.op.name for v in gf.global_variables()] == [
        "fc/kernel", "fc/bias", "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
    av, bv = _init_and_run([a, b], {x: np.ones((2, 4), np.float32)})
    np.testing.assert_array_equal(av, bv)
    with pytest.raises(ValueError, match="already exists"):
        gf.layers.dense(x, 3, name="fc")


def test_dense_rank3_contracts_last_axis_and_regularizes():
    x = gf.constant(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    y = gf.layers.dense(x, 5, use_bias=False, kernel_initializer=gf.initializers.ones(),
                        kernel_regularizer=lambda w: gf.reduce_sum(w))
    assert y.shape.as_list() == [2, 3, 5]
    out, reg = _init_and_run([y, gf.losses.get_regularization_loss()])
    np.testing.assert_allclose(out, np.repeat(np.arange(24).reshape(2, 3, 4).sum(-1, keepdims=True), 5, -1))
    assert reg == 20.0


def test_dense_needs_known_last_dimension():
    with pytest.raises(ValueError, match="last dimension"):
        gf.layers.dense(gf.placeholder(gf.float32, [None, None]), 3)


def test_flatten():
    x = gf.placeholder(gf.float32, [None, 2, 3, 4])
    y = gf.layers.flatten(x)
    assert y.shape.as_list() == [None, 24]
    xv = np.arange(48, dtype=np.float32).reshape(2, 2, 3, 4)
    np.testing.assert_array_equal(_init_and_run(y, {x: xv}), xv.reshape(2, 24))


def test_dropout_python_bool_and_tensor_flag():
    x = gf.constant(np.ones((200, 50), np.float32))
    flag = gf.placeholder_with_default(False, [])
    off = gf.layers.dropout(x, rate=0.5, training=False)
    on = gf.layers.dropout(x, rate=0.25, training=True, seed=1)
    switched = gf.layers.dropout(x, rate=0.5, training=flag, seed=2)
    with gf.Session() as sess:
        np.testing.assert_array_equal(sess.run(off), np.ones((200, 50)))
        dropped = sess.run(on)
        assert set(np.unique(dropped)) <= {0.0, np.float32(1 / 0.75)}
        assert abs((dropped == 0).mean() - 0.25) < 0.03
        np.testing.assert_array_equal(sess.run(switched), np.ones((200, 50)))
        train = sess.run(switched, {flag: True})
        assert set(np.unique(train)) == {0.0, 2.0}


def _batch_norm_reference(x, gamma, beta, mean, var, eps):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def test_batch_normalization_training_and_updates():
    rng = np.random.default_rng(1)
    xv = rng.standard_normal((8, 3)).astype(np.float32) * 2 + 1
    x = gf.placeholder(gf.float32, [None, 3])
    y = gf.layers.batch_normalization(x, momentum=0.9, training=True,
                                      gamma_initializer=gf.initializers.constant(2.0),
                                      beta_initializer=gf.initializers.constant(0.5))
    names = sorted(v.op.name for v in gf.global_variables())
    assert names == ["batch_normalization/beta", "batch_normalization/gamma", "batch_normalization/moving_mean",
                     "batch_normalization/moving_variance"]
    assert len(gf.trainable_variables()) == 2
    updates = gf.get_collection(gf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    moving_mean, moving_var = gf.global_variables()[2:]
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        out = sess.run(y, {x: xv})
        sess.run(updates, {x: xv})
        mm, mv = sess.run([moving_mean, moving_var])
    np.testing.assert_allclose(out, _batch_norm_reference(xv, 2.0, 0.5, xv.mean(0), xv.var(0), 1e-3), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(mm, 0.1 * xv.mean(0), rtol=1e-5)
    np.testing.assert_allclose(mv, 0.9 + 0.1 * xv.var(0), rtol=1e-5)


@pytest.mark.parametrize("axis, fused, bessel", [(-1, None, True), (1, None, True), (-1, True, True),
                                                 (-1, False, False), (2, None, False)])
def test_batch_normalization_4d_moving_variance_bessel_as_tf1_fused(axis, fused, bessel):
    # TF1 picks the fused kernel for 4-D inputs normalised over axis 1 or 3 (fused=None or True); its moving
    # variance then takes the unbiased batch variance (n / (n - 1)), while the output uses the biased one
    xv = np.random.default_rng(3).standard_normal((2, 3, 3, 3)).astype(np.float32) * 2 + 1
    y = gf.layers.batch_normalization(gf.constant(xv), axis=axis, momentum=0.0, training=True, fused=fused)
    moving_var = [v for v in gf.global_variables() if "moving_variance" in v.name][0]
    with gf.control_dependencies(gf.get_collection(gf.GraphKeys.UPDATE_OPS)):
        y = gf.identity(y)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        out = sess.run(y)
        mv = sess.run(moving_var)
    reduce_axes = tuple(i for i in range(4) if i != axis % 4)
    shape = [3 if i == axis % 4 else 1 for i in range(4)]
    biased = xv.var(reduce_axes)
    n = xv.size // 3
    np.testing.assert_allclose(mv, biased * n / (n - 1) if bessel else biased, rtol=1e-5)
    np.testing.assert_allclose(out, _batch_norm_reference(xv, 1.0, 0.0, xv.mean(reduce_axes).reshape(shape),
                                                          biased.reshape(shape), 1e-3), rtol=1e-4, atol=1e-5)


def test_batch_normalization_inference_uses_moving_statistics_nchw():
    xv = np.random.default_rng(2).standard_normal((2, 3, 4, 4)).astype(np.float32)
    y = gf.layers.batch_normalization(gf.constant(xv), axis=1, training=False,
                                      moving_mean_initializer=gf.initializers.constant([1.0, 2.0, 3.0]),
                                      moving_variance_initializer=gf.initializers.constant([4.0, 1.0, 0.25]))
    assert gf.get_collection(gf.GraphKeys.UPDATE_OPS) == []
    mean = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    var = np.array([4.0, 1.0, 0.25]).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(_init_and_run(y), _batch_norm_reference(xv, 1.0, 0.0, mean, var, 1e-3), rtol=1e-5)


def test_batch_normalization_tensor_flag_freezes_moving_stats_when_false():
    xv = np.arange(12, dtype=np.float32).reshape(4, 3)
    x = gf.constant(xv)
    flag = gf.placeholder(gf.bool, [])
    y = gf.layers.batch_normalization(x, training=flag)
    updates = gf.get_collection(gf.GraphKeys.UPDATE_OPS)
    moving_mean = [v for v in gf.global_variables() if "moving_mean" in v.name][0]
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        inference = sess.run(y, {flag: False})
        sess.run(updates, {flag: False})
        assert sess.run(moving_mean).tolist() == [0.0, 0.0, 0.0]
        training = sess.run(y, {flag: True})
        sess.run(updates, {flag: True})
        np.testing.assert_allclose(sess.run(moving_mean), 0.01 * xv.mean(0), rtol=1e-5)
    np.testing.assert_allclose(inference, xv / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_allclose(training, (xv - xv.mean(0)) / np.sqrt(xv.var(0) + 1e-3), rtol=1e-4, atol=1e-5)


# --- convolution and pooling: these need gf.nn.conv2d / max_pool / avg_pool and fail (not skip) without them ----------
def _conv_reference(x, w, stride, padding):
    kh, kw = w.shape[:2]
    if padding == "same":
        out_h, out_w = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
        pad_h = max((out_h - 1) * stride + kh - x.shape[1], 0)
        pad_w = max((out_w - 1) * stride + kw - x.shape[2], 0)
        x = np.pad(x, [(0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)])
    out_h = (x.shape[1] - kh) // stride + 1
    out_w = (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_w, w.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


@pytest.mark.parametrize("stride, padding", [(1, "valid"), (2, "same")])
def test_conv2d_matches_numpy(stride, padding):
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    x = gf.constant(xv)
    y = gf.layers.conv2d(x, filters=4, kernel_size=3, strides=stride, padding=padding, activation=gf.nn.relu,
                         bias_initializer=gf.initializers.constant(0.1))
    assert [v.op.name for v in gf.trainable_variables()] == ["conv2d/kernel", "conv2d/bias"]
    out, kernel = _init_and_run([y, gf.trainable_variables()[0]])
    assert kernel.shape == (3, 3, 3, 4)
    np.testing.assert_allclose(out, np.maximum(_conv_reference(xv, kernel, stride, padding) + 0.1, 0), rtol=1e-4,
                               atol=1e-5)


def _pool_reference(x, size, stride, reduce):
    out_h = (x.shape[1] - size) // stride + 1
    out_w = (x.shape[2] - size) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            out[:, i, j, :] = reduce(x[:, i * stride:i * stride + size, j * stride:j * stride + size, :], axis=(1, 2))
    return out


def test_max_and_average_pooling2d_match_numpy():
    xv = np.random.default_rng(4).standard_normal((2, 6, 7, 3)).astype(np.float32)
    x = gf.constant(xv)
    mx = gf.layers.max_pooling2d(x, pool_size=2, strides=2)
    av = gf.layers.average_pooling2d(x, pool_size=3, strides=1)
    out_max, out_avg = _init_and_run([mx, av])
    np.testing.assert_allclose(out_max, _pool_reference(xv, 2, 2, np.max), rtol=1e-6)
    np.testing.assert_allclose(out_avg, _pool_reference(xv, 3, 1, np.mean), rtol=1e-5, atol=1e-6)


def test_layer_argument_errors():
    x = gf.placeholder(gf.float32, [1, 4, 4, 2])
    with pytest.raises(ValueError, match="padding"):
        gf.layers.max_pooling2d(x, 2, 2, padding="full")
    with pytest.raises(ValueError, match="kernel_size"):
        gf.layers.conv2d(x, 3, kernel_size=(1, 2, 3))
    with pytest.raises(ValueError, match="4-D"):
        gf.layers.conv2d(gf.placeholder(gf.float32, [4, 2]), 3, 2)


@pytest.mark.parametrize("padding, strides", [("same", 2), ("valid", 2), ("valid", 1)])
def test_conv2d_transpose_is_the_adjoint_of_conv2d_with_its_kernel(padding, strides):
    rng = np.random.default_rng(7)
    x_value = rng.standard_normal((2, 4, 5, 3))
    g = gf.Graph()
    with g.as_default():
        x = gf.placeholder(gf.float64, [None, 4, 5, 3])
        y = gf.layers.conv2d_transpose(x, filters=6, kernel_size=3, strides=strides, padding=padding,
                                       use_bias=False, name="up")
        kernel = g.get_tensor_by_name("up/kernel:0")
        expected_hw = ((4 * strides, 5 * strides) if padding == "same" else
                       ((4 - 1) * strides + 3, (5 - 1) * strides + 3))
        assert y.shape.as_list() == [None, *expected_hw, 6]
        probe = gf.placeholder(gf.float64, [2, *expected_hw, 6])
        back = gf.nn.conv2d(probe, kernel, [1, strides, strides, 1], padding.upper())
        with gf.Session() as sess:
            sess.run(gf.global_variables_initializer())
            y_value = sess.run(y, {x: x_value})
            probe_value = rng.standard_normal(y_value.shape)
            back_value = sess.run(back, {probe: probe_value})
    assert y_value.shape == (2, *expected_hw, 6)
    # <conv2d_transpose(x), p> == <x, conv2d(p)>: the defining property of the transpose
    np.testing.assert_allclose(np.sum(y_value * probe_value), np.sum(x_value * back_value), rtol=1e-10)
