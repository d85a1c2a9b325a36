"""Check a function's analytic gradients against central finite differences (float64)."""
from __future__ import annotations

from typing import Callable, Sequence

from ..backend import xp


def gradcheck(fn: Callable, inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4,
              raise_exception: bool = True) -> bool:
    """True when d(sum(fn(*inputs) * r))/d(input) matches central differences for every float64
    input that requires grad (``r`` is a fixed random weighting of the output, so every output
    element is checked, not just their sum).

    >>> import lucidnet as ln
    >>> x = ln.randn(3, 4, dtype=ln.float64, requires_grad=True)
    >>> ln.autograd.gradcheck(lambda t: (t * t).tanh(), [x])
    True
    """
    from ..tensor import Tensor

    inputs = list(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in diff:
        if inputs[i].dtype != xp.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64 inputs")
    rng = xp.random.default_rng(1234)

    def outputs():
        out = fn(*inputs)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    outs = [o for o in outputs() if isinstance(o, Tensor) and o.dtype.kind == "f"]
    weights = [rng.standard_normal(o.shape) for o in outs]

    def scalar():
        res = 0.0
        for o, w in zip([o for o in outputs() if isinstance(o, Tensor) and o.dtype.kind == "f"], weights):
            res += float((o.array * w).sum())
        return res

    for i in diff:
        inputs[i].grad = None
    total = None
    for o, w in zip(outs, weights):
        if o.requires_grad:
            s = (o * Tensor._make(w, None)).sum()
            total = s if total is None else total + s
    if total is not None:
        total.backward()
    ok = True
    for i in diff:
        t = inputs[i]
        analytic = t.grad.array if t.grad is not None else xp.zeros_like(t.array)
        numeric = xp.zeros_like(t.array)
        data = t.array  # perturbed in place, element by element (whatever its memory layout)
        for k in xp.ndindex(data.shape):
            old = data[k]
            data[k] = old + eps
            fp = scalar()
            data[k] = old - eps
            fm = scalar()
            data[k] = old
            numeric[k] = (fp - fm) / (2 * eps)
        if not xp.allclose(analytic, numeric, atol=atol, rtol=rtol):
            ok = False
            if raise_exception:
                err = xp.abs(analytic - numeric).max()
                raise AssertionError(f"gradcheck: input {i} (shape {t.shape}): analytic and numeric gradients differ "
                                     f"by up to {err:.3g}\nanalytic:\n{analytic}\nnumeric:\n{numeric}")
    return ok
