"""Named things built from config (models, optimizers, analysis kinds): one small registry.

A ``Registry`` maps names to objects. Entries come from ``@registry.register("name")``
(or ``registry.register("name", obj)``), either in the module that holds the registry or
in the modules it names in ``modules``: those are imported, by name, on the first lookup
(``get``, ``names``, ``in``), so that a module holding entries may import the registry
without the registry importing it back at import time. A name registered twice is an
error, and so is a listed module that cannot be imported (nothing is skipped).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable

__all__ = ["Registry"]


class Registry:
    """Names of one ``kind`` (used in error messages, e.g. ``"model"``) to objects."""

    def __init__(self, kind: str, modules: Iterable[str] = ()):
        self.kind = kind
        self.modules = tuple(modules)
        self._entries: dict[str, Any] = {}
        self._loaded = False

    def register(self, name: str, obj: Any = None) -> Callable:
        """``@register(name)`` decorator, or ``register(name, obj)``; returns the object."""
        if obj is not None:
            self._add(name, obj)
            return obj

        def deco(o):
            self._add(name, o)
            return o
        return deco

    def _add(self, name: str, obj: Any) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} registered twice: by {_where(self._entries[name])} "
                             f"and by {_where(obj)}")
        self._entries[name] = obj

    def load(self) -> None:
        """Import the modules that register entries here (once; import errors propagate)."""
        if self._loaded:
            return
        self._loaded = True  # before importing: a lookup during the imports sees what is there
        for mod in self.modules:
            before = dict(self._entries)
            try:
                importlib.import_module(mod)
            except BaseException:
                # a module that failed is gone from sys.modules and runs again on the next
                # lookup: forget what it registered, so that the retry raises its own error
                # again instead of "registered twice"
                self._entries, self._loaded = before, False
                raise

    def get(self, name: str) -> Any:
        self.load()
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._entries))}") from None

    def names(self) -> list[str]:
        self.load()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, modules={self.modules!r})"


def _where(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"
