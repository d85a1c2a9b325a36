"""A float32 GEMM for a weight that is packed once and multiplied many times (numba + LLVM vector IR).

The recurrent layers multiply the same ``W_hh`` by a small batch of states at every time step. Through
NumPy, OpenBLAS repacks the whole weight on each call; at batch 32 and hidden size 256 that caps a step's
GEMM at ~64 GFLOP/s on one core of this machine (AMD EPYC, Zen 4), ~114 on two. Here the weight is packed
once per sequence into panels of 16 columns, ``(n_panels, K, 16)``, and a register-blocked kernel
streams them: ~113 GFLOP/s on one core for 32x256 @ 256x1024 (the core's peak), so two threads that each
take half of the batch do a step's GEMM in about half of OpenBLAS's time.

The kernel is written as LLVM IR through ``numba.extending.intrinsic`` because numba cannot say "these
sixteen floats are one vector register": loops written in Python stayed scalar (~6 GFLOP/s), as the
accumulators may alias the arrays for all LLVM knows. A block computes ``R`` rows by ``P`` panels (16 columns
each) with ``R * P`` vector accumulators: per step of the dot products, ``P`` vector loads of the panels, ``R``
broadcasts and an FMA per (row, panel). 8 rows by 2 panels for whole blocks of rows (fewer loads per FMA than
8 by 1: ~1.3x on the recurrent shapes, one core of this host); 4 by 4 and 1 by 8 for the rows left, so that
even a batch of one runs 8 independent FMA chains instead of one latency-bound chain.

>>> import numpy as np
>>> from lucidnet.kernels import gemm_numba as g
>>> a, b = np.ones((3, 5), np.float32), np.ones((5, 20), np.float32)
>>> c = np.empty((3, g.padded(20)), np.float32)
>>> g.gemm_rows(a, g.pack(b), c, 0, 3)
>>> float(c[0, 0]), c.shape
(5.0, (3, 32))
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["V", "padded", "pack", "pack_into", "gemm_rows", "broadcast_loop"]

V = 16  # columns per panel: one AVX-512 register of float32 (two AVX2 registers where that is what there is)


def padded(n: int) -> int:
    """``n`` rounded up to whole panels: the width of an output written by :func:`gemm_rows`."""
    return -(-n // V) * V


def pack(b: np.ndarray) -> np.ndarray:
    """Pack ``b`` (K, N) into panels (ceil(N / 16), K, 16), the columns past N zero."""
    k, n = b.shape
    out = np.empty((padded(n) // V, k, V), dtype=np.float32)
    pack_into(b, out)
    return out


@njit(nogil=True, cache=True)
def pack_into(b, out):  # pragma: no cover - compiled
    """Pack ``b`` (K, N), any strides, into ``out`` (ceil(N / 16), K, 16)."""
    k_, n_ = b.shape
    by_columns = b.strides[0] < b.strides[1]  # b is a transposed row-major array: read down its columns
    for p in range(out.shape[0]):
        c0 = p * V
        w = min(V, n_ - c0)
        for k in range(k_):
            for j in range(w, V):
                out[p, k, j] = 0.0
        if by_columns:
            for j in range(w):
                for k in range(k_):
                    out[p, k, j] = b[k, c0 + j]
        else:
            for k in range(k_):
                for j in range(w):
                    out[p, k, j] = b[k, c0 + j]


def broadcast_loop(builder, count, rows: int, zero, step, update, panels: int = 1):
    """Emit ``for k in range(count): acc[r, q] = update(acc[r, q], splat(x_r), w_q)`` for ``r < rows`` and
    ``q < panels``, where ``w, [x_r] = step(k)`` loads the panels' vectors (one vector, or a list of
    ``panels``) and one scalar per row; returns the ``rows * panels`` final accumulators, row by row
    (``zero`` when ``count`` is 0). The register-blocked core of the GEMM blocks here and in ``qgemm_numba``."""
    i32, i64, vt = ir.IntType(32), ir.IntType(64), zero.type
    splat = ir.Constant(ir.VectorType(i32, vt.count), [0] * vt.count)
    entry = builder.block
    loop = builder.function.append_basic_block("panel_loop")
    done = builder.function.append_basic_block("panel_done")
    builder.cbranch(builder.icmp_signed(">", count, ir.Constant(i64, 0)), loop, done)
    builder.position_at_end(loop)
    k = builder.phi(i64)
    accs = [builder.phi(vt) for _ in range(rows * panels)]
    k.add_incoming(ir.Constant(i64, 0), entry)
    for acc in accs:
        acc.add_incoming(zero, entry)
    w, xs = step(k)
    ws = w if isinstance(w, list) else [w]
    new = []
    for r, x in enumerate(xs):
        xv = builder.insert_element(ir.Constant(vt, ir.Undefined), x, ir.Constant(i32, 0))
        xb = builder.shuffle_vector(xv, ir.Constant(vt, ir.Undefined), splat)
        new += [update(accs[r * panels + q], xb, wq) for q, wq in enumerate(ws)]
    k1 = builder.add(k, ir.Constant(i64, 1))
    k.add_incoming(k1, loop)
    for acc, nv in zip(accs, new):
        acc.add_incoming(nv, loop)
    builder.cbranch(builder.icmp_signed("<", k1, count), loop, done)
    builder.position_at_end(done)
    out = [builder.phi(vt) for _ in range(rows * panels)]
    for o, nv in zip(out, new):
        o.add_incoming(zero, entry)
        o.add_incoming(nv, loop)
    return out


def _block(rows: int, panels: int = 1):
    """An intrinsic ``block(a, r0, wp, p, c)``: ``c[r0:r0+rows, 16p:16(p+panels)] = a[r0:r0+rows] @ panels
    p:p+panels``, with ``rows * panels`` vector accumulators.

    ``a`` (M, K) float32, any strides; ``wp`` packed by :func:`pack`; ``c`` (M, >= 16(p+panels)) float32 with
    unit stride along its rows. No bounds are checked: the caller keeps ``r0 + rows <= M`` and ``p + panels``
    within the panels. Each output is the same chain of FMAs over k whatever the block's shape.
    """
    @intrinsic
    def block(typingctx, a, r0, wp, p, c):
        sig = types.void(a, r0, wp, p, c)

        def codegen(context, builder, signature, args):
            av, r0v, wv, pv, cv = args
            aa = context.make_array(signature.args[0])(context, builder, av)
            wa = context.make_array(signature.args[2])(context, builder, wv)
            ca = context.make_array(signature.args[4])(context, builder, cv)
            i64, f32 = ir.IntType(64), ir.FloatType()
            vt = ir.VectorType(f32, V)
            four, vc = ir.Constant(i64, 4), ir.Constant(i64, V)
            k_ = builder.extract_value(aa.shape, 1)
            a_rs = builder.sdiv(builder.extract_value(aa.strides, 0), four)  # strides in elements
            a_ks = builder.sdiv(builder.extract_value(aa.strides, 1), four)
            c_rs = builder.sdiv(builder.extract_value(ca.strides, 0), four)
            a0 = builder.gep(aa.data, [builder.mul(r0v, a_rs)])
            kv = builder.mul(k_, vc)  # elements per panel
            w0s = [builder.gep(wa.data, [builder.mul(builder.add(pv, ir.Constant(i64, q)), kv)])
                   for q in range(panels)]
            name = f"llvm.fma.v{V}f32"
            fma = builder.module.globals.get(name) or ir.Function(builder.module, ir.FunctionType(vt, [vt] * 3), name)
            zero = ir.Constant(vt, [0.0] * V)

            def step(k):  # (the panels' vectors, the rows' broadcast values) at step k
                kw = builder.mul(k, vc)
                ws = [builder.load(builder.bitcast(builder.gep(w0, [kw]), vt.as_pointer()), align=4) for w0 in w0s]
                ak = builder.gep(a0, [builder.mul(k, a_ks)])
                return ws, [builder.load(builder.gep(ak, [builder.mul(ir.Constant(i64, r), a_rs)]), align=4)
                            for r in range(rows)]

            out = broadcast_loop(builder, k_, rows, zero, step, lambda acc, x, w: builder.call(fma, [x, w, acc]),
                                 panels)
            c0 = builder.gep(ca.data, [builder.add(builder.mul(r0v, c_rs), builder.mul(pv, vc))])
            for r in range(rows):
                for q in range(panels):
                    ptr = builder.gep(c0, [builder.add(builder.mul(ir.Constant(i64, r), c_rs), ir.Constant(i64, q * V))])
                    builder.store(out[r * panels + q], builder.bitcast(ptr, vt.as_pointer()), align=4)
            return context.get_dummy_value()
        return sig, codegen
    return block


_b8x2, _b8 = _block(8, 2), _block(8)
_b4x4, _b4 = _block(4, 4), _block(4)
_b1x8, _b1x4, _b1 = _block(1, 8), _block(1, 4), _block(1)


@njit(nogil=True, cache=True)
def gemm_rows(a, wp, c, r0, r1):  # pragma: no cover - compiled
    """``c[r0:r1, :16 * n_panels] = a[r0:r1] @ b`` where ``wp = pack(b)``.

    ``a`` (M, K) float32, any strides; ``c`` (M, >= padded(N)) float32, rows of unit stride (the padding
    columns receive zeros). Rows ``r0:r1`` only, so threads may share one call's work by rows.

    Blocks of 8 rows take two panels at a time (16 accumulators), a pair of panels over all the blocks while
    it is in cache. The rows left (under 8: a batch of one streams its text through here) take 4 rows by 4
    panels, then one row by up to 8 panels: a block has 8 or more independent FMA chains wherever the panels
    allow, where one row by one panel was a single chain, bound by the FMA's latency.
    """
    if a.shape[1] != wp.shape[1] or c.shape[1] < wp.shape[0] * V or c.strides[1] != 4 or r1 > a.shape[0] \
            or r1 > c.shape[0] or r0 < 0:
        raise ValueError("gemm_rows: shapes do not fit")
    n_p = wp.shape[0]
    r8 = r0 + max(r1 - r0, 0) // 8 * 8
    p = 0
    while p + 2 <= n_p:
        for r in range(r0, r8, 8):
            _b8x2(a, r, wp, p, c)
        p += 2
    if p < n_p:
        for r in range(r0, r8, 8):
            _b8(a, r, wp, p, c)
    r = r8
    if r + 4 <= r1:
        p = 0
        while p + 4 <= n_p:
            _b4x4(a, r, wp, p, c)
            p += 4
        for q in range(p, n_p):
            _b4(a, r, wp, q, c)
        r += 4
    for row in range(r, r1):
        p = 0
        while p + 8 <= n_p:
            _b1x8(a, row, wp, p, c)
            p += 8
        if p + 4 <= n_p:
            _b1x4(a, row, wp, p, c)
            p += 4
        for q in range(p, n_p):
            _b1(a, row, wp, q, c)
