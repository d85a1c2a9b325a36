"""The packed-weight GEMM kernel (kernels/gemm_numba) and lucidnet's row threads (kernels/threads)."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet import kernels as _kernels
from lucidnet.kernels import threads as _threads


@pytest.fixture(autouse=True)
def _numpy_blas():
    """These tests are about NumPy's BLAS and lucidnet's row workers: oneMKL (where installed) is off."""
    from lucidnet.kernels import mkl
    previous = mkl.set_enabled(False)
    yield
    mkl.set_enabled(previous)

needs_numba = pytest.mark.skipif(not _kernels.numba_available(), reason="numba is not installed")


@pytest.fixture
def gemm():
    if not _kernels.numba_available():
        pytest.skip("numba is not installed")
    from lucidnet.kernels import gemm_numba as _gemm_numba
    return _gemm_numba


@pytest.mark.parametrize("m,k,n", [(32, 256, 1024), (17, 33, 47), (1, 1, 1), (9, 0, 5), (15, 7, 16), (3, 300, 20)])
@pytest.mark.parametrize("layout", ["C", "F", "T"])
def test_gemm_rows_matches_numpy(gemm, m, k, n, layout):
    rng = np.random.default_rng(m * 1000 + k + n)
    a = rng.standard_normal((m, k), dtype=np.float32)
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "T":  # a transposed view: the rows of a are strided
        a = np.ascontiguousarray(a.T).T
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.full((m, gemm.padded(n)), np.nan, np.float32)
    gemm.gemm_rows(a, gemm.pack(b), c, 0, m)
    np.testing.assert_allclose(c[:, :n], a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    assert (c[:, n:] == 0).all()


@pytest.mark.parametrize("m,k,n", [(29, 40, 16 * 13), (7, 300, 16 * 8), (3, 17, 16 * 5 - 3)])
def test_gemm_rows_same_bits_whatever_the_block(gemm, m, k, n):
    """A row's output is the same chain of FMAs whether the row is computed in a block of 8 rows by 2 panels,
    in a tail block of 4, 2 or 1 rows by up to 8 panels, or alone: bit for bit."""
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m, k), dtype=np.float32)
    wp = gemm.pack(rng.standard_normal((k, n), dtype=np.float32))
    whole = np.empty((m, gemm.padded(n)), np.float32)
    gemm.gemm_rows(a, wp, whole, 0, m)
    alone = np.empty_like(whole)
    for r in range(m):
        gemm.gemm_rows(a, wp, alone, r, r + 1)
    np.testing.assert_array_equal(alone, whole)
    split = np.empty_like(whole)
    for r0 in range(0, m, 3):  # blocks of 3: a tail of 2 and one of 1
        gemm.gemm_rows(a, wp, split, r0, min(r0 + 3, m))
    np.testing.assert_array_equal(split, whole)


def test_gemm_rows_writes_only_its_rows_and_checks_shapes(gemm):
    a, b = np.ones((20, 4), np.float32), np.ones((4, 16), np.float32)
    c = np.full((20, 16), -1.0, np.float32)
    gemm.gemm_rows(a, gemm.pack(b), c, 5, 13)
    assert (c[5:13] == 4).all() and (c[:5] == -1).all() and (c[13:] == -1).all()
    with pytest.raises(ValueError, match="gemm_rows"):
        gemm.gemm_rows(a, gemm.pack(np.ones((5, 16), np.float32)), c, 0, 20)  # K differs
    with pytest.raises(ValueError, match="gemm_rows"):
        gemm.gemm_rows(a, gemm.pack(np.ones((4, 20), np.float32)), c, 0, 20)  # c narrower than the panels


def test_pack_layout(gemm):
    b = np.arange(3 * 20, dtype=np.float32).reshape(3, 20)
    wp = gemm.pack(b)
    assert wp.shape == (2, 3, 16)
    np.testing.assert_array_equal(wp[0], b[:, :16])
    np.testing.assert_array_equal(wp[1, :, :4], b[:, 16:])
    assert (wp[1, :, 4:] == 0).all()
    np.testing.assert_array_equal(gemm.pack(np.asfortranarray(b)), wp)


@pytest.mark.parametrize("rows,threads", [(32, 2), (20, 2), (5, 2), (64, 3), (0, 2), (100, 1), (17, 4)])
def test_row_ranges_cover_the_rows(rows, threads):
    ranges = _threads.row_ranges(rows, threads)
    assert 1 <= len(ranges) <= max(1, threads)
    covered = [r for r0, r1 in ranges for r in range(r0, r1)]
    assert covered == list(range(rows))
    assert all(r0 % 8 == 0 for r0, _ in ranges)


@pytest.fixture
def owned(monkeypatch):
    """Row work shared out among two threads, without changing the BLAS threads of the test process."""
    monkeypatch.setattr(_threads, "_owned", True)
    monkeypatch.setattr(_threads, "_threads", lambda: 2)


def test_run_rows_runs_every_range_and_reraises(owned):
    seen = []

    def fn(out, r0, r1):
        out[r0:r1] += 1
        seen.append((r0, r1))

    out = np.zeros(40)
    _threads.run_rows(fn, 40, out)
    assert (out == 1).all() and sorted(seen) == [(0, 24), (24, 40)]

    def bad(r0, r1):
        if r0:
            raise RuntimeError("worker failed")

    with pytest.raises(RuntimeError, match="worker failed"):
        _threads.run_rows(bad, 40)
    _threads.run_rows(fn, 40, out)  # the workers still work after an error
    assert (out == 2).all()


@pytest.mark.parametrize("shape", [(256, 300, 64), (40, 300, 512)])  # split by rows, by columns
def test_threaded_matmul_equals_numpy(owned, shape):
    m, k, n = shape
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
    np.testing.assert_allclose(_threads.matmul(a, b), a @ b, rtol=1e-5, atol=1e-4)
    out = np.empty((n, m), np.float32)
    _threads.matmul(a, b, out=out.T)
    np.testing.assert_allclose(out.T, a @ b, rtol=1e-5, atol=1e-4)


@needs_numba
@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_recurrent_layer_same_on_one_or_two_threads(cls):
    """Batch rows shared out among threads give bit-identical outputs and gradients (batch 20: 16 + 4 rows)."""
    import numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread only")
    ln.manual_seed(0)
    m = cls(12, 24, batch_first=True, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((20, 9, 12), dtype=np.float32)
    lengths = np.random.default_rng(1).integers(1, 10, 20)
    results = []
    previous = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            for p in m.parameters():
                p.grad = None
            xt = ln.tensor(x, requires_grad=True)
            y, _ = m(xt, lengths=lengths)
            (y * y).sum().backward()
            results.append([y.numpy(), xt.grad] + [p.grad for p in m.parameters()])
    finally:
        numba.set_num_threads(previous)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def _rows_in_child(queue):
    out = np.zeros(40)
    _threads.run_rows(lambda o, r0, r1: o.__setitem__(slice(r0, r1), 1), 40, out)
    queue.put(float(out.sum()))


def test_run_rows_works_in_a_forked_child(owned):
    """A child forked after the workers started has none of them; it must start its own, not wait forever."""
    import multiprocessing
    _threads.run_rows(lambda r0, r1: None, 40)  # the parent's workers exist now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_rows_in_child, args=(queue,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == 40.0


@needs_numba
def test_large_float32_matmul_is_shared_out_with_share_gemms(monkeypatch):
    """With SHARE_GEMMS, outside any own_blas block a large float32 GEMM goes to the row workers (float64,
    before that, stays numpy.matmul);
    the values are numpy's either way, and the BLAS thread limit is back afterwards."""
    calls = []
    real = _threads.run_rows
    monkeypatch.setattr(_threads, "run_rows", lambda fn, rows, *a: (calls.append(rows), real(fn, rows, *a)))
    monkeypatch.setattr(_threads, "_taken", False)
    monkeypatch.setattr(_threads, "SHARE_GEMMS", True)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((512, 256), dtype=np.float32), rng.standard_normal((256, 128), dtype=np.float32)
    _threads.matmul(a, b)  # numba (and the BLAS it may load) in place first
    calls.clear()
    before = [lib["num_threads"] for lib in _threads.blas_info()]
    np.testing.assert_allclose(_threads.matmul(a, b), a @ b, rtol=1e-5, atol=1e-4)
    assert calls == [512] and [lib["num_threads"] for lib in _threads.blas_info()] == before
    monkeypatch.setattr(_threads, "_taken", False)  # (a shared product takes the threads over from then on)
    _threads.matmul(a.astype(np.float64), b.astype(np.float64))
    assert calls == [512]
    monkeypatch.setattr(_threads, "SHARE_GEMMS", False)
    _threads.matmul(a, b)
    assert calls == [512]
