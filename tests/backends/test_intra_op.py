"""The intra-op pool: how work is cut into shares, running shares, errors, the BLAS hold, and the split matmul."""
import contextlib
import threading

import numpy as np
import pytest

from graphflow.backends import intra_op


@pytest.fixture
def threads(request):
    """Run a test with a given intra-op thread count, restoring the setting afterwards."""
    before = intra_op._POOL._requested
    intra_op.set_intra_op_threads(request.param)
    yield request.param
    intra_op.set_intra_op_threads(before)


@pytest.mark.parametrize("count, parts", [(10, 3), (2, 5), (7, 7), (1, 4), (0, 2), (100, 16)])
def test_split_shares_is_contiguous_balanced_and_complete(count, parts):
    shares = intra_op.split_shares(list(range(count)), parts)
    assert [item for share in shares for item in share] == list(range(count))
    assert all(len(share) > 0 for share in shares)
    assert len(shares) == min(count, parts)
    lengths = [len(share) for share in shares]
    assert not lengths or max(lengths) - min(lengths) <= 1


def test_split_shares_only_cuts_where_allowed():
    # Items are (image, row run); a cut inside one image is refused.
    items = [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0), (2, 1), (3, 0)]
    shares = intra_op.split_shares(items, 3, lambda before, after: after[0] != before[0])
    assert [item for share in shares for item in share] == items
    for share, following in zip(shares, shares[1:]):
        assert share[-1][0] != following[0][0]


@pytest.mark.parametrize("threads", [1, 2, 3], indirect=True)
def test_run_shares_returns_results_in_order(threads):
    results = intra_op.run_shares(np, list(range(30)), lambda share: list(share))
    assert [item for result in results for item in result] == list(range(30))
    assert len(results) == (1 if threads == 1 else min(intra_op.SHARES_PER_THREAD * threads, 30))


@pytest.mark.parametrize("threads", [1, 3], indirect=True)
def test_pool_blocks_come_one_share_per_thread_and_conv_blocks_four(threads):
    from graphflow.ops.conv_math import pixel_blocks
    from graphflow.ops.pool_math import pool_geometry
    pooling = pool_geometry((12, 8, 8, 2), (2, 2), (2, 2), "VALID")
    assert len(pooling.blocks(np)) == threads
    assert len(list(pixel_blocks(np, 12, 8, 8, 2))) == (1 if threads == 1 else 4 * threads)


@pytest.mark.parametrize("threads", [3], indirect=True)
def test_run_shares_uses_other_threads_and_runs_serially_for_other_namespaces(threads):
    seen = set()
    all_arrived = threading.Barrier(3, timeout=10)

    def record(share):
        seen.add(threading.get_ident())
        all_arrived.wait()  # passes only when three shares run at once, on three threads
    intra_op.run_shares(np, list(range(3)), record)
    assert len(seen) == 3

    class NotNumpy:
        pass
    assert intra_op.run_shares(NotNumpy(), [1, 2, 3], lambda share: list(share)) == [[1, 2, 3]]


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_a_failing_share_raises_after_every_started_share_finished(threads):
    started, finished = [], []

    def work(share):
        if share[0] == 0:
            threading.Event().wait(0.02)  # let the other thread start a share
            raise ValueError("first share failed")
        started.append(share)
        threading.Event().wait(0.05)
        finished.append(share)
    with pytest.raises(ValueError, match="first share failed"):
        intra_op.run_shares(np, list(range(8)), work)
    assert started and finished == started
    assert len(started) < 7  # after the failure no new share was taken


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_nested_run_shares_runs_inline(threads):
    def inner(share):
        return intra_op.run_shares(np, [1, 2, 3, 4], lambda inner_share: len(inner_share))
    assert intra_op.run_shares(np, [0, 1], inner) == [[4], [4]]


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_blas_is_held_to_one_thread_inside_a_section_and_restored(threads):
    blas = intra_op._POOL._blas
    if blas is None:  # no BLAS thread control on this machine: the default must then be serial
        intra_op.set_intra_op_threads(0)
        assert intra_op.intra_op_threads() == 1
        return
    setter, getter = blas
    before = getter()
    with intra_op.parallel_section():
        assert getter() == 1
        with intra_op.parallel_section():
            assert getter() == 1
        assert getter() == 1
    assert getter() == before


def test_default_thread_count_is_one_per_usable_cpu_when_blas_threads_can_be_held():
    before = intra_op._POOL._requested
    try:
        intra_op.set_intra_op_threads(0)
        expected = intra_op.usable_cpus() if intra_op._POOL._blas is not None else 1
        assert intra_op.intra_op_threads() == expected
    finally:
        intra_op.set_intra_op_threads(before)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        intra_op.set_intra_op_threads(bad)


@pytest.mark.parametrize("threads", [1, 2, 3], indirect=True)
@pytest.mark.parametrize("shape", [(300, 200, 100), (20, 300, 700), (7, 3, 5), (512, 64, 512)])
def test_matmul_matches_numpy(threads, shape, monkeypatch):
    rows, inner, columns = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((rows, inner)), rng.standard_normal((columns, inner)).T  # b is a transposed view
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    splits = []
    run_shares = intra_op.run_shares
    monkeypatch.setattr(intra_op, "run_shares", lambda *args: splits.append(1) or run_shares(*args))
    for section in (intra_op.parallel_section(), contextlib.nullcontext()):
        with section:
            np.testing.assert_allclose(intra_op.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
            result = intra_op.matmul(a32, b32)
        assert result.dtype == np.float32
        np.testing.assert_allclose(result, a32 @ b32, rtol=1e-5, atol=1e-4)
    # Split only inside a section (where the BLAS is held to one thread), and only when big enough.
    big = rows * inner * columns >= intra_op.MIN_PARALLEL_MATMUL
    assert len(splits) == (2 if threads > 1 and big else 0)


def test_matmul_of_other_ranks_is_numpy_matmul():
    a, b = np.arange(24.0).reshape(2, 3, 4), np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(intra_op.matmul(a, b), a @ b)
    np.testing.assert_array_equal(intra_op.matmul(np.arange(3.0), np.arange(3.0)), 5.0)


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_a_forked_child_gets_a_working_pool(threads):
    import os
    import signal
    assert intra_op.run_shares(np, [1, 2], lambda share: sum(share)) == [1, 2]  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # child: the parent's worker threads are gone; a fresh pool must serve it
        signal.alarm(30)  # a hung child is killed by SIGALRM instead of hanging the test run
        ok = False
        try:
            ok = sum(intra_op.run_shares(np, [1, 2, 3], lambda share: sum(share))) == 6
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), "the forked child hung on the intra-op pool"
    assert os.WEXITSTATUS(status) == 0
