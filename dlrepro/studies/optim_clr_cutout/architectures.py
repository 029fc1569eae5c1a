"""The real modules behind write-up 003's Problem 3 arithmetic, and measurements on them.

AlexNet, VGG-19 and the two inception modules as ``nn`` modules (built on the ``meta``
device by default: real layer objects whose tensors carry shapes but no storage), the
receptive field of a conv stack (by formula and measured by back-propagation), and a
FLOP counter. :mod:`dlrepro.studies.optim_clr_cutout.arithmetic` tabulates them beside
the write-up's numbers.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn


# --------------------------------------------------------------------------- shapes

def trace_shapes(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Size]:
    """Forward ``x`` once; return the output shape of every direct child, by name."""
    shapes: dict[str, torch.Size] = {}
    hooks = [child.register_forward_hook(
        lambda _m, _i, out, name=name: shapes.__setitem__(name, out.shape))
        for name, child in model.named_children()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes


# --------------------------------------------------------------------------- AlexNet

def alexnet(grouped: bool = False, num_classes: int = 1000,
            device: str | torch.device = "meta") -> nn.Sequential:
    """AlexNet of Krizhevsky et al. 2012 (Sec. 3.5, Fig. 2) as one ``nn.Sequential``.

    Widths 96-256-384-384-256 and 4096-4096-1000, input 3x227x227 (the 224 of the paper's
    figure does not give its 55x55 maps with an 11x11 stride-4 unpadded conv; 227 does).
    ``grouped=False`` is the one-GPU (ungrouped) net the write-up counts: 62,378,344
    parameters. ``grouped=True`` splits conv2, conv4 and conv5 into two groups as on the
    paper's two GPUs: 60,965,224 parameters (the paper's "60 million"). torchvision's
    ``alexnet`` (64-192-384-256-256, from the "one weird trick" paper) has 61,100,840
    and is neither.
    """
    g = 2 if grouped else 1
    with torch.device(device):
        return nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, 96, 11, stride=4)),
            ("relu1", nn.ReLU()),
            ("norm1", nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)),
            ("pool1", nn.MaxPool2d(3, stride=2)),
            ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=g)),
            ("relu2", nn.ReLU()),
            ("norm2", nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)),
            ("pool2", nn.MaxPool2d(3, stride=2)),
            ("conv3", nn.Conv2d(256, 384, 3, padding=1)),
            ("relu3", nn.ReLU()),
            ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=g)),
            ("relu4", nn.ReLU()),
            ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=g)),
            ("relu5", nn.ReLU()),
            ("pool5", nn.MaxPool2d(3, stride=2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(6 * 6 * 256, 4096)),
            ("relu6", nn.ReLU()),
            ("drop6", nn.Dropout(0.5)),
            ("fc2", nn.Linear(4096, 4096)),
            ("relu7", nn.ReLU()),
            ("drop7", nn.Dropout(0.5)),
            ("fc3", nn.Linear(4096, num_classes)),
        ]))


# --------------------------------------------------------------------------- VGG-19

#: VGG configuration "E" (19 weight layers), Simonyan & Zisserman 2015, Table 1.
VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
             512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]


def vgg19(num_classes: int = 1000, device: str | torch.device = "meta") -> nn.Sequential:
    """VGG-19: 3x3 stride-1 pad-1 convs, 2x2 stride-2 max-pools, FC 4096-4096-1000 on a
    3x224x224 input; 143,667,240 parameters (143,652,544 without biases)."""
    layers: list[tuple[str, nn.Module]] = []
    c, n_conv, n_pool = 3, 0, 0
    with torch.device(device):
        for v in VGG19_CFG:
            if v == "M":
                n_pool += 1
                layers.append((f"pool{n_pool}", nn.MaxPool2d(2, stride=2)))
            else:
                n_conv += 1
                layers.append((f"conv{n_conv}", nn.Conv2d(c, v, 3, padding=1)))
                layers.append((f"relu{n_conv}", nn.ReLU()))
                c = v
        layers += [("flatten", nn.Flatten()),
                   ("fc1", nn.Linear(7 * 7 * 512, 4096)), ("relu_fc1", nn.ReLU()),
                   ("fc2", nn.Linear(4096, 4096)), ("relu_fc2", nn.ReLU()),
                   ("fc3", nn.Linear(4096, num_classes))]
        return nn.Sequential(OrderedDict(layers))


# --------------------------------------------------------------------------- receptive field

def receptive_field(kernels: list[int], strides: list[int] | None = None,
                    dilations: list[int] | None = None) -> int:
    """Receptive field (side, in input pixels) of one output unit of a conv stack:
    ``1 + sum_i d_i (k_i - 1) prod_{j<i} s_j``. For N stride-1 FxF layers this is
    ``N(F - 1) + 1 = NF - N + 1``."""
    strides = strides or [1] * len(kernels)
    dilations = dilations or [1] * len(kernels)
    rf, jump = 1, 1
    for k, s, d in zip(kernels, strides, dilations):
        rf += d * (k - 1) * jump
        jump *= s
    return rf


def stacked_rf_formula(n_layers: int, kernel: int) -> int:
    """``N F - N + 1``: the side of the single conv equivalent to N stacked FxF convs."""
    return n_layers * kernel - n_layers + 1


def measure_receptive_field(n_layers: int, kernel: int, stride: int = 1) -> int:
    """Receptive field of a real stack of ``n_layers`` ``Conv2d(1, 1, kernel)`` modules,
    measured as the extent of the nonzero gradient of the centre output w.r.t. the input.

    Weights are all ones (no cancellation can hide a pixel), no bias, no padding, float64.
    """
    rf = receptive_field([kernel] * n_layers, [stride] * n_layers)
    size = rf + 2 * kernel * stride ** max(n_layers - 1, 0)     # a margin on every side
    convs = [nn.Conv2d(1, 1, kernel, stride=stride, bias=False, dtype=torch.float64)
             for _ in range(n_layers)]
    for c in convs:
        nn.init.ones_(c.weight)
    stack = nn.Sequential(*convs)
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = stack(x)
    h, w = y.shape[-2:]
    y[0, 0, h // 2, w // 2].backward()
    nz = x.grad[0, 0].abs() > 0
    rows = torch.nonzero(nz.any(dim=1)).flatten()
    cols = torch.nonzero(nz.any(dim=0)).flatten()
    height = int(rows.max() - rows.min() + 1)
    width = int(cols.max() - cols.min() + 1)
    if height != width:
        raise AssertionError(f"non-square receptive field {height}x{width}")
    return height


# --------------------------------------------------------------------------- inception

class _Concat(nn.Module):
    def __init__(self, branches: "OrderedDict[str, nn.Module]"):
        super().__init__()
        self.branches = nn.ModuleDict(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches.values()], dim=1)


def inception_module(version: str, cin: int = 256, n1x1: int = 128, n3x3: int = 192,
                     n5x5: int = 96, reduce3: int = 64, reduce5: int = 64,
                     pool_proj: int = 64, device: str | torch.device = "meta") -> _Concat:
    """Inception module of Szegedy et al. 2015, Fig. 2: ``naive`` (a) or ``reduced`` (b,
    1x1 reductions before the 3x3/5x5 convs and after the pool). Filter numbers as the
    write-up uses them: 1x1 128, 3x3 192, 5x5 96, reductions and pool projection 64.
    Every conv is 'same' (stride 1); the pool is 3x3 stride 1 pad 1."""
    with torch.device(device):
        if version == "naive":
            br = OrderedDict([
                ("1x1", nn.Sequential(OrderedDict([("conv1x1", nn.Conv2d(cin, n1x1, 1))]))),
                ("3x3", nn.Sequential(OrderedDict([("conv3x3", nn.Conv2d(cin, n3x3, 3, padding=1))]))),
                ("5x5", nn.Sequential(OrderedDict([("conv5x5", nn.Conv2d(cin, n5x5, 5, padding=2))]))),
                ("pool", nn.Sequential(OrderedDict([("maxpool3x3", nn.MaxPool2d(3, 1, 1))]))),
            ])
        elif version == "reduced":
            br = OrderedDict([
                ("1x1", nn.Sequential(OrderedDict([("conv1x1", nn.Conv2d(cin, n1x1, 1))]))),
                ("3x3", nn.Sequential(OrderedDict([
                    ("reduce1x1", nn.Conv2d(cin, reduce3, 1)),
                    ("conv3x3", nn.Conv2d(reduce3, n3x3, 3, padding=1))]))),
                ("5x5", nn.Sequential(OrderedDict([
                    ("reduce1x1", nn.Conv2d(cin, reduce5, 1)),
                    ("conv5x5", nn.Conv2d(reduce5, n5x5, 5, padding=2))]))),
                ("pool", nn.Sequential(OrderedDict([
                    ("maxpool3x3", nn.MaxPool2d(3, 1, 1)),
                    ("proj1x1", nn.Conv2d(cin, pool_proj, 1))]))),
            ])
        else:
            raise ValueError(f"version must be 'naive' or 'reduced', got {version!r}")
        return _Concat(br)


def count_flops(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(output, total FLOPs) of one forward pass under ``FlopCounterMode`` (2 per MAC)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = module(x)
    return y, int(counter.get_total_flops())
