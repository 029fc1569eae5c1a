"""ResNet v1 for CIFAR-10: the Keras example ``resnet_v1`` that seed 003 (P4) copies.

Source: keras-team ``examples/cifar10_resnet.py`` (also Advanced Deep Learning with Keras,
chapter 2, ``resnet-cifar10-2.2.1.py``), reproduced in the seed itself:

* ``resnet_layer`` = Conv2D(k x k, stride, 'same', he_normal, L2(1e-4)) ->
  BatchNormalization -> ReLU (activation and BN optional);
* stem ``resnet_layer(16)``; three stages of n blocks with 16/32/64 filters, depth
  6n + 2; block: y = layer(x, stride) ; y = layer(y, no activation);
  the first block of stages 2 and 3 halves the map (stride 2) and projects the shortcut
  with a 1x1 stride-2 conv (no BN, no activation); x = ReLU(x + y);
* AveragePooling2D(8) -> Flatten -> Dense(10, he_normal) [-> softmax].

Trainable parameter counts (``n_params``): ResNet-20 273,066, ResNet-32 467,946,
ResNet-44 662,826, ResNet-56 857,706, ResNet-110 1,734,666 -- close to, not equal to,
the 0.27/0.46/0.66/0.85/1.7M the Keras docstring quotes from He et al. 2016, Table 6,
whose option-A (zero-padding identity) shortcuts carry no parameters. Adding the BN moving mean/variance buffers gives Keras's
``model.summary()`` "Total params": 274,442 / 470,218 / 665,994 / 861,770 / 1,742,762;
published Keras summaries of this example read ResNet-20 v1 "Total params: 274,442,
Trainable params: 273,066, Non-trainable params: 1,376", ResNet-32 "470,218 /
467,946 / 2,272" and ResNet-56 "Total params: 861,770" (exact matches).

Fidelity details:

* TF's ``padding='same'`` with stride 2 on an even-sized map pads one row/column at
  the bottom/right only (PyTorch's ``padding=1`` pads both sides, which shifts the
  sampling grid by one pixel). :class:`Conv2dSame` reproduces TF's rule.
* BN uses Keras defaults (momentum 0.99 -> torch 0.01, eps 1e-3).
* ``l2_params()`` lists every Conv2D kernel (all carry ``kernel_regularizer=l2(1e-4)``
  in the Keras code, the 1x1 projections included; penalty ``1e-4 * sum(w**2)``, no 1/2).
  The final Dense has **no** regularizer in the Keras code, so it is not listed; biases
  and BN parameters are not regularised either.

Registered as ``resnet_v1(depth=44, in_channels=3, num_classes=10)``; returns logits.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlrepro.models import register
from dlrepro.models.keras_mlp import he_normal_, keras_bn2d


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's 'same' padding (extra pad at bottom/right)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, bias: bool = True):
        super().__init__(cin, cout, k, stride=stride, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size),
                              reversed(self.stride)):
            out = math.ceil(size / s)
            total = max((out - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return super().forward(x)


class ResnetLayer(nn.Sequential):
    """Keras ``resnet_layer`` with ``conv_first=True``: conv -> [BN] -> [ReLU]."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1,
                 activation: bool = True, batch_norm: bool = True):
        mods: list[nn.Module] = [Conv2dSame(cin, cout, k, stride)]
        if batch_norm:
            mods.append(keras_bn2d(cout))
        if activation:
            mods.append(nn.ReLU())
        super().__init__(*mods)


class BasicBlockV1(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.layer1 = ResnetLayer(cin, cout, 3, stride)
        self.layer2 = ResnetLayer(cout, cout, 3, 1, activation=False)
        self.shortcut = (ResnetLayer(cin, cout, 1, stride, activation=False, batch_norm=False)
                         if (stride != 1 or cin != cout) else nn.Identity())
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shortcut(x) + self.layer2(self.layer1(x)))


class ResNetV1(nn.Module):
    def __init__(self, depth: int = 44, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        if depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError(f"depth must be 6n+2 (20, 32, 44, 56, 110, ...), got {depth}")
        self.depth = depth
        n = (depth - 2) // 6
        self.stem = ResnetLayer(in_channels, 16)
        blocks: list[nn.Module] = []
        cin = 16
        for stage, filters in enumerate((16, 32, 64)):
            for b in range(n):
                stride = 2 if (stage > 0 and b == 0) else 1
                blocks.append(BasicBlockV1(cin, filters, stride))
                cin = filters
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AvgPool2d(8)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                he_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def l2_params(self) -> list[nn.Parameter]:
        """All conv kernels (Keras ``kernel_regularizer=l2(1e-4)``); not the Dense."""
        return [m.weight for m in self.modules() if isinstance(m, nn.Conv2d)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.blocks(self.stem(x)))
        return self.fc(self.flatten(x))


@register("resnet_v1")
def resnet_v1(depth: int = 44, in_channels: int = 3, num_classes: int = 10) -> nn.Module:
    """Keras-example ResNet v1 for CIFAR (depth 6n+2); see the module docstring."""
    return ResNetV1(depth=depth, in_channels=in_channels, num_classes=num_classes)
