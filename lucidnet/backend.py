"""The one door to the array library.

Every kernel of the engine reaches NumPy through ``xp`` from this module, so that a second array
backend (CuPy mirrors NumPy's API) can be swapped in later without touching the ops. (The switches and
process-wide settings, the allocator's among them, live in ``lucidnet.config``.)
"""
from __future__ import annotations

import numpy as xp  # noqa: F401  (the array library of the engine)

__all__ = ["xp"]
