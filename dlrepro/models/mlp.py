"""The fully connected nets of seeds 000 (Fashion-MNIST) and 001 (KMNIST)."""
from __future__ import annotations

import torch
import torch.nn as nn

from dlrepro.models import register

# seed 001: hidden widths and where BatchNorm / Dropout(0.5) go, per architecture.
# Each entry: (widths, batchnorm before every ReLU, number of leading layers followed by dropout)
KMNIST_ARCHS = {
    "plain": ((256, 256), False, 0),
    "drop": ((256, 256), False, 1),
    "bn": ((256, 256), True, 0),
    "both": ((256, 256), True, 1),
    "five_layer": ((512, 512, 256, 256), True, 3),
    "shl": ((256,), True, 1),
}


@register("kmnist_mlp")
def kmnist_mlp(arch: str = "plain", in_features: int = 784, classes: int = 10) -> nn.Module:
    """seed 001's ``model``, ``model_drop``, ``model_bn``, ``model_both``,
    ``model_five_layer`` and ``model_shl``: Linear → [BatchNorm1d] → ReLU → [Dropout(0.5)]."""
    try:
        widths, bn, n_drop = KMNIST_ARCHS[arch]
    except KeyError:
        raise ValueError(f"unknown kmnist_mlp arch {arch!r}; known: {', '.join(KMNIST_ARCHS)}") from None
    layers: list[nn.Module] = [nn.Flatten()]
    prev = in_features
    for i, w in enumerate(widths):
        layers.append(nn.Linear(prev, w))
        if bn:
            layers.append(nn.BatchNorm1d(w))
        layers.append(nn.ReLU())
        if i < n_drop:
            layers.append(nn.Dropout(0.5))
        prev = w
    layers.append(nn.Linear(prev, classes))
    return nn.Sequential(*layers)


class FashionMLP(nn.Module):
    """seed 000's ``MLP(k, hidden)``: Linear(784,h), ReLU, k x [Linear(h,h), ReLU], Linear(h,10).

    ``softmax_output=True`` reproduces the seed's quirk: ``forward`` returns
    probabilities, which the training loss (CrossEntropyLoss) softmaxes a second time.
    """

    def __init__(self, k: int = 2, hidden: int = 64, in_features: int = 784, classes: int = 10,
                 softmax_output: bool = False):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU()]
        for _ in range(k):
            layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        layers.append(nn.Linear(hidden, classes))
        self.net = nn.Sequential(*layers)
        self.softmax_output = softmax_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return torch.softmax(out, dim=1) if self.softmax_output else out


@register("fashion_mlp")
def fashion_mlp(**kwargs) -> nn.Module:
    return FashionMLP(**kwargs)
