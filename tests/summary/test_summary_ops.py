"""Summary ops: serialized Summary contents, TF's histogram buckets, PNG encoding, error paths."""
import struct
import sys
import zlib

import numpy as np
import pytest

import graphflow as gf
from graphflow.framework import errors
from graphflow.proto import summary_pb2

DBL_MAX = sys.float_info.max


def run_summary(build, feed=None):
    graph = gf.Graph()
    with graph.as_default():
        out, feeds = build()
        with gf.Session(graph=graph) as sess:
            blob = sess.run(out, {feeds[k]: v for k, v in (feed or {}).items()})
    return summary_pb2.Summary.FromString(np.asarray(blob, dtype=object).item()), out


def tf_default_limits():
    """Rebuilt here from TF's description: 1e-12 growing by 10% below 1e20, mirrored, 0 and ±DBL_MAX added."""
    positive, v = [], 1e-12
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    return [-DBL_MAX] + [-x for x in reversed(positive)] + [0.0] + positive + [DBL_MAX]


def decode_png(data: bytes) -> np.ndarray:
    """A small independent PNG decoder (8-bit, non-interlaced, all five scanline filters)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and interlace == 0
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[color_type]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], [0] * stride
    for y in range(height):
        kind, line = raw[y * (stride + 1)], list(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, up_left = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return np.array(rows, dtype=np.uint8).reshape(height, width, channels)


def test_scalar_tag_follows_name_scopes_and_family():
    def build():
        x = gf.placeholder(gf.float32, [], name="x")
        with gf.name_scope("train"):
            a = gf.summary.scalar("loss", x * 2.0)
        b = gf.summary.scalar("acc", x, family="metrics")
        return gf.summary.merge([a, b]), {"x": x}

    summary, out = run_summary(build, {"x": 1.25})
    # TF1's summary_scope names the scope family/name and prefixes the tag with the family again
    assert [(v.tag, v.simple_value) for v in summary.value] == [("train/loss", 2.5), ("metrics/metrics/acc", 1.25)]
    assert out.op.type == "MergeSummary"
    assert out.graph.get_operation_by_name("train/loss").type == "ScalarSummary"


def test_summary_ops_join_the_summaries_collection_and_merge_all():
    graph = gf.Graph()
    with graph.as_default():
        s1 = gf.summary.scalar("a", 1.0)
        s2 = gf.summary.histogram("b", [1.0, 2.0])
        gf.summary.scalar("c", 3.0, collections=["other"])
        assert graph.get_collection(gf.GraphKeys.SUMMARIES) == [s1, s2]
        merged = gf.summary.merge_all()
        assert gf.summary.merge_all("empty") is None
        with gf.Session() as sess:
            summary = summary_pb2.Summary.FromString(sess.run(merged).item())
    assert [v.tag for v in summary.value] == ["a", "b"]
    assert s1.dtype == gf.string and s1.shape.rank == 0


def test_histogram_buckets_match_numpy_counts_over_tf_limits():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 3, 500), [0.0, 0.0, -1e-13, 5e-13, 1.0]]).astype(np.float32)

    def build():
        x = gf.placeholder(gf.float32, [None], name="x")
        return gf.summary.histogram("h", x), {"x": x}

    summary, _ = run_summary(build, {"x": values})
    histo = summary.value[0].histo
    v64 = values.astype(np.float64)
    assert (histo.min, histo.max, histo.num) == (v64.min(), v64.max(), v64.size)
    assert histo.sum == pytest.approx(v64.sum(), rel=1e-12)
    assert histo.sum_squares == pytest.approx(np.sum(v64 ** 2), rel=1e-12)
    limits = tf_default_limits()
    assert set(histo.bucket_limit) <= set(limits) and histo.bucket_limit[-1] == DBL_MAX
    assert sum(histo.bucket) == values.size
    lower = -np.inf
    for right, count in zip(histo.bucket_limit, histo.bucket):
        expected = np.count_nonzero((v64 >= lower) & (v64 < right))  # TF: limit[i-1] <= v < limit[i]
        assert count == expected, right
        lower = right


def test_histogram_of_zero_by_hand():
    # 0.0 lies in [0, 1e-12); the empty buckets before it collapse into one ending at 0.0, those after into DBL_MAX
    def build():
        return gf.summary.histogram("z", np.zeros(3, np.float32)), {}

    histo = run_summary(build)[0].value[0].histo
    assert list(histo.bucket_limit) == [0.0, 1e-12, DBL_MAX]
    assert list(histo.bucket) == [0.0, 3.0, 0.0]


def test_histogram_rejects_nan_at_run_time():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, [None], name="x")
        h = gf.summary.histogram("weights", x)
        with gf.Session() as sess, pytest.raises(errors.InvalidArgumentError, match="Nan in summary histogram for: weights"):
            sess.run(h, {x: [1.0, np.nan]})


def test_image_png_float_uint8_and_negative_normalisation():
    quarter = np.array([0.0, 0.25, 0.5, 0.75, 1.0], np.float32)
    rgb = np.stack([np.tile(quarter, (3, 1))] * 3, axis=-1)[None]  # [1, 3, 5, 3], max 1.0 → scale 255
    gray_u8 = np.arange(2 * 4 * 6, dtype=np.uint8).reshape(2, 4, 6, 1) * 5
    signed = np.array([-1.0, -0.5, 0.0, 0.5, 1.0], np.float32).reshape(1, 1, 5, 1)
    rgba = np.full((1, 2, 2, 4), 0.5, np.float32)

    def build():
        return gf.summary.merge([gf.summary.image("rgb", rgb), gf.summary.image("gray", gray_u8, max_outputs=1),
                                 gf.summary.image("signed", signed), gf.summary.image("rgba", rgba)]), {}

    summary, _ = run_summary(build)
    by_tag = {v.tag: v.image for v in summary.value}
    assert sorted(by_tag) == ["gray/image", "rgb/image/0", "rgba/image/0", "signed/image/0"]
    image = by_tag["rgb/image/0"]
    assert (image.height, image.width, image.colorspace) == (3, 5, 3)
    expected = np.array([0, 63, 127, 191, 255], np.uint8)  # truncation of v * 255
    assert np.array_equal(decode_png(image.encoded_image_string), np.broadcast_to(expected[None, :, None], (3, 5, 3)))
    assert np.array_equal(decode_png(by_tag["gray/image"].encoded_image_string), gray_u8[0])
    # negative values: v * 127/max|v| + 128, truncated
    assert decode_png(by_tag["signed/image/0"].encoded_image_string).ravel().tolist() == [1, 64, 128, 191, 255]
    # all 0.5: scaled by 255/0.5
    assert by_tag["rgba/image/0"].colorspace == 4
    assert np.all(decode_png(by_tag["rgba/image/0"].encoded_image_string) == 255)


def test_image_max_outputs_and_bad_shapes():
    batch = np.zeros((5, 2, 2, 3), np.uint8)

    def build():
        return gf.summary.image("im", batch, max_outputs=2), {}

    assert [v.tag for v in run_summary(build)[0].value] == ["im/image/0", "im/image/1"]
    graph = gf.Graph()
    with graph.as_default():
        with pytest.raises(ValueError, match="4-D"):
            gf.summary.image("bad", np.zeros((2, 2, 3), np.float32))
        with pytest.raises(ValueError, match="channels"):
            gf.summary.image("bad", np.zeros((1, 2, 2, 2), np.float32))
        with pytest.raises(TypeError, match="uint8 or float"):
            gf.summary.image("bad", np.zeros((1, 2, 2, 3), np.int32))


def test_text_summary_holds_strings_and_text_plugin_metadata():
    def build():
        return gf.summary.text("notes", gf.constant(["hello", "wörld"])), {}

    value = run_summary(build)[0].value[0]
    assert value.tag == "notes"
    assert value.metadata.plugin_data.plugin_name == "text"
    assert list(value.tensor.string_val) == [b"hello", "wörld".encode()]
    assert [d.size for d in value.tensor.tensor_shape.dim] == [2]


def test_build_time_errors_name_the_summary():
    graph = gf.Graph()
    with graph.as_default():
        with pytest.raises(ValueError, match="single-valued"):
            gf.summary.scalar("loss", np.zeros(3, np.float32))
        with pytest.raises(ValueError, match="string tensor"):
            gf.summary.text("t", 1.0)
        with pytest.raises(ValueError, match="at least one"):
            gf.summary.merge([])


def test_merge_rejects_duplicate_tags():
    graph = gf.Graph()
    with graph.as_default():
        a = gf.summary.scalar("x", 1.0)
        with graph.name_scope("x/"):  # reuse the scope, so the second summary gets the same tag
            b = graph.create_op("ScalarSummary", [gf.constant("x"), gf.constant(2.0)], {"T": gf.float32}).outputs[0]
        merged = gf.summary.merge([a, b])
        with gf.Session() as sess, pytest.raises(errors.InvalidArgumentError, match="Duplicate tag x"):
            sess.run(merged)


def test_image_non_finite_pixels_get_bad_color():
    pixels = np.array([[[np.nan, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, 0.0, 0.25]]], np.float32)[None]  # [1, 1, 3, 3]

    def build():
        return gf.summary.image("nan", pixels), {}

    decoded = decode_png(run_summary(build)[0].value[0].image.encoded_image_string)
    # the NaN pixel is red; the rest scale by 255 / (largest finite value = 1.0)
    assert decoded[0].tolist() == [[255, 0, 0], [127, 127, 127], [255, 0, 63]]
