"""Seed 003, Problem 3: architecture arithmetic, computed from real ``nn`` modules.

Every number here comes from instantiated PyTorch modules (parameter tensors, shapes
propagated by an actual forward pass, FLOPs from ``torch.utils.flop_counter``), never
typed in. The modules are built on the ``meta`` device by default: real layer objects
whose tensors carry shapes but no storage, so VGG-19's 143 M parameters cost no memory
and a forward pass costs no arithmetic. The seed's own numbers (``seed003_p3.yaml``) are
set beside the computed ones and every disagreement is flagged.

Tables (``tables()`` returns them by key; each function returns one DataFrame):

``alexnet_params``   :func:`alexnet_table`        per-layer and total AlexNet parameters
``vgg19``            :func:`vgg19_table`          VGG-19 activations / parameters per layer
``receptive_field``  :func:`receptive_field_table` N stacked FxF convs, formula vs measured
``inception_ops``    :func:`inception_ops_table`  per-layer multiplications, both modules
``inception_summary`` :func:`inception_summary_table` output depth and totals, both modules

FLOP convention: ``FlopCounterMode`` counts a multiply-accumulate as **2 FLOPs**
(convolution FLOPs = 2 * H_out * W_out * C_out * k * k * C_in / groups; bias additions
and pooling are not counted). The seed counts multiplications, i.e. MACs, so
``macs = flops / 2`` is what is compared with the seed.
"""
from __future__ import annotations

import functools
import re
from collections import OrderedDict
from importlib import resources
from typing import Any

import pandas as pd
import torch
import torch.nn as nn

SEED_FILE = "seed003_p3.yaml"


# --------------------------------------------------------------------------- helpers

@functools.lru_cache(maxsize=1)
def seed_numbers() -> dict[str, Any]:
    """The seed's P3 numbers as transcribed in ``dlrepro/studies/optim_clr_cutout/seed003_p3.yaml``."""
    import yaml

    text = resources.files("dlrepro.studies.optim_clr_cutout").joinpath(SEED_FILE).read_text()
    return yaml.safe_load(text)


def _product(expr: str) -> int:
    """Evaluate a product such as ``(3*3*256)*512`` or ``7*7*512*4096`` (no eval)."""
    factors = [f for f in re.split(r"[*x×]", expr.replace("(", "").replace(")", "")) if f.strip()]
    if not factors or not all(f.strip().isdigit() for f in factors):
        raise ValueError(f"not a product of integers: {expr!r}")
    out = 1
    for f in factors:
        out *= int(f)
    return out


def _approx(text: str) -> float:
    """Parse the seed's rounded numbers: ``150K`` -> 150000, ``3.2M`` -> 3200000."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KkMm]?)\s*", text)
    if not m:
        raise ValueError(f"not a number: {text!r}")
    scale = {"": 1, "k": 1e3, "m": 1e6}[m.group(2).lower()]
    return float(m.group(1)) * scale


def parse_seed_cell(cell: str) -> tuple[int | None, float | None]:
    """Split a seed cell ``"lhs = rhs"`` into (product of lhs, number on rhs).

    ``"0"`` -> (0, 0); ``"4096*4096"`` -> (16777216, None); ``"sum(all)"`` -> (None, None).
    """
    cell = cell.strip()
    if cell.startswith("sum"):
        return None, None
    if "=" in cell:
        lhs, rhs = (s.strip() for s in cell.split("=", 1))
        return _product(lhs), _approx(rhs)
    if re.fullmatch(r"[0-9.]+\s*[KkMm]", cell):
        return None, _approx(cell)
    value = _product(cell)
    return value, (value if cell.isdigit() else None)


def _hwc(shape: torch.Size) -> str:
    """``[1, C, H, W]`` -> ``"HxWxC"`` (the seed's notation); ``[1, F]`` -> ``"F"``."""
    s = list(shape)[1:]
    if len(s) == 3:
        return f"{s[1]}x{s[2]}x{s[0]}"
    return "x".join(str(v) for v in s)


def _numel(shape: torch.Size) -> int:
    n = 1
    for v in list(shape)[1:]:
        n *= int(v)
    return n


def _trace_shapes(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Size]:
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
    ``grouped=False`` is the one-GPU (ungrouped) net the seed counts: 62,378,344
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


def _layer_formula(m: nn.Module, in_shape: torch.Size | None) -> str:
    if isinstance(m, nn.Conv2d):
        kh, kw = m.kernel_size
        cin = m.in_channels // m.groups
        grp = f" x {m.groups} groups" if m.groups > 1 else ""
        text = f"({kh} x {kw}) x {cin} x {m.out_channels // m.groups}{grp}"
        return text + (f" + {m.out_channels}" if m.bias is not None else "")
    if isinstance(m, nn.Linear):
        if in_shape is not None and len(in_shape) == 4:
            c, h, w = list(in_shape)[1:]
            lhs = f"({h} x {w}) x {c}"
        else:
            lhs = f"{m.in_features}"
        return f"{lhs} x {m.out_features} + {m.out_features}"
    return ""


def alexnet_table(grouped: bool = False) -> pd.DataFrame:
    """Per-layer AlexNet parameters from the module, next to the seed's Q1 numbers.

    Columns: ``layer, type, kernel, stride, padding, groups, in_channels, out_channels,
    output_shape, weights, biases, params, formula, seed_params, matches_seed``; a last
    row ``total`` sums ``weights, biases, params`` (62,378,344 ungrouped).
    """
    model = alexnet(grouped=grouped)
    x = torch.empty(1, 3, 227, 227, device="meta")
    shapes = _trace_shapes(model, x)
    names = list(shapes)
    seed = {r["layer"]: r["params"] for r in seed_numbers()["alexnet"]["layers"]}
    rows = []
    in_shapes = dict(zip(names, [x.shape] + [shapes[n] for n in names[:-1]]))
    for name, m in model.named_children():
        if not isinstance(m, (nn.Conv2d, nn.Linear)):
            continue
        in_shape = in_shapes[name]
        if isinstance(m, nn.Linear) and len(in_shape) == 2:
            # a Linear right after Flatten: describe its input as the map before Flatten
            prev = names[names.index(name) - 1]
            if isinstance(getattr(model, prev), nn.Flatten):
                in_shape = in_shapes[prev]
        w = m.weight.numel()
        b = m.bias.numel() if m.bias is not None else 0
        conv = isinstance(m, nn.Conv2d)
        rows.append({
            "layer": name,
            "type": type(m).__name__,
            "kernel": f"{m.kernel_size[0]}x{m.kernel_size[1]}" if conv else "",
            "stride": m.stride[0] if conv else None,
            "padding": m.padding[0] if conv else None,
            "groups": m.groups if conv else None,
            "in_channels": m.in_channels if conv else m.in_features,
            "out_channels": m.out_channels if conv else m.out_features,
            "output_shape": _hwc(shapes[name]),
            "weights": w,
            "biases": b,
            "params": w + b,
            "formula": _layer_formula(m, in_shape),
            "seed_params": seed.get(name),
            "matches_seed": seed.get(name) == w + b,
        })
    df = pd.DataFrame(rows)
    seed_total = seed_numbers()["alexnet"]["total"]
    total = {"layer": "total", "type": "", "kernel": "", "output_shape": "",
             "weights": int(df["weights"].sum()), "biases": int(df["biases"].sum()),
             "params": int(df["params"].sum()), "formula": "sum of the layers above",
             "seed_params": seed_total}
    total["matches_seed"] = total["params"] == seed_total
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    for col in ("stride", "padding", "groups", "in_channels", "out_channels", "seed_params"):
        df[col] = df[col].astype("Int64")
    df["grouped"] = grouped
    return df


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


def vgg19_table(rel_tol: float = 0.05) -> pd.DataFrame:
    """VGG-19 per-layer activations and parameters (weights only, as the seed's table
    asks: "without counting biases"), row for row beside the seed's table.

    Columns: ``layer`` (the seed's label), ``module``, ``output_shape`` (HxWxC),
    ``activations``, ``weights`` (parameters without biases), ``biases``,
    ``seed_activations``/``seed_params`` (the seed's cells, verbatim),
    ``seed_activations_product``/``seed_params_product`` (its left-hand product, evaluated),
    ``seed_activations_stated``/``seed_params_stated`` (its right-hand number; activations
    are rounded K/M figures, accepted within ``rel_tol``), ``activations_ok``,
    ``params_ok`` and ``note`` (what is wrong, where something is). The last row
    ``TOTAL`` holds the sums the seed left as "sum(all)".
    """
    model = vgg19()
    x = torch.empty(1, 3, 224, 224, device="meta")
    shapes = _trace_shapes(model, x)
    computed = [("input", x.shape, 0, 0)]
    for name, m in model.named_children():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.MaxPool2d)):
            w = m.weight.numel() if hasattr(m, "weight") else 0
            b = m.bias.numel() if getattr(m, "bias", None) is not None else 0
            computed.append((name, shapes[name], w, b))
    seed_rows = seed_numbers()["vgg19"]["rows"]
    if len(seed_rows) != len(computed) + 1:
        raise AssertionError("seed VGG-19 table and the module disagree on the row count")
    rows = []
    for (label, s_act, s_par), (name, shape, w, b) in zip(seed_rows, computed):
        act = _numel(shape)
        a_prod, a_stated = parse_seed_cell(s_act)
        p_prod, p_stated = parse_seed_cell(s_par)
        notes = []
        a_ok = True
        if a_prod is not None and a_prod != act:
            a_ok = False
            notes.append(f"activation product {a_prod:,} != {act:,}")
        if a_stated is not None and abs(a_stated - act) > rel_tol * act:
            a_ok = False
            notes.append(f"stated activations {s_act.split('=')[-1].strip()} far from {act:,}")
        p_ok = True
        if p_prod is not None and p_prod != w:
            p_ok = False
            notes.append(f"parameter product {p_prod:,} != {w:,}")
        if p_stated is not None and p_stated != w:
            p_ok = False
            lhs = s_par.split("=")[0].strip()
            notes.append(f"arithmetic slip: {lhs} = {w:,}, not {int(p_stated):,}")
        rows.append({
            "layer": label, "module": name, "output_shape": _hwc(shape),
            "activations": act, "weights": w, "biases": b,
            "seed_activations": s_act, "seed_activations_product": a_prod,
            "seed_activations_stated": a_stated,
            "seed_params": s_par, "seed_params_product": p_prod,
            "seed_params_stated": p_stated,
            "activations_ok": a_ok, "params_ok": p_ok, "note": "; ".join(notes),
        })
    df = pd.DataFrame(rows)
    label, s_act, s_par = seed_rows[-1]
    total = {"layer": label, "module": "", "output_shape": "",
             "activations": int(df["activations"].sum()), "weights": int(df["weights"].sum()),
             "biases": int(df["biases"].sum()),
             "seed_activations": s_act, "seed_params": s_par,
             "activations_ok": None, "params_ok": None,
             "note": "the seed left the totals as 'sum(all)'"}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    for col in ("seed_activations_product", "seed_params_product", "seed_params_stated"):
        df[col] = df[col].astype("Int64")
    return df


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


def receptive_field_table(n_layers: tuple[int, ...] = (1, 2, 3, 4, 5),
                          kernels: tuple[int, ...] = (3, 5, 7),
                          channels: int = 1) -> pd.DataFrame:
    """N stacked FxF (stride 1) convs vs the single conv with the same receptive field.

    Columns: ``n_layers, kernel, rf_formula`` (NF - N + 1), ``rf_measured`` (gradient of
    a real conv stack), ``equivalent_conv`` ("13x13"), ``weights_stack``
    (N F^2 C^2 for C in = out channels) and ``weights_single`` ((NF-N+1)^2 C^2),
    ``seed_rf`` where the seed gave one (3 of 5x5 -> 13) and ``matches_seed``.
    """
    seed = {(c["n_layers"], c["kernel"]): c["rf"]
            for c in seed_numbers()["receptive_field"]["cases"]}
    rows = []
    for f in kernels:
        for n in n_layers:
            rf = stacked_rf_formula(n, f)
            rows.append({
                "n_layers": n, "kernel": f, "rf_formula": rf,
                "rf_measured": measure_receptive_field(n, f),
                "equivalent_conv": f"{rf}x{rf}",
                "weights_stack": n * f * f * channels * channels,
                "weights_single": rf * rf * channels * channels,
                "seed_rf": seed.get((n, f)),
                "matches_seed": (seed[(n, f)] == rf) if (n, f) in seed else None,
            })
    df = pd.DataFrame(rows)
    df["seed_rf"] = df["seed_rf"].astype("Int64")
    return df


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
    seed uses them: 1x1 128, 3x3 192, 5x5 96, reductions and pool projection 64.
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


_SEED_OPS = {  # (version, branch, layer) -> key into the seed's op list (by conv label)
    ("naive", "1x1", "conv1x1"): "1x1 128",
    ("naive", "3x3", "conv3x3"): "3x3 192",
    ("naive", "5x5", "conv5x5"): "5x5 96",
    ("reduced", "1x1", "conv1x1"): "1x1 128",
    ("reduced", "3x3", "reduce1x1"): "3 x 1x1 64",
    ("reduced", "3x3", "conv3x3"): "3x3 192",
    ("reduced", "5x5", "reduce1x1"): "3 x 1x1 64",
    ("reduced", "5x5", "conv5x5"): "5x5 96",
    ("reduced", "pool", "proj1x1"): "3 x 1x1 64",
}


def inception_ops_table(input_hwc: tuple[int, int, int] = (32, 32, 256)) -> pd.DataFrame:
    """Per-layer output shape and multiplications of both inception modules.

    Each layer is run on its real input under ``FlopCounterMode``. Columns:
    ``version, branch, layer, kernel, in_shape, output_shape, flops`` (counter, 2/MAC),
    ``macs`` (= flops / 2, the seed's "operations"), ``macs_formula``
    (H W C_out k k C_in), ``seed_macs`` (the seed's number for that conv; its three
    1x1-64 reductions appear as one line, 3 x 16,777,216 = 50,331,648, so each gets a
    third) and ``matches_seed``.
    """
    h, w, c = input_hwc
    seed = seed_numbers()["inception"]
    rows = []
    for version in ("naive", "reduced"):
        ops = {o["conv"]: o["value"] for o in seed[version]["ops"]}
        mod = inception_module(version, cin=c)
        for branch, seq in mod.branches.items():
            x = torch.empty(1, c, h, w, device="meta")
            for layer, m in seq.named_children():
                y, flops = count_flops(m, x)
                if isinstance(m, nn.Conv2d):
                    k = m.kernel_size[0]
                    formula = y.shape[2] * y.shape[3] * m.out_channels * k * k * m.in_channels
                    kernel = f"{k}x{k} conv"
                else:
                    formula = 0
                    kernel = "3x3 max-pool"
                key = _SEED_OPS.get((version, branch, layer))
                seed_val = None
                if key is not None:
                    seed_val = ops[key] // 3 if key.startswith("3 x") else ops[key]
                rows.append({
                    "version": version, "branch": branch, "layer": layer, "kernel": kernel,
                    "in_shape": _hwc(x.shape), "output_shape": _hwc(y.shape),
                    "flops": flops, "macs": flops // 2, "macs_formula": formula,
                    "seed_macs": seed_val,
                    "matches_seed": (seed_val == flops // 2) if seed_val is not None else None,
                })
                x = y
    df = pd.DataFrame(rows)
    df["seed_macs"] = df["seed_macs"].astype("Int64")
    return df


def inception_summary_table(input_hwc: tuple[int, int, int] = (32, 32, 256)) -> pd.DataFrame:
    """One row per module version: output shape/depth of the real module and its total
    multiplications from ``FlopCounterMode`` on the whole module, beside the seed.

    Columns: ``version, input_shape, output_shape, output_depth, flops, macs,
    params, seed_output_depth, seed_macs, matches_seed, macs_saved`` (naive minus
    reduced, on both rows) and ``seed_macs_saved``.
    """
    h, w, c = input_hwc
    seed = seed_numbers()["inception"]
    rows = []
    for version in ("naive", "reduced"):
        mod = inception_module(version, cin=c)
        x = torch.empty(1, c, h, w, device="meta")
        y, flops = count_flops(mod, x)
        rows.append({
            "version": version, "input_shape": _hwc(x.shape), "output_shape": _hwc(y.shape),
            "output_depth": int(y.shape[1]), "flops": flops, "macs": flops // 2,
            "params": sum(p.numel() for p in mod.parameters()),
            "seed_output_depth": seed[version]["output_depth"],
            "seed_macs": seed[version]["total"],
        })
    df = pd.DataFrame(rows)
    df["matches_seed"] = ((df["output_depth"] == df["seed_output_depth"])
                          & (df["macs"] == df["seed_macs"]))
    df["macs_saved"] = int(df.loc[0, "macs"] - df.loc[1, "macs"])
    df["seed_macs_saved"] = seed["saved"]
    return df


# --------------------------------------------------------------------------- all tables

TABLES = {
    "alexnet_params": alexnet_table,
    "vgg19": vgg19_table,
    "receptive_field": receptive_field_table,
    "inception_ops": inception_ops_table,
    "inception_summary": inception_summary_table,
}


def tables() -> dict[str, pd.DataFrame]:
    """Every P3 table by key (the keys of :data:`TABLES`)."""
    return {name: fn() for name, fn in TABLES.items()}
