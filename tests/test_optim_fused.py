"""The one-pass optimizer updates (kernels/optim_numba: 16-lane vector bodies and one-element tails) against the
NumPy passes (kernels/optim_numpy), bit for bit, at lengths around the vector width; and the views the
optimizers keep between steps, which must follow a parameter whose array is replaced or a state dict loaded."""
import copy
import numpy as np
import pytest

import lucidnet as ln
from lucidnet import kernels as _kernels
from lucidnet import optim

needs_numba = pytest.mark.skipif(not _kernels.numba_available(), reason="numba is not installed")

CASES = [
    ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, betas=(0.3, 0.9))),          # both branches of lerp
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)), ("AdamW", dict(lr=0.01, weight_decay=0.2)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05, maximize=True)),
]
SIZES = [(1,), (15,), (16,), (17,), (3, 11), (3, 50_000), (40, 25)]  # (3, 50_000): the NumPy passes in blocks


def _run(name, kwargs, numba: bool, steps: int = 4):
    """``steps`` steps on parameters of every size in SIZES (a Fortran-ordered one among them, and one whose
    gradients come in the other memory layout: the NumPy passes); the final parameters and states."""
    previous = _kernels.set_numba(numba)
    try:
        rng = np.random.default_rng(0)
        arrays = [rng.standard_normal(s, dtype=np.float32) for s in SIZES]
        arrays[-1] = np.asfortranarray(arrays[-1])
        params = [ln.tensor(a, requires_grad=True) for a in arrays]
        for p, a in zip(params, arrays):
            p.array = a.copy(order="K")
        opt = getattr(optim, name)(params, **kwargs)
        for _ in range(steps):
            for i, p in enumerate(params):
                g = rng.standard_normal(p.shape, dtype=np.float32)
                p.grad = ln.from_numpy(np.asfortranarray(g) if i == len(params) - 1 else g)
            opt.step()
        return [p.array.copy() for p in params], opt.state_dict()["state"]
    finally:
        _kernels.set_numba(previous)


@needs_numba
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_one_pass_updates_give_the_bits_of_the_numpy_passes(name, kwargs):
    (pa, sa), (pb, sb) = _run(name, kwargs, True), _run(name, kwargs, False)
    for a, b in zip(pa, pb):
        np.testing.assert_array_equal(a, b)
    for i in sa:
        for key, value in sa[i].items():
            np.testing.assert_array_equal(value, sb[i][key], err_msg=f"state {i} {key}")


def _grads(rng, params):
    for p in params:
        p.grad = ln.from_numpy(rng.standard_normal(p.shape, dtype=np.float32))


@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.05)), ("SGD", dict(lr=0.1, momentum=0.9))])
def test_a_replaced_parameter_array_is_the_one_updated(backend, name, kwargs):
    """The optimizer keeps flat views of a parameter between steps; a parameter given a new array (``p.data =``)
    must be updated in its new array, exactly as an optimizer that never saw the old one would."""
    rng = np.random.default_rng(1)
    w = ln.tensor(rng.standard_normal((8, 20), dtype=np.float32), requires_grad=True)
    opt = getattr(optim, name)([w], **kwargs)
    _grads(rng, [w])
    opt.step()
    old = w.array
    fresh = rng.standard_normal((8, 20), dtype=np.float32)
    w.data = ln.tensor(fresh.copy())
    assert w.array is not old
    kept = old.copy()
    # the reference: the same state, a parameter that was always this array
    ref_w = ln.tensor(fresh.copy(), requires_grad=True)
    ref = getattr(optim, name)([ref_w], **kwargs)
    ref.load_state_dict(opt.state_dict())
    g = rng.standard_normal((8, 20), dtype=np.float32)
    w.grad, ref_w.grad = ln.from_numpy(g.copy()), ln.from_numpy(g.copy())
    opt.step()
    ref.step()
    np.testing.assert_array_equal(w.array, ref_w.array)
    np.testing.assert_array_equal(old, kept)                  # the array it no longer holds is left alone
    assert not np.array_equal(w.array, fresh)


def test_loading_a_state_dict_mid_run_replaces_the_state_the_update_uses(backend):
    """Load an earlier snapshot into the same optimizer: the next steps use the loaded state (new arrays), and
    the run repeats itself bit for bit."""
    rng = np.random.default_rng(2)
    init = rng.standard_normal((5, 33), dtype=np.float32)
    grads = [rng.standard_normal((5, 33), dtype=np.float32) for _ in range(6)]
    w = ln.tensor(init.copy(), requires_grad=True)
    opt = optim.AdamW([w], lr=0.05, weight_decay=0.1)
    for g in grads[:3]:
        w.grad = ln.from_numpy(g)
        opt.step()
    snapshot, at3 = copy.deepcopy(opt.state_dict()), w.array.copy()  # the state dict shares the optimizer's state
    for g in grads[3:]:
        w.grad = ln.from_numpy(g)
        opt.step()
    first = w.array.copy()
    w.array[...] = at3
    opt.load_state_dict(snapshot)
    for g in grads[3:]:
        w.grad = ln.from_numpy(g)
        opt.step()
    np.testing.assert_array_equal(w.array, first)


@needs_numba
def test_gradients_in_another_memory_layout_take_the_numpy_passes_and_agree():
    """A row-major parameter with a column-major gradient cannot be walked element for element by one flat
    view each: the update takes the NumPy passes, with the same result as a row-major gradient."""
    rng = np.random.default_rng(3)
    init, g = rng.standard_normal((7, 9), dtype=np.float32), rng.standard_normal((7, 9), dtype=np.float32)
    out = []
    for grad in (g, np.asfortranarray(g)):
        w = ln.tensor(init.copy(), requires_grad=True)
        opt = optim.Adam([w], lr=0.1)
        for _ in range(3):
            w.grad = ln.from_numpy(grad)
            opt.step()
        out.append(w.array.copy())
    np.testing.assert_array_equal(out[0], out[1])


def test_the_update_flushes_subnormals_in_its_state():
    """Adam's moving average of a weight without gradient decays by beta1 each step; where the update flushes
    subnormals (x86 with the compiled kernels) it never holds one (it stops at ~1e-37, as its decrement is
    flushed; without flushing it sinks to a few times the smallest subnormal, PyTorch's 5.6e-45 likewise)."""
    import contextlib

    import lucidnet as ln
    from lucidnet import kernels
    w = ln.tensor(np.ones(4, np.float32), requires_grad=True)
    opt = ln.optim.Adam([w], lr=1e-3)
    w.grad = ln.tensor(np.full(4, 1e-30, np.float32))
    opt.step()
    w.grad = ln.tensor(np.zeros(4, np.float32))
    for _ in range(300):  # m = 1e-31 * 0.9**n: below 1.2e-38 (subnormal) from n = 152
        opt.step()
    m = np.abs(opt.state[w]["exp_avg"])
    subnormal = (m > 0) & (m < np.finfo(np.float32).tiny)
    flushing = not isinstance(kernels.subnormals_flushed(), contextlib.nullcontext)
    assert not subnormal.any() if flushing else subnormal.all()
    assert (w.array == 1).all()  # steps of lr * m / eps, ~1e-32 at most: below a float32 1.0's precision either way


def _exact_fma(x, a, y, dtype):
    """``x * a + y`` rounded once to ``dtype``, from exact rational arithmetic (ties to even)."""
    from fractions import Fraction
    out = []
    for xi, yi in zip(x.tolist(), y.tolist()):
        exact = Fraction(xi) * Fraction(float(dtype(a))) + Fraction(yi)
        lo = dtype(float(exact))                       # float() rounds once to float64: a neighbour to fix up
        cands = sorted({float(v) for v in (np.nextafter(lo, dtype(-np.inf)), lo, np.nextafter(lo, dtype(np.inf)))})
        best = min(cands, key=lambda c: (abs(Fraction(c) - exact), np.frombuffer(dtype(c).tobytes(), np.uint8)[0] & 1))
        out.append(best)
    return np.array(out, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_fma_of_the_numpy_passes_rounds_once(dtype):
    """``optim_numpy.fma`` (float64, rounded to odd) against exact arithmetic: random values, cancellations, and
    (float32) sums just below a midpoint, which float64 rounds onto the midpoint (a second rounding would then go
    to the even neighbour, the wrong one)."""
    from lucidnet.kernels import optim_numpy
    rng = np.random.default_rng(0)
    bits = np.finfo(dtype).nmant
    a = (1 - 2.0 ** -(bits - 3)) * 2.0 ** -((bits + 1) // 2)
    tie = np.array([1 + 2.0 ** -bits, -(1 + 2.0 ** -bits)], dtype)                     # odd significands
    tx = np.array([(1 + 2.0 ** -(bits - 3)) * 2.0 ** -((bits + 1) // 2)] * 2, dtype) * np.sign(tie)
    x = np.concatenate([tx, rng.standard_normal(400).astype(dtype)])
    y = np.concatenate([tie, rng.standard_normal(200).astype(dtype), (-x[202:] * dtype(a)).astype(dtype)])
    out = np.empty_like(x)
    optim_numpy.fma(x, a, y, out=out)
    np.testing.assert_array_equal(out, _exact_fma(x, a, y, dtype))
    naive = (x.astype(np.float64) * float(dtype(a)) + y.astype(np.float64)).astype(dtype)
    if dtype == np.float32:                              # float16's exact sums fit float64: no midpoint case there
        assert (naive[:2] != out[:2]).all()              # float32's midpoint cases do need the rounding to odd
    same = y.copy()
    optim_numpy.fma(x, a, same, out=same)                # out may be an input
    np.testing.assert_array_equal(same, out)


@needs_numba
def test_fused_update_kernel_agrees_with_the_numpy_fma_at_the_edges():
    """The compiled ``add_scaled`` (LLVM's fma) and ``optim_numpy.fma``: the same bits for infinities, NaN,
    overflow, signed zeros and tiny values, as well as for random ones."""
    from lucidnet.kernels import optim_numba, optim_numpy
    rng = np.random.default_rng(1)
    f32 = np.float32
    big = np.finfo(f32).max
    x = np.concatenate([np.array([np.inf, -np.inf, np.nan, big, big, 0.0, -0.0, 1e-30, 3.0], f32),
                        rng.standard_normal(1000).astype(f32)])
    y = np.concatenate([np.array([1.0, np.inf, 1.0, big, -big, -0.0, -0.0, 1e-38, -0.5], f32),
                        rng.standard_normal(1000).astype(f32)])
    for a in (-0.5, 2.0, -1e-3):
        d1, d2 = y.copy(), y.copy()
        with np.errstate(over="ignore", invalid="ignore"):
            optim_numba.add_scaled(d1, x, np.array([a], f32))
            optim_numpy.fma(x, a, d2, out=d2)
        np.testing.assert_array_equal(d1, d2)
        assert np.signbit(d1[6]) == np.signbit(d2[6])
