"""Property tests: static shape inference of concat/stack/tile/pad/transpose/reshape equals numpy's result shape."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import graphflow as gf

SETTINGS = settings(max_examples=40, deadline=None)
shapes = st.lists(st.integers(0, 4), min_size=1, max_size=4)


def _static_and_actual(build, arrays, partial):
    """Static shape of build(placeholders) (inputs with some dims unknown when `partial`) and the computed value."""
    with gf.Graph().as_default():
        placeholders = [gf.placeholder(gf.float32, [None] + list(a.shape[1:]) if partial else a.shape)
                        for a in arrays]
        out = build(*placeholders)
        with gf.Session() as sess:
            value = sess.run(out, dict(zip(placeholders, arrays)))
    return out.shape, value


def _check(static, value, expected):
    assert value.shape == expected.shape
    np.testing.assert_array_equal(value, expected)
    assert static.matches(expected.shape), f"static {static} vs numpy {expected.shape}"


@SETTINGS
@given(shape=shapes, data=st.data(), partial=st.booleans())
def test_concat(shape, data, partial):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    arrays = []
    for n in sizes:
        s = list(shape)
        s[axis] = n
        arrays.append(np.random.default_rng(n).standard_normal(s).astype(np.float32))
    static, value = _static_and_actual(lambda *xs: gf.concat(list(xs), axis), arrays, partial)
    _check(static, value, np.concatenate(arrays, axis))
    if not partial and len(arrays) > 1:
        assert static.is_fully_defined()


@SETTINGS
@given(shape=shapes, n=st.integers(1, 3), data=st.data(), partial=st.booleans())
def test_stack(shape, n, data, partial):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [np.full(shape, i, np.float32) for i in range(n)]
    static, value = _static_and_actual(lambda *xs: gf.stack(list(xs), axis), arrays, partial)
    _check(static, value, np.stack(arrays, axis))


@SETTINGS
@given(shape=shapes, data=st.data(), partial=st.booleans())
def test_tile(shape, data, partial):
    multiples = data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape)))
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    static, value = _static_and_actual(lambda x: gf.tile(x, multiples), [a], partial)
    _check(static, value, np.tile(a, multiples))
    if not partial:
        assert static.as_list() == list(np.tile(a, multiples).shape)


@SETTINGS
@given(shape=shapes, data=st.data(), partial=st.booleans(), mode=st.sampled_from(["CONSTANT", "SYMMETRIC"]))
def test_pad(shape, data, partial, mode):
    limit = 3 if mode == "CONSTANT" else min(shape)
    paddings = data.draw(st.lists(st.tuples(st.integers(0, limit), st.integers(0, limit)),
                                  min_size=len(shape), max_size=len(shape)))
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    static, value = _static_and_actual(lambda x: gf.pad(x, [list(p) for p in paddings], mode), [a], partial)
    _check(static, value, np.pad(a, paddings, mode=mode.lower()))


@SETTINGS
@given(shape=shapes, data=st.data(), partial=st.booleans())
def test_transpose(shape, data, partial):
    perm = data.draw(st.permutations(range(len(shape))))
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    static, value = _static_and_actual(lambda x: gf.transpose(x, perm), [a], partial)
    _check(static, value, np.transpose(a, perm))


@SETTINGS
@given(shape=shapes, data=st.data())
def test_reshape(shape, data):
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    target = list(data.draw(st.permutations(shape)))
    if data.draw(st.booleans()) and a.size:
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    static, value = _static_and_actual(lambda x: gf.reshape(x, target), [a], False)
    _check(static, value, a.reshape(target))
    assert static.as_list() == list(a.reshape(target).shape)
