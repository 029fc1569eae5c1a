"""CIFAR-10 networks of seed 004 (study ``cifar_cnn``, STUDIES.md section 5).

All builders map a float batch ``[N, 3, 32, 32]`` to logits ``[N, num_classes]``; the
loss (``CrossEntropyLoss`` on logits) lives in the engine.

Registered names and their parameter counts (10 classes):

==================  =========================================================  =========
name                kwargs                                                     params
==================  =========================================================  =========
``cnn_p1a``         ``in_channels=3, num_classes=10``                          38,650
``cnn_p1b``         ``in_channels=3, num_classes=10``                          11,138
``resnet_like``     ``variant="plain", shared_blocks=True``                    76,042
``resnet_like``     ``variant="plain", shared_blocks=False``                   159,274
``resnet_like``     ``variant="dropout"`` (Dropout2d 0.3; shared)              76,042
``resnet_like``     ``variant="batchnorm"`` (shared)                           76,138
``resnet_like``     ``variant="batchnorm", shared_blocks=False``               159,658
``fc_baseline``     ``in_features=3072, hidden=512, num_classes=10``           1,578,506
==================  =========================================================  =========

``resnet_like`` also takes ``n_blocks=10``, ``channels=32`` and ``p_drop=0.3``.
The P2b "L2" run is the plain net with a loss penalty (0.001 * sum of squares of all
parameters, biases included): nothing in the architecture changes.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from dlrepro.models import register

VARIANTS = ("plain", "dropout", "batchnorm")


@register("cnn_p1a")
def cnn_p1a(in_channels: int = 3, num_classes: int = 10) -> nn.Module:
    """P1a: Conv(3,32,3,p1) ReLU MaxPool2 -> Conv(32,16,3,p1) ReLU MaxPool2 ->
    Linear(1024,32) ReLU -> Linear(32,10). 38,650 parameters."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 8 * 8, 32), nn.ReLU(),
        nn.Linear(32, num_classes),
    )


@register("cnn_p1b")
def cnn_p1b(in_channels: int = 3, num_classes: int = 10) -> nn.Module:
    """P1b: P1a plus Conv(16,8,3,p1) ReLU MaxPool2, then Linear(128,32) **Tanh** ->
    Linear(32,10) (the seed's head uses Tanh here, not ReLU). 11,138 parameters."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 32), nn.Tanh(),
        nn.Linear(32, num_classes),
    )


class ResBlock(nn.Module):
    """The seed's residual block, ``out = f(x) + x`` with a 3x3 'same' convolution.

    * ``plain``:     f = ReLU(Conv(x))
    * ``dropout``:   f = ReLU(Dropout2d(p)(Conv(x)))
    * ``batchnorm``: f = BatchNorm(ReLU(Conv_nobias(x))); conv kaiming-normal (fan_in,
      gain sqrt 2), BN weight 0.5, BN bias 0 (the seed author's initialisation).
    """

    def __init__(self, channels: int = 32, variant: str = "plain", p_drop: float = 0.3):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.variant = variant
        bn = variant == "batchnorm"
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=not bn)
        self.drop = nn.Dropout2d(p_drop) if variant == "dropout" else nn.Identity()
        self.act = nn.ReLU()
        self.bn = nn.BatchNorm2d(channels) if bn else nn.Identity()
        if bn:
            nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")
            nn.init.constant_(self.bn.weight, 0.5)
            nn.init.zeros_(self.bn.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.act(self.drop(self.conv(x)))) + x


class ResNetLike(nn.Module):
    """P2a/P2b "ResNet-10": stem Conv(3,32,3,p1) [Dropout2d] ReLU [BatchNorm] MaxPool2
    (16x16x32) -> residual block x ``n_blocks`` -> MaxPool2 (8x8x32) -> Linear(2048,32)
    ReLU -> Linear(32,10).

    ``shared_blocks=True`` is the seed's net: **one** block module applied ``n_blocks``
    times (its weights are shared across depths, 76,042 parameters; with batch norm the
    one BatchNorm's running statistics are also shared across depths).
    ``shared_blocks=False`` builds ``n_blocks`` independent blocks (159,274 parameters),
    which is what a ResNet-10 would usually mean.
    """

    def __init__(self, variant: str = "plain", shared_blocks: bool = True, n_blocks: int = 10,
                 channels: int = 32, p_drop: float = 0.3, in_channels: int = 3,
                 num_classes: int = 10):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.variant = variant
        self.shared_blocks = shared_blocks
        self.n_blocks = n_blocks
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1),
            nn.Dropout2d(p_drop) if variant == "dropout" else nn.Identity(),
            nn.ReLU(),
            nn.BatchNorm2d(channels) if variant == "batchnorm" else nn.Identity(),
            nn.MaxPool2d(2),
        )
        if shared_blocks:
            # One module, stored once (so state_dict holds one copy), called n times.
            self.block = ResBlock(channels, variant, p_drop)
        else:
            self.blocks = nn.ModuleList(ResBlock(channels, variant, p_drop)
                                        for _ in range(n_blocks))
        self.head = nn.Sequential(
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(channels * 8 * 8, 32), nn.ReLU(),
            nn.Linear(32, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if self.shared_blocks:
            for _ in range(self.n_blocks):
                x = self.block(x)
        else:
            for blk in self.blocks:
                x = blk(x)
        return self.head(x)


@register("resnet_like")
def resnet_like(variant: str = "plain", shared_blocks: bool = True, n_blocks: int = 10,
                channels: int = 32, p_drop: float = 0.3, in_channels: int = 3,
                num_classes: int = 10) -> nn.Module:
    """P2a (``variant="plain"``) and the P2b dropout / batch-norm variants; see
    :class:`ResNetLike`. ``variant`` is one of ``plain``, ``dropout``, ``batchnorm``."""
    return ResNetLike(variant=variant, shared_blocks=shared_blocks, n_blocks=n_blocks,
                      channels=channels, p_drop=p_drop, in_channels=in_channels,
                      num_classes=num_classes)


@register("fc_baseline")
def fc_baseline(in_features: int = 3 * 32 * 32, hidden: int = 512,
                num_classes: int = 10) -> nn.Module:
    """Reference row: the author's previous-homework MLP, Flatten -> Linear(3072,512)
    Tanh -> Linear(512,10); 1,578,506 parameters.

    The seed ended the net with ``LogSoftmax`` and trained with ``NLLLoss``;
    ``NLLLoss(LogSoftmax(z)) == CrossEntropyLoss(z)`` exactly, so this builder returns
    the logits ``z`` and the engine's cross-entropy reproduces the seed's loss.
    """
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_features, hidden), nn.Tanh(),
        nn.Linear(hidden, num_classes),
    )
