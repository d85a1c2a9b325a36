"""Automatic differentiation: graph nodes, the backward engine, its hook points, and grad-mode switches."""
from . import hooks
from .engine import backward
from .function import Function, unbroadcast
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck

__all__ = ["hooks", "Function", "backward", "gradcheck", "unbroadcast", "no_grad", "enable_grad", "is_grad_enabled",
           "set_grad_enabled"]
