"""Fused layer ops: one autograd node per layer call, each with its own backward (convolution, pooling,
normalisation, recurrent layers, embedding, interpolation, losses, dropout).

Engine-level: built on ``lucidnet.ops`` (the primitives) and ``lucidnet.kernels`` (the compiled and NumPy
kernel pairs); ``lucidnet.nn`` wraps them in modules. Import the submodules (``from lucidnet.fused import
conv``); this package imports them only when asked, so that it stays cheap.
"""
