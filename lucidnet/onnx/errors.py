"""The errors of an export (PyTorch's names, ``torch.onnx.errors``); an export that raises writes nothing."""
from __future__ import annotations

__all__ = ["OnnxExporterError", "UnsupportedOperatorError"]


class OnnxExporterError(RuntimeError):
    """The model cannot be exported as asked; the message names the op and the layer where one is at fault."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op with no ONNX conversion (the message names the op, the layer that applied it, and what is
    supported)."""


def at(op, message: str) -> str:
    """``message`` prefixed with the op and the layer it ran in: ``Interpolate in layer up (Upsample): ...``."""
    return f"{op.name} in layer {op.layer}: {message}"
