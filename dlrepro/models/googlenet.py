"""MiniGoogLeNet, the network seed 003 (P2) imports from ``pyimagesearch.minigooglenet``.

Layer list checked against the published pyimagesearch code (Adrian Rosebrock,
"3 ways to create a Keras model with TensorFlow 2.0", pyimagesearch.com, 2019-10-28,
``minigooglenet_functional``; the same ``MiniGoogLeNet.build`` ships with the
pyimagesearch cyclical-learning-rate / learning-rate-finder tutorials and the book
*Deep Learning for Computer Vision with Python*), which credits the "Inception (small)"
net of Zhang et al. 2017, "Understanding deep learning requires rethinking
generalization" (arXiv:1611.03530), Figure 3:

* conv module(K, k, s, pad) = Conv2D(K, k x k, stride s, pad) -> BatchNormalization -> ReLU
* inception(a, b) = concat[conv module(a, 1x1), conv module(b, 3x3 'same')]
* downsample(K) = concat[conv module(K, 3x3, stride 2, 'valid'), MaxPool(3x3, stride 2)]
* net: conv(96, 3x3) -> inc(32,32) -> inc(32,48) -> down(80) -> inc(112,48) ->
  inc(96,64) -> inc(80,80) -> inc(48,96) -> down(96) -> inc(176,160) -> inc(176,160) ->
  AveragePooling(7x7) -> Dropout(0.5) -> Flatten -> Dense(classes) [-> softmax]

Spatial sizes for a 32x32 input: 32 -> 15 (first downsample) -> 7 (second) -> 1 (pool).
Channels: 96, 64, 80, 160, 160, 160, 160, 144, 240, 336, 336.
Parameter count (``n_params``, trainable; BN running statistics are buffers), 10
classes: 1,651,098 for ``in_channels=1`` (Fashion-MNIST resized to 32x32) and
1,652,826 for ``in_channels=3``. Keras's ``model.summary()`` "Total params" adds the BN
moving mean/variance (2 per BN channel: 3,424 more); a published Keras summary of this
net on 32x32x3 input reads "Total params: 1,656,250, Trainable params: 1,652,826,
Non-trainable params: 3,424", which this port matches exactly.

Registered as ``mini_googlenet(in_channels=1, num_classes=10, keras_init=True)``; the
output is logits (the softmax is in the loss). ``keras_init`` applies Keras defaults:
glorot-uniform kernels, zero biases, BN momentum 0.99 / eps 1e-3 (BN is always built
with Keras's momentum/eps).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from dlrepro.models import register
from dlrepro.models.keras_mlp import glorot_uniform_, keras_bn2d


class ConvModule(nn.Sequential):
    """Conv2D -> BatchNormalization -> ReLU (pyimagesearch ``conv_module``)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, padding: str = "same"):
        if padding == "same":
            if stride != 1 or k % 2 != 1:
                raise ValueError("'same' padding is only used with odd k and stride 1 here")
            pad = k // 2
        elif padding == "valid":
            pad = 0
        else:
            raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
        super().__init__(nn.Conv2d(cin, cout, k, stride=stride, padding=pad),
                         keras_bn2d(cout), nn.ReLU())
        self.out_channels = cout


class Inception(nn.Module):
    """concat[1x1 conv module (a), 3x3 conv module (b)] -> a + b channels."""

    def __init__(self, cin: int, a: int, b: int):
        super().__init__()
        self.conv1x1 = ConvModule(cin, a, 1)
        self.conv3x3 = ConvModule(cin, b, 3)
        self.out_channels = a + b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv1x1(x), self.conv3x3(x)], dim=1)


class Downsample(nn.Module):
    """concat[3x3 stride-2 'valid' conv module (K), 3x3 stride-2 max-pool] -> K + cin."""

    def __init__(self, cin: int, k: int):
        super().__init__()
        self.conv = ConvModule(cin, k, 3, stride=2, padding="valid")
        self.pool = nn.MaxPool2d(3, stride=2)
        self.out_channels = k + cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.pool(x)], dim=1)


class MiniGoogLeNet(nn.Module):
    """See the module docstring for the layer list and its source."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, keras_init: bool = True):
        super().__init__()
        plan = [("inc", 32, 32), ("inc", 32, 48), ("down", 80),
                ("inc", 112, 48), ("inc", 96, 64), ("inc", 80, 80), ("inc", 48, 96),
                ("down", 96),
                ("inc", 176, 160), ("inc", 176, 160)]
        layers: list[nn.Module] = [ConvModule(in_channels, 96, 3)]
        c = 96
        for kind, *args in plan:
            m = Inception(c, *args) if kind == "inc" else Downsample(c, *args)
            layers.append(m)
            c = m.out_channels
        self.features = nn.Sequential(*layers)
        self.pool = nn.AvgPool2d(7)
        self.dropout = nn.Dropout(0.5)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c, num_classes)
        if keras_init:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    glorot_uniform_(m.weight)
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.fc(self.flatten(self.dropout(x)))


@register("mini_googlenet")
def mini_googlenet(in_channels: int = 1, num_classes: int = 10,
                   keras_init: bool = True) -> nn.Module:
    """MiniGoogLeNet (pyimagesearch / Zhang et al. 2017 "Inception (small)")."""
    return MiniGoogLeNet(in_channels=in_channels, num_classes=num_classes,
                         keras_init=keras_init)
