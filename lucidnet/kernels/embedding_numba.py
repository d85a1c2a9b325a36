"""The embedding backward as a compiled loop (numba): ``out[idx[k]] += g[k]``, repeats added in order.

One pass over the gradient rows, each added into its table row in place (the row's width in vector lanes);
the NumPy path of ``lucidnet.fused.embedding`` (rounds of de-duplication, or a sort and ``reduceat``) is its
reference. Repeated indices add in index order here, in another order there: float32 sums that may differ in
their last bit.
"""
from __future__ import annotations

from numba import njit


@njit(nogil=True, cache=True)
def scatter_add_rows(out, idx, g):  # pragma: no cover - compiled
    # out (V, D), g (N, D) of one dtype, any layout; idx (N,) integers in [0, V), checked by the caller
    d = out.shape[1]
    for k in range(idx.shape[0]):
        row = out[idx[k]]
        gk = g[k]
        for j in range(d):
            row[j] += gk[j]
