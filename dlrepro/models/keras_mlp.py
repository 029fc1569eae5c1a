"""Seed 003 P1: the Keras MLP for CIFAR-10, ported to PyTorch, plus Keras initialisers.

Keras definitions reproduced here (shared with ``googlenet`` and ``resnet_cifar``):

* ``HeNormal`` / ``he_normal`` = ``VarianceScaling(scale=2, mode="fan_in",
  distribution="truncated_normal")``: a normal truncated at +-2 of its own standard
  deviation, whose standard deviation is first divided by 0.87962566103423978 (the
  standard deviation of a unit normal truncated to [-2, 2]) so that the standard
  deviation *after* truncation is ``sqrt(2 / fan_in)``.
* ``glorot_uniform`` (Keras's default kernel initialiser for Dense and Conv2D):
  U(-l, l), ``l = sqrt(6 / (fan_in + fan_out))``; fans include the receptive field,
  as in ``torch.nn.init.xavier_uniform_``.
* Biases: zeros (Keras's default ``bias_initializer``).
* Keras ``BatchNormalization`` defaults are ``momentum=0.99, epsilon=1e-3``, i.e.
  ``nn.BatchNorm2d(eps=1e-3, momentum=0.01)`` (see :func:`keras_bn2d`).

Registered: ``keras_mlp(dropout=False, in_features=3072, hidden=1000, num_classes=10)``,
4,084,010 parameters for CIFAR-10. It returns logits; Keras's final ``softmax`` plus
``categorical_crossentropy`` equals ``CrossEntropyLoss`` on these logits.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from dlrepro.models import register

#: standard deviation of a unit normal truncated to [-2, 2] (Keras / TF constant)
TRUNC_STD_FACTOR = 0.87962566103423978


@torch.no_grad()
def he_normal_(weight: torch.Tensor) -> torch.Tensor:
    """Keras ``he_normal`` in place: truncated normal, std ``sqrt(2/fan_in)`` after
    truncation at +-2 pre-truncation standard deviations."""
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
    std = math.sqrt(2.0 / max(1, fan_in)) / TRUNC_STD_FACTOR
    return nn.init.trunc_normal_(weight, mean=0.0, std=std, a=-2.0 * std, b=2.0 * std)


@torch.no_grad()
def glorot_uniform_(weight: torch.Tensor) -> torch.Tensor:
    """Keras ``glorot_uniform`` in place (identical to ``xavier_uniform_``, gain 1)."""
    return nn.init.xavier_uniform_(weight, gain=1.0)


def keras_bn2d(channels: int) -> nn.BatchNorm2d:
    """``BatchNormalization()`` with Keras defaults (momentum 0.99 -> torch 0.01, eps 1e-3)."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class KerasMLP(nn.Module):
    """Flatten -> [Dropout 0.2] -> Dense(1000, relu, HeNormal) -> [Dropout 0.5] ->
    Dense(1000, relu, HeNormal) -> [Dropout 0.5] -> Dense(10) (logits).

    ``l2_params()`` gives the two hidden kernels, the tensors Keras's
    ``kernel_regularizer='l2'`` (``L2(0.01)``: penalty ``0.01 * sum(w**2)``, no 1/2)
    acts on in the seed's L2 variant; the output layer and all biases are not penalised.

    Note: Keras flattens NHWC images, PyTorch NCHW; the two MLPs differ only by a fixed
    permutation of input units, which does not matter for a freshly initialised net.
    """

    def __init__(self, dropout: bool = False, in_features: int = 3 * 32 * 32,
                 hidden: int = 1000, num_classes: int = 10):
        super().__init__()
        self.flatten = nn.Flatten()
        self.drop_in = nn.Dropout(0.2) if dropout else nn.Identity()
        self.fc1 = nn.Linear(in_features, hidden)
        self.drop1 = nn.Dropout(0.5) if dropout else nn.Identity()
        self.fc2 = nn.Linear(hidden, hidden)
        self.drop2 = nn.Dropout(0.5) if dropout else nn.Identity()
        self.out = nn.Linear(hidden, num_classes)
        self.act = nn.ReLU()
        for layer in (self.fc1, self.fc2):
            he_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
        glorot_uniform_(self.out.weight)   # Keras Dense default
        nn.init.zeros_(self.out.bias)

    def l2_params(self) -> list[nn.Parameter]:
        """Hidden-layer kernels (the weights Keras ``kernel_regularizer='l2'`` covers)."""
        return [self.fc1.weight, self.fc2.weight]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop_in(self.flatten(x))
        x = self.drop1(self.act(self.fc1(x)))
        x = self.drop2(self.act(self.fc2(x)))
        return self.out(x)


@register("keras_mlp")
def keras_mlp(dropout: bool = False, in_features: int = 3 * 32 * 32, hidden: int = 1000,
              num_classes: int = 10) -> nn.Module:
    """Seed 003 P1 MLP; see :class:`KerasMLP`."""
    return KerasMLP(dropout=dropout, in_features=in_features, hidden=hidden,
                    num_classes=num_classes)
