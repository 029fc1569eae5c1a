"""PyTorch's own optimizers, registered under their lower-case names."""
from __future__ import annotations

import torch

from dlrepro.training.optimizers.registry import register_optimizer

for _name, _cls in {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "rmsprop": torch.optim.RMSprop,
    "nadam": torch.optim.NAdam,
}.items():
    register_optimizer(_name, _cls)
