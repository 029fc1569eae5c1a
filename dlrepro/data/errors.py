"""The data layer's one exception (no torch, no torchvision: every module may raise it)."""
from __future__ import annotations

__all__ = ["DataError"]


class DataError(RuntimeError):
    """A data problem with an actionable message (which file, what is wrong, the fix)."""
