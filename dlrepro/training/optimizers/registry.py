"""The optimizer registry.

``build_optimizer(params, spec)`` takes the run's ``optimizer`` mapping
(``{name: adamw, lr: 0.01, ...}``); the remaining keys are the optimizer's own
hyper-parameters. The entries come from the modules that the package
(``dlrepro.training.optimizers``) imports: PyTorch's optimizers under their lower-case
names (``torch_optimizers``) and the Keras-semantics ports as ``keras_*`` (``keras``).
Importing any module of the package runs its ``__init__`` first, so the registry is
always full; a new optimizer module is imported there.
"""
from __future__ import annotations

import torch

from dlrepro.registry import Registry

REGISTRY = Registry("optimizer")
register_optimizer = REGISTRY.register


def optimizer_names() -> list[str]:
    return REGISTRY.names()


def build_optimizer(params, spec: dict) -> torch.optim.Optimizer:
    spec = dict(spec)
    cls = REGISTRY.get(spec.pop("name"))
    return cls(params, **spec)
