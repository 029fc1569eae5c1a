"""Model registry: every architecture of the five write-ups, built by name from config.

A builder is registered with ``@register("name")`` and called as
``build(name, **model_args)``; it returns an ``nn.Module`` that maps a float batch
``[N, C, H, W]`` to logits ``[N, classes]`` (or to probabilities where a write-up's
quirk says so, see ``softmax_output``).
"""
from __future__ import annotations

from typing import Callable

import torch.nn as nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register(name: str):
    def deco(fn):
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = fn
        return fn
    return deco


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def build(name: str, **kwargs) -> nn.Module:
    _load_all()
    try:
        fn = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None
    return fn(**kwargs)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _load_all() -> None:
    # Import the modules that register builders (each adds to _REGISTRY on import).
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
