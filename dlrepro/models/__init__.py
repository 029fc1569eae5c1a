"""Model registry: every architecture of the five write-ups, built by name from config.

A builder is registered with ``@register("name")`` in one of the modules listed in
``MODULES`` and called as ``build(name, **model_args)``; it returns an ``nn.Module`` that
maps a float batch ``[N, C, H, W]`` to logits ``[N, classes]`` (or to probabilities where
a write-up's quirk says so, see ``softmax_output``). A new family module goes into
``MODULES``.
"""
from __future__ import annotations

import torch.nn as nn

from dlrepro.registry import Registry

MODULES = (
    "dlrepro.models.cifar_cnn",
    "dlrepro.models.googlenet",
    "dlrepro.models.keras_mlp",
    "dlrepro.models.mlp",
    "dlrepro.models.resnet_cifar",
)
REGISTRY = Registry("model", MODULES)
register = REGISTRY.register


def names() -> list[str]:
    return REGISTRY.names()


def build(name: str, **kwargs) -> nn.Module:
    return REGISTRY.get(name)(**kwargs)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
