"""Property tests (hypothesis) for TensorShape broadcasting, merging and compatibility against numpy."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphflow.framework.shapes import TensorShape, broadcast_shapes

# per-test settings, so this module leaves hypothesis' global profile alone; no example database in the repo
PROPERTY = settings(max_examples=150, deadline=None, database=None)

dims = st.integers(min_value=0, max_value=5)
concrete_shapes = st.lists(dims, max_size=5).map(tuple)
partial_dims = st.one_of(st.none(), dims)
partial_shapes = st.one_of(st.none(), st.lists(partial_dims, max_size=4)).map(TensorShape)


def _numpy_broadcast(a, b):
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


@st.composite
def broadcastable_pair(draw):
    """Two concrete shapes that broadcast: each is a suffix of the result with some dims replaced by 1."""
    result = draw(st.lists(st.integers(min_value=0, max_value=4), max_size=5))

    def operand():
        rank = draw(st.integers(min_value=0, max_value=len(result)))
        tail = result[len(result) - rank:]
        return tuple(1 if draw(st.booleans()) else d for d in tail)
    return operand(), operand()


def _mask(shape, hide):
    return TensorShape([None if h else d for d, h in zip(shape, hide)])


@PROPERTY
@given(concrete_shapes, concrete_shapes)
def test_broadcast_agrees_with_numpy_on_known_shapes(a, b):
    expected = _numpy_broadcast(a, b)
    if expected is None:
        with pytest.raises(ValueError, match="broadcast"):
            broadcast_shapes(a, b)
    else:
        result = broadcast_shapes(a, b)
        assert result.is_fully_defined()
        assert tuple(result.as_list()) == expected


@PROPERTY
@given(broadcastable_pair())
def test_broadcast_of_broadcastable_pairs_matches_numpy(pair):
    a, b = pair
    assert tuple(broadcast_shapes(a, b).as_list()) == np.broadcast_shapes(a, b)
    assert broadcast_shapes(a, b) == broadcast_shapes(b, a)


@PROPERTY
@given(broadcastable_pair(), st.data())
def test_unknown_dims_give_a_result_compatible_with_every_completion(pair, data):
    a, b = pair
    hide_a = data.draw(st.lists(st.booleans(), min_size=len(a), max_size=len(a)))
    hide_b = data.draw(st.lists(st.booleans(), min_size=len(b), max_size=len(b)))
    partial = broadcast_shapes(_mask(a, hide_a), _mask(b, hide_b))
    # (a, b) is one completion of the masked pair; the static result must admit its true broadcast
    assert partial.is_compatible_with(np.broadcast_shapes(a, b))
    assert partial.rank == max(len(a), len(b))
    assert partial.matches(np.broadcast_shapes(a, b))


@PROPERTY
@given(concrete_shapes)
def test_unknown_rank_broadcasts_to_unknown_rank(a):
    assert broadcast_shapes(TensorShape(None), a).rank is None
    assert broadcast_shapes(a, TensorShape(None)).rank is None


@PROPERTY
@given(partial_shapes)
def test_compatibility_is_reflexive_and_merge_idempotent(a):
    assert a.is_compatible_with(a)
    assert a.merge_with(a) == a
    assert a.is_compatible_with(TensorShape(None))
    assert a.merge_with(TensorShape(None)) == a
    assert TensorShape(None).merge_with(a) == a


@PROPERTY
@given(partial_shapes, partial_shapes)
def test_merge_laws(a, b):
    assert a.is_compatible_with(b) == b.is_compatible_with(a)
    if not a.is_compatible_with(b):
        with pytest.raises(ValueError):
            a.merge_with(b)
        with pytest.raises(ValueError):
            b.merge_with(a)
        return
    merged = a.merge_with(b)
    assert merged == b.merge_with(a)
    assert merged.is_compatible_with(a) and merged.is_compatible_with(b)
    # the merge is at least as specific as either side: it keeps every known dim
    for side in (a, b):
        if side.rank is not None:
            assert merged.rank == side.rank
            assert all(s is None or s == m for s, m in zip(side.dims, merged.dims))
    assert merged.merge_with(a) == merged and merged.merge_with(b) == merged


@PROPERTY
@given(partial_shapes, partial_shapes, partial_shapes)
def test_merge_is_associative_when_defined(a, b, c):
    try:
        left = a.merge_with(b).merge_with(c)
    except ValueError:
        left = None
    try:
        right = a.merge_with(b.merge_with(c))
    except ValueError:
        right = None
    assert left == right


@PROPERTY
@given(concrete_shapes, concrete_shapes)
def test_known_shapes_are_compatible_exactly_when_equal(a, b):
    assert TensorShape(a).is_compatible_with(b) == (a == b)
    assert TensorShape(a).matches(b) == (a == b)


@PROPERTY
@given(partial_shapes, concrete_shapes)
def test_matches_agrees_with_compatibility_for_concrete_shapes(a, concrete):
    assert a.matches(concrete) == a.is_compatible_with(concrete)
