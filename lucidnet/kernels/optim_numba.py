"""Optimizer updates in one compiled pass each, written as explicit vector code (numba + LLVM IR).

Adam's update (``m``, ``v`` and the parameter, AdamW's decay included) and SGD's momentum update (the buffer and
the parameter) read and write each array once, sixteen floats at a time, instead of in three to twelve passes.
Loops written in Python stay partly scalar: with several arrays stored LLVM must prove at run time that they do
not overlap, and Adam's update is bound by its square root and two divisions, which are cheap only as vector
instructions. So the arithmetic of one element is written once (``_adam``, ``_momentum``: IR builders that work
on a vector or a scalar value alike) and emitted twice, as a 16-lane body and as a one-element tail. No
fast-math: the operations and their order are those of the NumPy twin ``optim_numpy`` (PyTorch's: ``lerp``,
``mul``/``addcmul``, ``sqrt``/``div``/``add``, ``addcdiv``), so both give the same bits. Where PyTorch adds a
scaled tensor (``add_(t, alpha=a)``, SGD's steps) its vector code makes one fused multiply-add, rounded once, and
so do these kernels (LLVM's ``fma``; the twin computes the same rounding in float64, ``optim_numpy.fma``).

The hyper-parameters come as one float32 array ``k`` (computed once per step for all the parameters of a group).
"""
from __future__ import annotations

from types import SimpleNamespace

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

V = 16  # lanes: one AVX-512 register of float32 (two AVX2 registers where that is what there is)
_OPTS = dict(cache=True, nogil=True, error_model="numpy")


def _elementwise(body, n_arrays: int, stores: tuple[int, ...], lanes: int):
    """An intrinsic ``op(a0, .., a{n-1}, i, k)``: load ``lanes`` floats of each 1-D float32 array at ``i``,
    ``body(b, f, values, k)`` (``f.sqrt(x)``, ``f.fma(x, y, z)``: ``x * y + z`` rounded once; ``k`` the float32
    coefficient array's entries, as values of the same shape) returns the new values of the arrays listed in
    ``stores``, which are written back. No bounds checked."""
    f32, i32, i64 = ir.FloatType(), ir.IntType(32), ir.IntType(64)
    vt = ir.VectorType(f32, lanes) if lanes > 1 else f32

    def codegen(context, builder, signature, args):
        arrays = [context.make_array(signature.args[j])(context, builder, args[j]) for j in range(n_arrays)]
        i, karr = args[n_arrays], context.make_array(signature.args[n_arrays + 1])(context, builder, args[-1])
        ptrs = [builder.bitcast(builder.gep(a.data, [i]), vt.as_pointer()) for a in arrays]
        values = [builder.load(p, align=4) for p in ptrs]
        splat = ir.Constant(ir.VectorType(i32, lanes), [0] * lanes) if lanes > 1 else None

        def coef(j: int):
            x = builder.load(builder.gep(karr.data, [ir.Constant(i64, j)]))
            if lanes == 1:
                return x
            x = builder.insert_element(ir.Constant(vt, ir.Undefined), x, ir.Constant(i32, 0))
            return builder.shuffle_vector(x, ir.Constant(vt, ir.Undefined), splat)

        def intrinsic_call(op: str, *xs):
            name = f"llvm.{op}.v{lanes}f32" if lanes > 1 else f"llvm.{op}.f32"
            fn = builder.module.globals.get(name) or ir.Function(builder.module, ir.FunctionType(vt, [vt] * len(xs)),
                                                                 name)
            return builder.call(fn, list(xs))

        f = SimpleNamespace(sqrt=lambda x: intrinsic_call("sqrt", x),
                            fma=lambda x, y, z: intrinsic_call("fma", x, y, z))
        for j, value in zip(stores, body(builder, f, values, coef)):
            builder.store(value, ptrs[j], align=4)
        return context.get_dummy_value()

    if n_arrays == 2:
        @intrinsic
        def op(typingctx, a0, a1, i, k):
            return types.void(a0, a1, i, k), codegen
    elif n_arrays == 3:
        @intrinsic
        def op(typingctx, a0, a1, a2, i, k):
            return types.void(a0, a1, a2, i, k), codegen
    else:
        @intrinsic
        def op(typingctx, a0, a1, a2, a3, i, k):
            return types.void(a0, a1, a2, a3, i, k), codegen
    return op


# ---- Adam ---------------------------------------------------------------------------------------------------
# k = [w1, 1 - w1, b2, c2, nstep, bc2s, eps, decay]; arrays (d, u, m, v)

def _adam(low: bool):
    """``d *= decay``; ``m = lerp(m, u, w1)`` (the branch for ``w1 < 0.5`` when ``low``); ``v = b2 * v + (c2 * u)
    * u``; ``d += nstep * (m / (sqrt(v) / bc2s + eps))``."""
    def body(b, f, x, k):
        d, u, m, v = x
        d = b.fmul(d, k(7))
        if low:
            m = b.fadd(m, b.fmul(b.fsub(u, m), k(0)))
        else:
            m = b.fsub(u, b.fmul(b.fsub(u, m), k(1)))
        v = b.fadd(b.fmul(v, k(2)), b.fmul(b.fmul(u, k(3)), u))
        d = b.fadd(d, b.fmul(b.fdiv(m, b.fadd(b.fdiv(f.sqrt(v), k(5)), k(6))), k(4)))
        return d, m, v
    return body


_adam_lo_v, _adam_lo_1 = (_elementwise(_adam(True), 4, (0, 2, 3), n) for n in (V, 1))
_adam_hi_v, _adam_hi_1 = (_elementwise(_adam(False), 4, (0, 2, 3), n) for n in (V, 1))


@njit(**_OPTS)
def adam_update(d, u, m, v, k, low):  # pragma: no cover - compiled
    """1-D float32 arrays of one length; ``k`` = float32 ``[w1, 1 - w1, b2, c2, nstep, bc2s, eps, decay]``:
    ``d *= decay``; ``m = lerp(m, u, w1)`` (``low``: ``w1 < 0.5``, lerp's branch); ``v = b2 * v + (c2 * u) * u``;
    ``d += nstep * (m / (sqrt(v) / bc2s + eps))``."""
    n = d.shape[0]
    if u.shape[0] != n or m.shape[0] != n or v.shape[0] != n or k.shape[0] < 8:
        raise ValueError("adam_update: the arrays differ in length")
    body = n - n % V
    if low:
        for i in range(0, body, V):
            _adam_lo_v(d, u, m, v, i, k)
        for i in range(body, n):
            _adam_lo_1(d, u, m, v, i, k)
    else:
        for i in range(0, body, V):
            _adam_hi_v(d, u, m, v, i, k)
        for i in range(body, n):
            _adam_hi_1(d, u, m, v, i, k)


# ---- SGD ----------------------------------------------------------------------------------------------------
# k = [momentum, 1 - dampening, -lr]; arrays (d, u, buf)

def _momentum(damped: bool, nesterov: bool):
    """PyTorch's SGD: ``buf = fma(u, 1 - dampening, momentum * buf)`` (``momentum * buf + u`` when not ``damped``);
    ``d = fma(s, -lr, d)`` where ``s = fma(buf, momentum, u)`` (``nesterov``) or ``buf``."""
    def body(b, f, x, k):
        d, u, buf = x
        buf = f.fma(u, k(1), b.fmul(buf, k(0))) if damped else b.fadd(b.fmul(buf, k(0)), u)
        s = f.fma(buf, k(0), u) if nesterov else buf
        return f.fma(s, k(2), d), buf
    return body


_mom = [[_elementwise(_momentum(damped, nesterov), 3, (0, 2), n) for n in (V, 1)]
        for damped, nesterov in ((False, False), (True, False), (False, True))]
(_plain_v, _plain_1), (_damped_v, _damped_1), (_nesterov_v, _nesterov_1) = _mom


@njit(**_OPTS)
def sgd_momentum(d, u, buf, k, damped, nesterov):  # pragma: no cover - compiled
    """1-D float32 arrays of one length; ``k`` = float32 ``[momentum, 1 - dampening, -lr]``:
    ``buf = momentum * buf + (1 - dampening) * u`` (plain ``+ u`` unless ``damped``);
    ``d += -lr * (u + momentum * buf if nesterov else buf)``, each ``+ a * t`` one fused multiply-add.
    Nesterov is undamped (SGD refuses the mix)."""
    n = d.shape[0]
    if u.shape[0] != n or buf.shape[0] != n or k.shape[0] < 3 or (damped and nesterov):
        raise ValueError("sgd_momentum: the arrays differ in length, or damped Nesterov")
    body = n - n % V
    if nesterov:
        for i in range(0, body, V):
            _nesterov_v(d, u, buf, i, k)
        for i in range(body, n):
            _nesterov_1(d, u, buf, i, k)
    elif damped:
        for i in range(0, body, V):
            _damped_v(d, u, buf, i, k)
        for i in range(body, n):
            _damped_1(d, u, buf, i, k)
    else:
        for i in range(0, body, V):
            _plain_v(d, u, buf, i, k)
        for i in range(body, n):
            _plain_1(d, u, buf, i, k)


_scaled_v, _scaled_1 = (_elementwise(lambda b, f, x, k: (f.fma(x[1], k(0), x[0]),), 2, (0,), n) for n in (V, 1))


@njit(**_OPTS)
def add_scaled(d, u, k):  # pragma: no cover - compiled
    """1-D float32 arrays of one length, ``k`` = float32 ``[a]``: ``d = fma(u, a, d)`` (PyTorch's
    ``d.add_(u, alpha=a)``)."""
    n = d.shape[0]
    if u.shape[0] != n or k.shape[0] < 1:
        raise ValueError("add_scaled: the arrays differ in length")
    body = n - n % V
    for i in range(0, body, V):
        _scaled_v(d, u, i, k)
    for i in range(body, n):
        _scaled_1(d, u, i, k)
