"""Shape ops (expand_dims … boolean_mask): forward vs numpy, static shapes, numeric gradients and error paths."""
import numpy as np
import pytest

import graphflow as gf
from tests.harness import check_op, run_graph

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("shape,axis", [((3,), 0), ((2, 3), -1), ((2, 3), 1), ((2, 3, 4), -4)])
def test_expand_dims(shape, axis):
    check_op(lambda x: gf.expand_dims(x, axis), [rand(*shape)], lambda x: np.expand_dims(x, axis))


@pytest.mark.parametrize("shape,axis", [((1, 3, 1), None), ((1, 3, 1), [0]), ((2, 1, 3), -2), ((1, 1), [0, 1])])
def test_squeeze(shape, axis):
    ref_axis = tuple(axis) if isinstance(axis, list) else axis
    check_op(lambda x: gf.squeeze(x, axis), [rand(*shape)], lambda x: np.squeeze(x, ref_axis))


def test_squeeze_non_unit_dimension_is_an_error():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="Squeeze.*size is 3"):
            gf.squeeze(gf.placeholder(gf.float32, [1, 3]), [1])


@pytest.mark.parametrize("shapes,axis", [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 2)], 1), ([(2, 2), (2, 3)], -1)])
def test_concat(shapes, axis):
    arrays = [rand(*s) for s in shapes]
    check_op(lambda *xs: gf.concat(list(xs), axis), arrays, lambda *xs: np.concatenate(xs, axis))


def test_concat_errors():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="same rank"):
            gf.concat([gf.placeholder(gf.float32, [2, 3]), gf.placeholder(gf.float32, [2])], 0)
        with pytest.raises(ValueError, match="dimension 1 differs"):
            gf.concat([gf.placeholder(gf.float32, [2, 3]), gf.placeholder(gf.float32, [2, 4])], 0)
        with pytest.raises(ValueError, match="axis 2 is out of range"):
            gf.concat([gf.placeholder(gf.float32, [2, 3]), gf.placeholder(gf.float32, [2, 3])], 2)


def test_concat_with_tensor_axis_gradient():
    # a runtime axis exercises the dynamic split in the gradient
    a, b = rand(2, 3), rand(2, 2)

    def build(x, y):
        return gf.concat([x, y], gf.placeholder_with_default(np.int32(-1), []))
    check_op(build, [a, b], lambda x, y: np.concatenate([x, y], -1))


@pytest.mark.parametrize("shape,axis", [((3, 2), 0), ((2, 4, 3), 1), ((2, 3), -1)])
def test_unstack_and_stack(shape, axis):
    num = shape[axis]
    check_op(lambda x: gf.unstack(x, num, axis), [rand(*shape)], lambda x: list(np.moveaxis(x, axis, 0)))
    check_op(lambda x: gf.stack(gf.unstack(x, num, axis), axis=axis), [rand(*shape)], lambda x: x)


def test_unstack_needs_num_for_unknown_dimension():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="pass num"):
            gf.unstack(gf.placeholder(gf.float32, [None, 2]))


@pytest.mark.parametrize("shape,splits,axis", [((6, 2), 3, 0), ((2, 6), 2, -1), ((5, 2), [2, 3], 0),
                                               ((2, 7), [1, -1, 2], 1)])
def test_split(shape, splits, axis):
    def reference(x):
        points = splits if isinstance(splits, int) else np.cumsum(
            [s if s != -1 else x.shape[axis] - sum(t for t in splits if t != -1) for s in splits])[:-1]
        return np.split(x, points, axis)
    check_op(lambda x: gf.split(x, splits, axis), [rand(*shape)], reference)


def test_split_op_types():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [4, 6])
        assert gf.split(x, 2, 1)[0].op.type == "Split"
        assert gf.split(x, [2, 4], 1)[0].op.type == "SplitV"


def test_split_errors():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="not evenly divisible into 4"):
            gf.split(gf.placeholder(gf.float32, [6]), 4)
        with pytest.raises(ValueError, match="do not sum"):
            gf.split(gf.placeholder(gf.float32, [6]), [2, 3])
        x = gf.placeholder(gf.float32, [None])
        parts = gf.split(x, 4)
        with gf.Session() as sess:
            with pytest.raises(gf.errors.InvalidArgumentError, match="Split"):
                sess.run(parts, {x: np.zeros(6, np.float32)})


@pytest.mark.parametrize("shape,begin,size", [((4, 5), [1, 2], [2, 3]), ((4, 5), [0, 1], [-1, 2]),
                                              ((3, 4, 2), [1, 0, 1], [2, -1, 1])])
def test_slice(shape, begin, size):
    def reference(x):
        return x[tuple(np.s_[b:(None if s == -1 else b + s)] for b, s in zip(begin, size))]
    check_op(lambda x: gf.slice(x, begin, size), [rand(*shape)], reference)


def test_slice_with_runtime_begin():
    a = rand(4, 5)
    check_op(lambda x, b: gf.slice(x, b, [2, 2]), [a, np.array([1, 2], np.int32)], lambda x, b: x[1:3, 2:4])


def test_slice_out_of_bounds():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="out of bounds"):
            gf.slice(gf.placeholder(gf.float32, [4]), [3], [2])
        x = gf.placeholder(gf.float32, [None])
        y = gf.slice(x, [3], [2])
        with gf.Session() as sess:
            with pytest.raises(gf.errors.InvalidArgumentError, match="Slice"):
                sess.run(y, {x: np.zeros(4, np.float32)})


def test_strided_slice_masks():
    a = rand(4, 5, 6)
    # begin_mask on dim 0, shrink on dim 1, new axis at 2, end_mask on the last
    check_op(lambda x: gf.strided_slice(x, [1, 2, 0, 1], [3, 3, 0, 0], [1, 1, 1, 2], begin_mask=1, end_mask=8,
                                        new_axis_mask=4, shrink_axis_mask=2),
             [a], lambda x: x[:3, 2, None, 1::2])
    check_op(lambda x: gf.strided_slice(x, [0, -1], [0, -6], [1, -2], ellipsis_mask=1),
             [a], lambda x: x[..., -1:-6:-2])


def test_strided_slice_grad_op_directly():
    with gf.Graph().as_default():
        dy = gf.constant(np.ones((2, 2)))
        spec = [gf.constant(v) for v in ([3, 4], [0, 1], [3, 4], [2, 2])]
        dx = dy.graph.create_op("StridedSliceGrad", spec + [dy]).outputs[0]
        assert dx.shape.as_list() == [3, 4]
        expected = np.zeros((3, 4))
        expected[0:3:2, 1:4:2] = 1
        with gf.Session() as sess:
            np.testing.assert_array_equal(sess.run(dx), expected)


@pytest.mark.parametrize("axis,ishape", [(0, (4,)), (1, (2, 3)), (-1, (3,)), (0, (2, 2))])
def test_gather(axis, ishape):
    a = rand(5, 4, 3)
    idx = RNG.integers(0, a.shape[axis], size=ishape).astype(np.int32)
    idx.reshape(-1)[0] = idx.reshape(-1)[-1]  # a repeated index: its gradient contributions must add up
    check_op(lambda x, i: gf.gather(x, i, axis=axis), [a, idx], lambda x, i: np.take(x, i, axis))


def test_gather_out_of_range_is_invalid_argument():
    with gf.Graph().as_default():
        params = gf.placeholder(gf.float32, [4, 2])
        indices = gf.placeholder(gf.int32, [None])
        y = gf.gather(params, indices, name="lookup")
        with gf.Session() as sess:
            with pytest.raises(gf.errors.InvalidArgumentError, match="lookup.*5 is not in \\[0, 4\\)"):
                sess.run(y, {params: np.zeros((4, 2), np.float32), indices: np.array([0, 5], np.int32)})


def test_gather_bad_axis():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="axis 2 is out of range"):
            gf.gather(gf.placeholder(gf.float32, [4, 2]), [0], axis=2)


def test_unsorted_segment_sum_drops_negative_ids():
    data = rand(5, 2)
    ids = np.array([0, 2, -1, 2, 1], np.int32)

    def reference(d, i):
        out = np.zeros((3, 2))
        for row, j in zip(d, i):
            if j >= 0:
                out[j] += row
        return out
    check_op(lambda d, i: gf.unsorted_segment_sum(d, i, 3), [data, ids], reference)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(axis):
    idx = np.array([[0, 2], [3, 1]], np.int32)  # 3 is out of range for depth 3: an all-off row, as in TF

    def reference(i):
        hot = np.where(i[..., None] == np.arange(3), 5.0, -1.0).astype(np.float32)
        return np.moveaxis(hot, -1, axis)
    check_op(lambda i: gf.one_hot(i, 3, on_value=5.0, off_value=-1.0, axis=axis), [idx], reference)


def test_one_hot_default_dtype():
    with gf.Graph().as_default():
        assert gf.one_hot([1, 0], 2).dtype == gf.float32


def test_one_hot_dtype_follows_python_on_off_values():
    # TF1: without dtype, the dtype is that of on_value (else off_value), Python ints giving int32
    with gf.Graph().as_default():
        hot = gf.one_hot([0, 2], 3, on_value=5, off_value=-1)
        assert hot.dtype == gf.int32
        assert gf.one_hot([0], 2, off_value=0.5).dtype == gf.float32
        assert gf.one_hot([0], 2, on_value=np.float64(2.0)).dtype == gf.float64
        with gf.Session() as sess:
            out = sess.run(hot)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[5, -1, -1], [-1, -1, 5]])


@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC"])
@pytest.mark.parametrize("paddings", [[[1, 2], [0, 1]], [[2, 0], [2, 2]]])
def test_pad(mode, paddings):
    check_op(lambda x: gf.pad(x, paddings, mode), [rand(4, 3)],
             lambda x: np.pad(x, paddings, mode=mode.lower()))


def test_pad_constant_values_and_runtime_paddings():
    p = np.array([[1, 0], [0, 2]], np.int32)
    check_op(lambda x: gf.pad(x, p, constant_values=7.0), [rand(2, 3)],
             lambda x: np.pad(x, p, constant_values=7.0))
    check_op(lambda x, q: gf.pad(x, q), [rand(2, 3), p], lambda x, q: np.pad(x, q))
    check_op(lambda x, q: gf.pad(x, q, "REFLECT"), [rand(3, 3), p], lambda x, q: np.pad(x, q, mode="reflect"))


def test_mirror_pad_too_large():
    with gf.Graph().as_default():
        with pytest.raises(ValueError, match="REFLECT paddings"):
            gf.pad(gf.placeholder(gf.float32, [3]), [[3, 0]], "REFLECT")
        gf.pad(gf.placeholder(gf.float32, [3]), [[3, 0]], "SYMMETRIC")
        with pytest.raises(ValueError, match="mode must be"):
            gf.pad(gf.placeholder(gf.float32, [3]), [[1, 0]], "WRAP")


@pytest.mark.parametrize("shape,multiples", [((2, 3), [2, 1]), ((3,), [3]), ((2, 1, 2), [1, 3, 2])])
def test_tile(shape, multiples):
    check_op(lambda x: gf.tile(x, multiples), [rand(*shape)], lambda x: np.tile(x, multiples))


def test_tile_runtime_multiples():
    m = np.array([2, 3], np.int32)
    check_op(lambda x, mm: gf.tile(x, mm), [rand(2, 2), m], lambda x, mm: np.tile(x, mm))


def test_where_select_and_broadcasting():
    cond = RNG.random((3, 4)) > 0.5
    a, b = rand(3, 4), rand(3, 4)
    check_op(lambda c, x, y: gf.where(c, x, y), [cond, a, b], np.where)
    rows = np.array([True, False, True])
    check_op(lambda c, x, y: gf.where(c, x, y), [rows, a, b], lambda c, x, y: np.where(c[:, None], x, y))
    check_op(lambda c, x, y: gf.where_v2(c, x, y), [cond[:1], rand(3, 1), rand(4)], np.where)


def test_where_op_types():
    with gf.Graph().as_default():
        c = gf.placeholder(gf.bool, [3, 4])
        assert gf.where(c, gf.ones([3, 4]), gf.zeros([3, 4])).op.type == "Select"
        assert gf.where(c, gf.ones([4]), gf.zeros([3, 1])).op.type == "SelectV2"


def test_where_coordinates():
    cond = np.array([[True, False, True], [False, False, True]])
    check_op(lambda c: gf.where(c), [cond], lambda c: np.argwhere(c).astype(np.int64), grad=False)
    check_op(lambda c: gf.where(c), [np.array([0.0, 2.0, 0.0, 1.0])],
             lambda c: np.argwhere(c).astype(np.int64), grad=False)


@pytest.mark.parametrize("axis", [[0], [1], [0, -1], []])
def test_reverse(axis):
    check_op(lambda x: gf.reverse(x, axis), [rand(3, 4)], lambda x: np.flip(x, tuple(axis)))


@pytest.mark.parametrize("shape,mshape,axis", [((4, 3), (4,), None), ((2, 3, 2), (3, 2), 1), ((2, 3), (2, 3), 0)])
def test_boolean_mask(shape, mshape, axis):
    mask = np.arange(np.prod(mshape)).reshape(mshape) % 3 != 1
    a = rand(*shape)

    def reference(x, m):
        k = axis or 0
        flat = x.reshape(x.shape[:k] + (-1,) + x.shape[k + m.ndim:])
        return np.take(flat, np.flatnonzero(m), axis=k)
    check_op(lambda x: gf.boolean_mask(x, mask, axis=axis), [a], lambda x: reference(x, mask))


def test_static_shapes_with_partial_inputs():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, [None, 4, 6])
        assert gf.concat([x, x], 2).shape.as_list() == [None, 4, 12]
        assert gf.concat([x, x], 0).shape.as_list() == [None, 4, 6]
        assert gf.tile(x, [2, 1, 3]).shape.as_list() == [None, 4, 18]
        assert gf.pad(x, [[1, 1], [0, 2], [0, 0]]).shape.as_list() == [None, 6, 6]
        assert gf.gather(x, gf.placeholder(gf.int32, [7, 2]), axis=1).shape.as_list() == [None, 7, 2, 6]
        assert [t.shape.as_list() for t in gf.split(x, 3, 2)] == [[None, 4, 2]] * 3
        assert gf.slice(x, [0, 1, 2], [-1, 2, -1]).shape.as_list() == [None, 2, 4]
        assert gf.expand_dims(x, -1).shape.as_list() == [None, 4, 6, 1]
        assert gf.one_hot(gf.placeholder(gf.int32, [None]), 5).shape.as_list() == [None, 5]
        assert gf.where(x > 0).shape.as_list() == [None, 3]
        assert gf.squeeze(x).shape.rank is None
        assert gf.boolean_mask(x, gf.placeholder(gf.bool, [None, 4])).shape.as_list() == [None, 6]


def test_run_graph_unknown_shapes_keep_rank_from_attrs():
    values, tensors = run_graph(lambda x: gf.tile(x, [2, 2]), [np.ones((1, 2))], unknown_shapes=True)
    assert tensors[0].shape.rank == 2 and values[0].shape == (2, 4)
