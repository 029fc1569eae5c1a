"""Optimizer and learning-rate schedule registry.

``build_optimizer(params, spec)`` takes the run's ``optimizer`` mapping
(``{name: adamw, lr: 0.01, ...}``); the remaining keys are the optimizer's own
hyper-parameters. PyTorch's optimizers are available under their lower-case names;
Keras-semantics ports live in ``dlrepro.training.keras_optim`` and register here as ``keras_*``.
"""
from __future__ import annotations

from typing import Callable

import torch

_OPTIMIZERS: dict[str, Callable] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "rmsprop": torch.optim.RMSprop,
    "nadam": torch.optim.NAdam,
}


def register_optimizer(name: str):
    def deco(cls):
        if name in _OPTIMIZERS:
            raise ValueError(f"optimizer {name!r} registered twice")
        _OPTIMIZERS[name] = cls
        return cls
    return deco


def optimizer_names() -> list[str]:
    _load_all()
    return sorted(_OPTIMIZERS)


def build_optimizer(params, spec: dict) -> torch.optim.Optimizer:
    _load_all()
    spec = dict(spec)
    name = spec.pop("name")
    try:
        cls = _OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(sorted(_OPTIMIZERS))}") from None
    return cls(params, **spec)


def _load_all() -> None:
    try:
        import dlrepro.training.keras_optim  # noqa: F401  (registers keras_* optimizers)
    except ModuleNotFoundError as e:  # not written yet
        if e.name != "dlrepro.training.keras_optim":
            raise
