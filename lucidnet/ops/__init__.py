"""The primitive ops of the engine, each a Function with its forward and backward side by side."""
from . import index, inplace
from .activation import (elu, gelu, hardtanh, leaky_relu, log_softmax, relu, relu6, sigmoid, silu, softmax, softplus,
                         tanh)
from .arithmetic import (abs, add, clamp, clip, cos, div, exp, log, maximum, minimum, mul, neg, pow, sin,  # noqa: A004
                         sqrt, sub, where)
from .index import gather, getitem, one_hot, scatter
from .unary import (acos, asin, atan, ceil, cosh, exp2, expm1, floor, log1p, log2, log10, reciprocal, round,  # noqa: A004
                    rsqrt, sign, sinh, square, tan, trunc)
from .linalg import bmm, einsum, linear, matmul, mm
from .misc import cast, clone, compare, eq, ge, gt, le, lt, ne
from .reduce import (argmax, argmin, argsort, cumsum, logsumexp, max, mean, min, sort, std, sum,  # noqa: A004
                     topk, var)
from .shape import (broadcast_to, cat, chunk, concatenate, expand, flatten, flip, moveaxis, movedim, narrow, pad,
                    permute, repeat, reshape, select, split, squeeze, stack, swapaxes, swapdims, transpose, tril, triu,
                    unbind, unflatten, unsqueeze)

__all__ = [
    "abs", "add", "argmax", "argmin", "broadcast_to", "cast", "cat", "chunk", "clamp", "clip", "clone", "compare", "cos",
    "concatenate", "div", "elu", "eq", "exp", "expand", "flatten", "gather", "ge", "gelu", "getitem", "gt", "hardtanh", "index",
    "le", "leaky_relu", "linear", "log", "log_softmax", "logsumexp", "lt", "matmul", "max", "maximum", "mean", "min",
    "minimum", "mul", "ne", "neg", "pad", "permute", "pow", "relu", "relu6", "reshape", "sigmoid", "silu", "softmax",
    "sin", "softplus", "split", "sqrt", "squeeze", "stack", "std", "sub", "sum", "tanh", "transpose", "unsqueeze", "var",
    "where", "one_hot", "scatter", "bmm", "einsum", "mm", "argsort", "cumsum", "sort", "topk", "flip", "narrow",
    "repeat", "tril", "triu", "acos", "asin", "atan", "ceil", "cosh", "exp2", "expm1", "floor", "log1p", "log2",
    "log10", "reciprocal", "round", "rsqrt", "sign", "sinh", "square", "tan", "trunc", "moveaxis", "movedim",
    "select", "swapaxes", "swapdims", "unbind", "unflatten",
]
