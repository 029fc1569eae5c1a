"""Write-up 003, Problem 3: architecture arithmetic, computed from real ``nn`` modules.

Every number here comes from instantiated PyTorch modules (:mod:`.architectures`:
parameter tensors, shapes propagated by an actual forward pass, FLOPs from
``torch.utils.flop_counter``), never typed in. The write-up's own numbers are set beside
the computed ones and every disagreement is flagged: each table function takes them as
its first argument ``printed`` (the ledger's ``transcripts`` in
``studies/optim_clr_cutout.printed.yaml``, passed on by the analysis rule;
:func:`printed_numbers` reads them all): parts ``alexnet``, ``vgg19``, ``receptive_field``
and ``inception``, each read by the tables that compare against it.

Tables (``tables(printed)`` returns them by key; each function returns one DataFrame):

``alexnet_params``   :func:`alexnet_table`        per-layer and total AlexNet parameters
``vgg19``            :func:`vgg19_table`          VGG-19 activations / parameters per layer
``receptive_field``  :func:`receptive_field_table` N stacked FxF convs, formula vs measured
``inception_ops``    :func:`inception_ops_table`  per-layer multiplications, both modules
``inception_summary`` :func:`inception_summary_table` output depth and totals, both modules

FLOP convention: ``FlopCounterMode`` counts a multiply-accumulate as **2 FLOPs**
(convolution FLOPs = 2 * H_out * W_out * C_out * k * k * C_in / groups; bias additions
and pooling are not counted). The write-up counts multiplications, i.e. MACs, so
``macs = flops / 2`` is what is compared with the write-up.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn as nn

from dlrepro.studies.optim_clr_cutout.architectures import (  # noqa: F401  (re-exported)
    VGG19_CFG, alexnet, count_flops, inception_module, measure_receptive_field, receptive_field,
    stacked_rf_formula, trace_shapes, vgg19)

PRINTED_FILE = "studies/optim_clr_cutout.printed.yaml"   # relative to the project root


# --------------------------------------------------------------------------- helpers
def printed_numbers(root: str | Path = ".") -> dict[str, Any]:
    """Every P3 table of the write-up, as transcribed in the ``transcripts`` of
    ``studies/optim_clr_cutout.printed.yaml`` under ``root`` (``alexnet``, ``vgg19``,
    ``receptive_field``, ``inception``). For tests and interactive use; the pipeline passes
    each analysis the parts its spec names."""
    import yaml

    data = yaml.safe_load((Path(root) / PRINTED_FILE).read_text())
    return dict(data.get("transcripts") or {})


def _part(printed: dict | None, key: str) -> Any:
    if printed is None:
        raise ValueError(f"the write-up's printed P3 numbers were not passed (the analysis spec's `printed`, "
                         f"from {PRINTED_FILE})")
    if not isinstance(printed, dict) or key not in printed:
        raise ValueError(f"the write-up's printed P3 numbers lack {key!r} (analyses.<name>.printed.{key} "
                         f"of {PRINTED_FILE})")
    return printed[key]


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
    """Parse the write-up's rounded numbers: ``150K`` -> 150000, ``3.2M`` -> 3200000."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KkMm]?)\s*", text)
    if not m:
        raise ValueError(f"not a number: {text!r}")
    scale = {"": 1, "k": 1e3, "m": 1e6}[m.group(2).lower()]
    return float(m.group(1)) * scale


def parse_writeup_cell(cell: str) -> tuple[int | None, float | None]:
    """Split a cell of the write-up's table ``"lhs = rhs"`` into (product of lhs, number on rhs).

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
    """``[1, C, H, W]`` -> ``"HxWxC"`` (the write-up's notation); ``[1, F]`` -> ``"F"``."""
    s = list(shape)[1:]
    if len(s) == 3:
        return f"{s[1]}x{s[2]}x{s[0]}"
    return "x".join(str(v) for v in s)


def _numel(shape: torch.Size) -> int:
    n = 1
    for v in list(shape)[1:]:
        n *= int(v)
    return n


# --------------------------------------------------------------------------- AlexNet
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


def alexnet_table(printed: dict, grouped: bool = False) -> pd.DataFrame:
    """Per-layer AlexNet parameters from the module, next to the write-up's Q1 numbers
    (``printed["alexnet"]``).

    Columns: ``layer, type, kernel, stride, padding, groups, in_channels, out_channels,
    output_shape, weights, biases, params, formula, writeup_params, matches_writeup``; a
    last row ``total`` sums ``weights, biases, params`` (62,378,344 ungrouped).
    """
    model = alexnet(grouped=grouped)
    x = torch.empty(1, 3, 227, 227, device="meta")
    shapes = trace_shapes(model, x)
    names = list(shapes)
    alex = _part(printed, "alexnet")
    writeup = {r["layer"]: r["params"] for r in alex["layers"]}
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
            "writeup_params": writeup.get(name),
            "matches_writeup": writeup.get(name) == w + b,
        })
    df = pd.DataFrame(rows)
    writeup_total = alex["total"]
    total = {"layer": "total", "type": "", "kernel": "", "output_shape": "",
             "weights": int(df["weights"].sum()), "biases": int(df["biases"].sum()),
             "params": int(df["params"].sum()), "formula": "sum of the layers above",
             "writeup_params": writeup_total}
    total["matches_writeup"] = total["params"] == writeup_total
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    for col in ("stride", "padding", "groups", "in_channels", "out_channels", "writeup_params"):
        df[col] = df[col].astype("Int64")
    df["grouped"] = grouped
    return df


# --------------------------------------------------------------------------- VGG-19
def vgg19_table(printed: dict, rel_tol: float = 0.05) -> pd.DataFrame:
    """VGG-19 per-layer activations and parameters (weights only, as the write-up's table
    asks: "without counting biases"), row for row beside the write-up's table
    (``printed["vgg19"]``).

    Columns: ``layer`` (the write-up's label), ``module``, ``output_shape`` (HxWxC),
    ``activations``, ``weights`` (parameters without biases), ``biases``,
    ``writeup_activations``/``writeup_params`` (the write-up's cells, verbatim),
    ``writeup_activations_product``/``writeup_params_product`` (its left-hand product,
    evaluated), ``writeup_activations_stated``/``writeup_params_stated`` (its right-hand
    number; activations are rounded K/M figures, accepted within ``rel_tol``),
    ``activations_ok``, ``params_ok`` and ``note`` (what is wrong, where something is).
    The last row ``TOTAL`` holds the sums the write-up left as "sum(all)".
    """
    model = vgg19()
    x = torch.empty(1, 3, 224, 224, device="meta")
    shapes = trace_shapes(model, x)
    computed = [("input", x.shape, 0, 0)]
    for name, m in model.named_children():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.MaxPool2d)):
            w = m.weight.numel() if hasattr(m, "weight") else 0
            b = m.bias.numel() if getattr(m, "bias", None) is not None else 0
            computed.append((name, shapes[name], w, b))
    writeup_rows = _part(printed, "vgg19")["rows"]
    if len(writeup_rows) != len(computed) + 1:
        raise AssertionError("the write-up's VGG-19 table and the module disagree on the row count")
    rows = []
    for (label, s_act, s_par), (name, shape, w, b) in zip(writeup_rows, computed):
        act = _numel(shape)
        a_prod, a_stated = parse_writeup_cell(s_act)
        p_prod, p_stated = parse_writeup_cell(s_par)
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
            "writeup_activations": s_act, "writeup_activations_product": a_prod,
            "writeup_activations_stated": a_stated,
            "writeup_params": s_par, "writeup_params_product": p_prod,
            "writeup_params_stated": p_stated,
            "activations_ok": a_ok, "params_ok": p_ok, "note": "; ".join(notes),
        })
    df = pd.DataFrame(rows)
    label, s_act, s_par = writeup_rows[-1]
    total = {"layer": label, "module": "", "output_shape": "",
             "activations": int(df["activations"].sum()), "weights": int(df["weights"].sum()),
             "biases": int(df["biases"].sum()),
             "writeup_activations": s_act, "writeup_params": s_par,
             "activations_ok": None, "params_ok": None,
             "note": "the seed left the totals as 'sum(all)'"}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    for col in ("writeup_activations_product", "writeup_params_product", "writeup_params_stated"):
        df[col] = df[col].astype("Int64")
    return df


# --------------------------------------------------------------------------- receptive field
def receptive_field_table(printed: dict, n_layers: tuple[int, ...] = (1, 2, 3, 4, 5),
                          kernels: tuple[int, ...] = (3, 5, 7),
                          channels: int = 1) -> pd.DataFrame:
    """N stacked FxF (stride 1) convs vs the single conv with the same receptive field.

    Columns: ``n_layers, kernel, rf_formula`` (NF - N + 1), ``rf_measured`` (gradient of
    a real conv stack), ``equivalent_conv`` ("13x13"), ``weights_stack``
    (N F^2 C^2 for C in = out channels) and ``weights_single`` ((NF-N+1)^2 C^2),
    ``writeup_rf`` where the write-up gave one (``printed["receptive_field"]``: 3 of 5x5
    -> 13) and ``matches_writeup``.
    """
    writeup = {(c["n_layers"], c["kernel"]): c["rf"]
               for c in _part(printed, "receptive_field")["cases"]}
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
                "writeup_rf": writeup.get((n, f)),
                "matches_writeup": (writeup[(n, f)] == rf) if (n, f) in writeup else None,
            })
    df = pd.DataFrame(rows)
    df["writeup_rf"] = df["writeup_rf"].astype("Int64")
    return df


# --------------------------------------------------------------------------- inception
_WRITEUP_OPS = {  # (version, branch, layer) -> key into the write-up's op list (by conv label)
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


def inception_ops_table(printed: dict, input_hwc: tuple[int, int, int] = (32, 32, 256)) -> pd.DataFrame:
    """Per-layer output shape and multiplications of both inception modules.

    Each layer is run on its real input under ``FlopCounterMode``. Columns:
    ``version, branch, layer, kernel, in_shape, output_shape, flops`` (counter, 2/MAC),
    ``macs`` (= flops / 2, the write-up's "operations"), ``macs_formula``
    (H W C_out k k C_in), ``writeup_macs`` (the write-up's number for that conv, from
    ``printed["inception"]``; its three 1x1-64 reductions appear as one line,
    3 x 16,777,216 = 50,331,648, so each gets a third) and ``matches_writeup``.
    """
    h, w, c = input_hwc
    writeup = _part(printed, "inception")
    rows = []
    for version in ("naive", "reduced"):
        ops = {o["conv"]: o["value"] for o in writeup[version]["ops"]}
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
                key = _WRITEUP_OPS.get((version, branch, layer))
                writeup_val = None
                if key is not None:
                    writeup_val = ops[key] // 3 if key.startswith("3 x") else ops[key]
                rows.append({
                    "version": version, "branch": branch, "layer": layer, "kernel": kernel,
                    "in_shape": _hwc(x.shape), "output_shape": _hwc(y.shape),
                    "flops": flops, "macs": flops // 2, "macs_formula": formula,
                    "writeup_macs": writeup_val,
                    "matches_writeup": (writeup_val == flops // 2) if writeup_val is not None else None,
                })
                x = y
    df = pd.DataFrame(rows)
    df["writeup_macs"] = df["writeup_macs"].astype("Int64")
    return df


def inception_summary_table(printed: dict, input_hwc: tuple[int, int, int] = (32, 32, 256)) -> pd.DataFrame:
    """One row per module version: output shape/depth of the real module and its total
    multiplications from ``FlopCounterMode`` on the whole module, beside the write-up's
    (``printed["inception"]``).

    Columns: ``version, input_shape, output_shape, output_depth, flops, macs,
    params, writeup_output_depth, writeup_macs, matches_writeup, macs_saved`` (naive minus
    reduced, on both rows) and ``writeup_macs_saved``.
    """
    h, w, c = input_hwc
    writeup = _part(printed, "inception")
    rows = []
    for version in ("naive", "reduced"):
        mod = inception_module(version, cin=c)
        x = torch.empty(1, c, h, w, device="meta")
        y, flops = count_flops(mod, x)
        rows.append({
            "version": version, "input_shape": _hwc(x.shape), "output_shape": _hwc(y.shape),
            "output_depth": int(y.shape[1]), "flops": flops, "macs": flops // 2,
            "params": sum(p.numel() for p in mod.parameters()),
            "writeup_output_depth": writeup[version]["output_depth"],
            "writeup_macs": writeup[version]["total"],
        })
    df = pd.DataFrame(rows)
    df["matches_writeup"] = ((df["output_depth"] == df["writeup_output_depth"])
                             & (df["macs"] == df["writeup_macs"]))
    df["macs_saved"] = int(df.loc[0, "macs"] - df.loc[1, "macs"])
    df["writeup_macs_saved"] = writeup["saved"]
    return df


# --------------------------------------------------------------------------- all tables
TABLES = {
    "alexnet_params": alexnet_table,
    "vgg19": vgg19_table,
    "receptive_field": receptive_field_table,
    "inception_ops": inception_ops_table,
    "inception_summary": inception_summary_table,
}


def tables(printed: dict) -> dict[str, pd.DataFrame]:
    """Every P3 table by key (the keys of :data:`TABLES`), beside the write-up's ``printed``
    P3 numbers (all four parts, as :func:`printed_numbers` returns them)."""
    return {name: fn(printed) for name, fn in TABLES.items()}
