"""Bundled digits, IDX reader, mini-batches and Dataset iterators."""
import gzip
import struct

import numpy as np
import pytest

import graphflow as gf
from graphflow.data import Dataset, load_digits, load_digits_arrays, minibatches, read_idx


def test_digits_are_complete_and_split_stratified():
    pixels, labels = load_digits_arrays()
    assert pixels.shape == (1797, 64) and labels.shape == (1797,)
    assert pixels.min() == 0 and pixels.max() == 16
    train, test = load_digits(test_fraction=0.2, seed=0)
    assert len(train.images) + len(test.images) == 1797
    assert train.images.shape[1:] == (8, 8, 1) and train.images.dtype == np.float32
    assert 0.0 <= train.images.min() and train.images.max() <= 1.0
    assert np.all(np.abs(np.bincount(test.labels) - 0.2 * np.bincount(labels)) <= 1)
    # the split is a partition: every image lands in exactly one side
    all_rows = np.concatenate([train.images, test.images]).reshape(-1, 64) * 16
    assert sorted(map(bytes, all_rows.astype(np.uint8))) == sorted(map(bytes, pixels))
    again, _ = load_digits(test_fraction=0.2, seed=0)
    np.testing.assert_array_equal(again.labels, train.labels)


def _write_idx(path, array, type_code=0x08, compress=False):
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    _write_idx(tmp_path / "img", images, compress=compress)
    _write_idx(tmp_path / "lab", labels, compress=compress)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "img")), images)
    x, y = gf.data.load_mnist(str(tmp_path / "img"), str(tmp_path / "lab"))
    assert x.shape == (5, 28, 28, 1) and np.allclose(x[..., 0] * 255, images)
    np.testing.assert_array_equal(y, labels)
    ints = np.array([[1, -2], [3, 40000]], dtype=np.int32)
    _write_idx(tmp_path / "ints", ints, type_code=0x0C)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "ints")), ints)


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x05")
    with pytest.raises(gf.errors.DataLossError, match="magic"):
        read_idx(str(tmp_path / "bad"))
    _write_idx(tmp_path / "short", np.arange(10, dtype=np.uint8))
    data = (tmp_path / "short").read_bytes()
    (tmp_path / "short").write_bytes(data[:-3])
    with pytest.raises(gf.errors.DataLossError, match="truncated"):
        read_idx(str(tmp_path / "short"))


def test_minibatches_cover_every_row_each_epoch():
    x = np.arange(10)
    batches = list(minibatches([x, x * 2], batch_size=4, epochs=2, seed=3))
    assert [len(b[0]) for b in batches] == [4, 4, 2, 4, 4, 2]
    for epoch in (batches[:3], batches[3:]):
        assert sorted(np.concatenate([b[0] for b in epoch])) == list(range(10))
    assert all(np.array_equal(b[1], b[0] * 2) for b in batches)
    assert [len(b[0]) for b in minibatches([x], 4, drop_remainder=True)] == [4, 4]
    again = list(minibatches([x, x * 2], batch_size=4, epochs=2, seed=3))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(batches, again))
    with pytest.raises(ValueError, match="different lengths"):
        next(minibatches([x, x[:3]], 2))


def test_dataset_pipeline_and_out_of_range():
    g = gf.Graph()
    with g.as_default():
        features = np.arange(10, dtype=np.float32)
        ds = (Dataset.from_tensor_slices((features, features.astype(np.int64)))
              .map(lambda f, l: (f * 10, l)).shuffle(10, seed=1).batch(4).repeat(2))
        x, y = ds.make_one_shot_iterator().get_next()
        assert x.dtype == gf.float32 and y.dtype == gf.int64 and x.shape.as_list() == [None]
        total = gf.reduce_sum(x)
        with gf.Session() as sess:
            seen = []
            with pytest.raises(gf.errors.OutOfRangeError):
                while True:
                    xv, yv = sess.run([x, y])
                    np.testing.assert_array_equal(xv, yv * 10)
                    seen.append(len(xv))
        assert seen == [4, 4, 2, 4, 4, 2]
        with gf.Session() as sess:  # a new Session starts from the beginning
            assert sess.run(total) > 0


def test_initializable_iterator_restarts():
    g = gf.Graph()
    with g.as_default():
        it = Dataset.from_tensor_slices(np.arange(3)).make_initializable_iterator()
        nxt = it.get_next()
        with gf.Session() as sess:
            sess.run(it.initializer)
            assert [sess.run(nxt) for _ in range(3)] == [0, 1, 2]
            with pytest.raises(gf.errors.OutOfRangeError):
                sess.run(nxt)
            sess.run(it.initializer)
            assert sess.run(nxt) == 0


def test_graph_with_an_iterator_serialises():
    g = gf.Graph()
    with g.as_default():
        x = Dataset.from_tensor_slices(np.arange(3.0)).make_one_shot_iterator().get_next()
        gf.identity(x * 2.0, name="out")
    graph_def = g.as_graph_def()
    node = next(n for n in graph_def.node if n.op == "IteratorGetNext")
    assert "_dataset" not in node.attr  # a run-time binding, not part of the wire form
    assert [n.name for n in graph_def.node][-1] == "out"


def test_seeded_shuffle_gives_every_session_the_same_order_and_reshuffles_each_epoch():
    g = gf.Graph()
    with g.as_default():
        values = np.arange(20.0)
        x = Dataset.from_tensor_slices(values).shuffle(20, seed=7).repeat(2).make_one_shot_iterator().get_next()
        orders = []
        for _ in range(2):
            with gf.Session() as sess:
                orders.append([float(sess.run(x)) for _ in range(40)])
    assert orders[0] == orders[1]
    first, second = orders[0][:20], orders[0][20:]
    assert sorted(first) == sorted(second) == list(values)
    assert first != second  # reshuffle_each_iteration=True
    reference = [float(v) for v in Dataset.from_tensor_slices(values).shuffle(20, seed=7)]
    assert reference == first  # plain Python iteration is one more fresh pass


def test_lists_are_single_tensors_and_take_minus_one_takes_all():
    assert [int(v) for v in Dataset.from_tensor_slices([1, 2, 3])] == [1, 2, 3]
    (element,) = list(Dataset.from_tensors([1, 2]))
    np.testing.assert_array_equal(element, [1, 2])
    rows = list(Dataset.from_tensor_slices(([[1, 2], [3, 4]], np.array([5, 6]))))
    np.testing.assert_array_equal(rows[1][0], [3, 4])
    assert rows[1][1] == 6
    assert [int(v) for v in Dataset.range(4).take(-1)] == [0, 1, 2, 3]
    assert list(Dataset.range(4).take(0)) == []


def test_dict_elements_through_map_and_batch_and_scalar_map_after_batch():
    g = gf.Graph()
    with g.as_default():
        ds = (Dataset.from_tensor_slices({"a": np.arange(5.0), "b": np.arange(5)})
              .map(lambda d: {"twice": d["a"] * 2, "b": d["b"]}).batch(2))
        nxt = ds.make_one_shot_iterator().get_next()
        assert sorted(nxt) == ["b", "twice"] and nxt["twice"].shape.as_list() == [None]
        sums = Dataset.from_tensor_slices(np.arange(6.0).reshape(3, 2)).batch(2).map(lambda b: b.sum())
        total = sums.make_one_shot_iterator().get_next()
        assert total.shape.as_list() == []
        with gf.Session() as sess:
            got = [sess.run(nxt) for _ in range(3)]
            assert [sess.run(total) for _ in range(2)] == [6.0, 9.0]
    np.testing.assert_array_equal(got[2]["twice"], [8.0])
    np.testing.assert_array_equal(got[1]["b"], [2, 3])
