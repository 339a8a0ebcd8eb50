"""Device placement and transfers, including the CUDA device's plumbing exercised through a stand-in for CuPy.

The stand-in computes with numpy but marks its arrays with a subclass, so the tests see which device produced
each value. Real CuPy kernels run only where a GPU exists (the op harness then compares them with the CPU).
"""
import contextlib
import types

import numpy as np
import pytest

import graphflow as gf
from graphflow.backends import device as device_module


class DeviceArray(np.ndarray):
    """An array 'on the GPU' of the stand-in."""


def _fake_cupy():
    fake = types.ModuleType("cupy")

    def asarray(value, dtype=None):
        return np.asarray(value, dtype=dtype).view(DeviceArray)

    def asnumpy(value):
        return np.asarray(value).view(np.ndarray)

    def on_device(make):
        return lambda *args, **kwargs: make(*args, **kwargs).view(DeviceArray)

    fake.__getattr__ = lambda name: getattr(np, name)  # every other xp function is numpy's
    fake.asarray, fake.asnumpy, fake.ndarray = asarray, asnumpy, DeviceArray
    for creator in ("array", "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "arange"):
        setattr(fake, creator, on_device(getattr(np, creator)))
    fake.cuda = types.SimpleNamespace(Device=lambda index: _SyncDevice(), runtime=None)
    return fake


class _SyncDevice(contextlib.nullcontext):
    def synchronize(self):
        pass


@pytest.fixture
def fake_gpu(monkeypatch):
    devices = {"/cpu:0": device_module.CPUDevice(0), "/cpu:1": device_module.CPUDevice(1),
               "/gpu:0": device_module.CUDADevice(0, _fake_cupy())}
    monkeypatch.setattr(device_module, "_DEVICES", devices)
    return devices


def test_ops_default_to_the_gpu_and_fetches_come_back_as_numpy(fake_gpu):
    g = gf.Graph()
    with g.as_default():
        x = gf.placeholder(gf.float32, [3])
        y = gf.reduce_sum(gf.square(x) * 2.0)
        with gf.Session() as sess:
            value = sess.run(y, {x: np.array([1, 2, 3], np.float32)})
            assert sess._place(y.op).name == "/gpu:0"
    assert type(value) is not DeviceArray and float(value) == 28.0


def test_variables_live_on_the_gpu(fake_gpu):
    g = gf.Graph()
    with g.as_default():
        v = gf.Variable(np.ones(4, np.float32), name="v")
        step = v.assign_add(np.full(4, 2, np.float32))
        with gf.Session() as sess:
            sess.run(v.initializer)
            sess.run(step)
            assert isinstance(sess._variables["v"], DeviceArray)
            result = sess.run(v)
    assert type(result) is np.ndarray
    np.testing.assert_array_equal(result, [3, 3, 3, 3])


def test_cpu_only_ops_stay_on_the_host_inside_a_gpu_graph(fake_gpu):
    g = gf.Graph()
    with g.as_default():
        it = gf.data.Dataset.from_tensor_slices(np.arange(3, dtype=np.float32)).make_one_shot_iterator()
        doubled = it.get_next() * 2.0
        with gf.Session() as sess:
            assert sess._place(it.get_next().op).name == "/cpu:0"
            assert sess._place(doubled.op).name == "/gpu:0"
            assert [sess.run(doubled) for _ in range(3)] == [0.0, 2.0, 4.0]


def test_explicit_cpu_placement_and_disabling_the_gpu(fake_gpu):
    g = gf.Graph()
    with g.as_default():
        x = gf.placeholder(gf.float32, [2])
        with gf.device("/cpu:0"):
            on_cpu = x + 1.0
        on_gpu = on_cpu * 3.0
        with gf.Session() as sess:
            np.testing.assert_array_equal(sess.run(on_gpu, {x: [1, 2]}), [6, 9])
            assert sess._place(on_cpu.op).name == "/cpu:0" and sess._place(on_gpu.op).name == "/gpu:0"
        with gf.Session(config=gf.ConfigProto(device_count={"GPU": 0})) as sess:
            assert sess._place(on_gpu.op).name == "/cpu:0"
            np.testing.assert_array_equal(sess.run(on_gpu, {x: [1, 2]}), [6, 9])


def test_training_step_on_the_gpu_matches_the_cpu(fake_gpu):
    def train(config):
        g = gf.Graph()
        with g.as_default():
            gf.set_random_seed(3)
            x = gf.placeholder(gf.float32, [8, 4])
            w = gf.Variable(gf.random_normal([4, 2], seed=1), name="w")
            loss = gf.reduce_mean(gf.square(gf.matmul(x, w)))
            step = gf.train.AdamOptimizer(0.1).minimize(loss)
            with gf.Session(config=config) as sess:
                sess.run(gf.global_variables_initializer())
                data = np.arange(32, dtype=np.float32).reshape(8, 4) / 32
                for _ in range(3):
                    sess.run(step, {x: data})
                return sess.run(w)
    on_gpu = train(gf.ConfigProto())
    on_cpu = train(gf.ConfigProto(device_count={"GPU": 0}))
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-6)
