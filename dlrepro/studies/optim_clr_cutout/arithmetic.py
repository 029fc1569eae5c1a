"""Write-up 003, Problem 3: architecture arithmetic, computed from real ``nn`` modules.

Every number here comes from instantiated PyTorch modules (:mod:`.architectures`:
parameter tensors, shapes propagated by an actual forward pass, FLOPs from
``torch.utils.flop_counter``), never typed in. The tables compare nothing: the
reproduction ledger (``studies/optim_clr_cutout.printed.yaml``, compared by
:mod:`dlrepro.reproduction`) holds the write-up's numbers, each against a row of these
tables. Where it helps a reader, a table shows the write-up's own formula text beside
ours (``writeup_*`` text columns, from the ledger's ``transcripts``, passed on by the
analysis rule as ``printed``; :func:`printed_numbers` reads them all), never a verdict.

Tables (``tables(printed)`` returns them by key; each function returns one DataFrame):

``alexnet_params``    :func:`alexnet_table`          per-layer and total AlexNet parameters
``vgg19``             :func:`vgg19_table`            VGG-19 activations / parameters per layer
``receptive_field``   :func:`receptive_field_table`  N stacked FxF convs, formula vs measured
``inception_ops``     :func:`inception_ops_table`    per-layer multiplications, both modules
``inception_lines``   :func:`inception_lines_table`  multiplications summed per line of the write-up's answer
``inception_summary`` :func:`inception_summary_table` output depth and totals, both modules

FLOP convention: ``FlopCounterMode`` counts a multiply-accumulate as **2 FLOPs**
(convolution FLOPs = 2 * H_out * W_out * C_out * k * k * C_in / groups; bias additions
and pooling are not counted). The write-up counts multiplications, i.e. MACs, so
``macs = flops / 2`` is the column its numbers are compared with.
"""
from __future__ import annotations

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


def alexnet_table(printed: dict | None = None, grouped: bool = False) -> pd.DataFrame:
    """Per-layer AlexNet parameters from the module.

    Columns: ``layer, type, kernel, stride, padding, groups, in_channels, out_channels,
    output_shape, weights, biases, params, formula`` and, where the write-up's Q1 lines
    are given (``printed["alexnet"]``), ``writeup_text`` (its line, verbatim); a last row
    ``total`` sums ``weights, biases, params`` (62,378,344 ungrouped).
    """
    model = alexnet(grouped=grouped)
    x = torch.empty(1, 3, 227, 227, device="meta")
    shapes = trace_shapes(model, x)
    names = list(shapes)
    text = {}
    if printed is not None:
        text = {r["layer"]: r["text"] for r in _part(printed, "alexnet")["layers"]}
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
            "writeup_text": text.get(name, ""),
        })
    df = pd.DataFrame(rows)
    total = {"layer": "total", "type": "", "kernel": "", "output_shape": "",
             "weights": int(df["weights"].sum()), "biases": int(df["biases"].sum()),
             "params": int(df["params"].sum()), "formula": "sum of the layers above",
             "writeup_text": "conv1+conv2+conv3+conv4+conv5+fc1+fc2+fc3" if text else ""}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    for col in ("stride", "padding", "groups", "in_channels", "out_channels"):
        df[col] = df[col].astype("Int64")
    df["grouped"] = grouped
    return df


# --------------------------------------------------------------------------- VGG-19
def vgg19_table(printed: dict | None = None) -> pd.DataFrame:
    """VGG-19 per-layer activations and parameters (weights only, as the write-up's table
    asks: "without counting biases"), one row per row of the write-up's table.

    Columns: ``row`` (the row number of the write-up's Out[28]), ``layer`` (its label),
    ``module``, ``output_shape`` (HxWxC), ``activations``, ``weights`` (parameters without
    biases), ``biases`` and, where the write-up's table is given (``printed["vgg19"]``),
    ``writeup_activations`` / ``writeup_params``: its cells, verbatim. The last row
    ``TOTAL`` holds the sums the write-up left as "sum(all)".
    """
    model = vgg19()
    x = torch.empty(1, 3, 224, 224, device="meta")
    shapes = trace_shapes(model, x)
    computed = [("input", "input", x.shape, 0, 0)]
    labels = {nn.Conv2d: "CONV3-{}", nn.MaxPool2d: "POOL2", nn.Linear: "FC"}
    for name, m in model.named_children():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.MaxPool2d)):
            w = m.weight.numel() if hasattr(m, "weight") else 0
            b = m.bias.numel() if getattr(m, "bias", None) is not None else 0
            computed.append((labels[type(m)].format(getattr(m, "out_channels", "")), name, shapes[name], w, b))
    writeup_rows = _part(printed, "vgg19")["rows"] if printed is not None else None
    if writeup_rows is not None and len(writeup_rows) != len(computed) + 1:
        raise AssertionError("the write-up's VGG-19 table and the module disagree on the row count")
    rows = []
    for i, (label, name, shape, w, b) in enumerate(computed):
        row = {"row": i, "layer": label, "module": name, "output_shape": _hwc(shape),
               "activations": _numel(shape), "weights": w, "biases": b}
        if writeup_rows is not None:
            row.update(layer=writeup_rows[i][0], writeup_activations=writeup_rows[i][1],
                       writeup_params=writeup_rows[i][2])
        rows.append(row)
    df = pd.DataFrame(rows)
    total = {"row": len(df), "layer": "TOTAL", "module": "", "output_shape": "",
             "activations": int(df["activations"].sum()), "weights": int(df["weights"].sum()),
             "biases": int(df["biases"].sum())}
    if writeup_rows is not None:
        total.update(layer=writeup_rows[-1][0], writeup_activations=writeup_rows[-1][1],
                     writeup_params=writeup_rows[-1][2])
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


# --------------------------------------------------------------------------- receptive field
def receptive_field_table(printed: dict | None = None, n_layers: tuple[int, ...] = (1, 2, 3, 4, 5),
                          kernels: tuple[int, ...] = (3, 5, 7), channels: int = 1) -> pd.DataFrame:
    """N stacked FxF (stride 1) convs vs the single conv with the same receptive field.

    Columns: ``n_layers, kernel, rf_formula`` (NF - N + 1), ``rf_measured`` (gradient of
    a real conv stack), ``equivalent_conv`` ("13x13"), ``weights_stack``
    (N F^2 C^2 for C in = out channels) and ``weights_single`` ((NF-N+1)^2 C^2).
    ``printed`` is not read (the signature of every P3 table).
    """
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
            })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- inception
#: (version, branch, layer) -> the line of the write-up's answer (c) that counts the layer
#: (its op list's ``conv`` label): its three 1x1-64 reductions appear as one line
WRITEUP_LINES = {
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


def inception_ops_table(printed: dict | None = None,
                        input_hwc: tuple[int, int, int] = (32, 32, 256)) -> pd.DataFrame:
    """Per-layer output shape and multiplications of both inception modules.

    Each layer is run on its real input under ``FlopCounterMode``. Columns:
    ``version, branch, layer, kernel, in_shape, output_shape, out_depth, flops`` (counter,
    2/MAC), ``macs`` (= flops / 2, the write-up's "operations"), ``macs_formula``
    (H W C_out k k C_in) and ``writeup_line``: the line of the write-up's answer (c) that
    counts this layer (:data:`WRITEUP_LINES`; its text where ``printed["inception"]`` is given).
    """
    h, w, c = input_hwc
    text = {}
    if printed is not None:
        inc = _part(printed, "inception")
        text = {(v, o["conv"]): o["text"] for v in ("naive", "reduced") for o in inc[v]["ops"]}
    rows = []
    for version in ("naive", "reduced"):
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
                line = WRITEUP_LINES.get((version, branch, layer), "")
                rows.append({
                    "version": version, "branch": branch, "layer": layer, "kernel": kernel,
                    "in_shape": _hwc(x.shape), "output_shape": _hwc(y.shape), "out_depth": int(y.shape[1]),
                    "flops": flops, "macs": flops // 2, "macs_formula": formula,
                    "writeup_line": text.get((version, line), line),
                })
                x = y
    return pd.DataFrame(rows)


def inception_lines_table(printed: dict | None = None,
                          input_hwc: tuple[int, int, int] = (32, 32, 256)) -> pd.DataFrame:
    """The multiplications of :func:`inception_ops_table` summed per line of the write-up's
    answer (c) (:data:`WRITEUP_LINES`: e.g. its "1*1*64 conv op" line counts the three 1x1
    reductions to 64 channels of the dimension-reduced module together).

    Columns: ``version, line`` (the write-up's label of the line), ``layers`` (ours it
    sums), ``macs`` and ``writeup_text`` (its line, where ``printed["inception"]`` is given).
    """
    ops = inception_ops_table(None, input_hwc)
    ops["line"] = [WRITEUP_LINES.get((v, b, lay), "") for v, b, lay in zip(ops["version"], ops["branch"], ops["layer"])]
    text = {}
    if printed is not None:
        inc = _part(printed, "inception")
        text = {(v, o["conv"]): o["text"] for v in ("naive", "reduced") for o in inc[v]["ops"]}
    rows = []
    for (version, line), g in ops[ops["line"] != ""].groupby(["version", "line"], sort=False):
        rows.append({"version": version, "line": line, "layers": ", ".join(f"{b}/{lay}" for b, lay in
                                                                          zip(g["branch"], g["layer"])),
                     "macs": int(g["macs"].sum()), "writeup_text": text.get((version, line), "")})
    return pd.DataFrame(rows)


def inception_summary_table(printed: dict | None = None,
                            input_hwc: tuple[int, int, int] = (32, 32, 256)) -> pd.DataFrame:
    """One row per module version: output shape/depth of the real module and its total
    multiplications from ``FlopCounterMode`` on the whole module.

    Columns: ``version, input_shape, output_shape, output_depth, flops, macs, params,
    macs_saved`` (naive minus reduced, on both rows). ``printed`` is not read.
    """
    h, w, c = input_hwc
    rows = []
    for version in ("naive", "reduced"):
        mod = inception_module(version, cin=c)
        x = torch.empty(1, c, h, w, device="meta")
        y, flops = count_flops(mod, x)
        rows.append({
            "version": version, "input_shape": _hwc(x.shape), "output_shape": _hwc(y.shape),
            "output_depth": int(y.shape[1]), "flops": flops, "macs": flops // 2,
            "params": sum(p.numel() for p in mod.parameters()),
        })
    df = pd.DataFrame(rows)
    df["macs_saved"] = int(df.loc[0, "macs"] - df.loc[1, "macs"])
    return df


# --------------------------------------------------------------------------- all tables
TABLES = {
    "alexnet_params": alexnet_table,
    "vgg19": vgg19_table,
    "receptive_field": receptive_field_table,
    "inception_ops": inception_ops_table,
    "inception_lines": inception_lines_table,
    "inception_summary": inception_summary_table,
}


def tables(printed: dict | None = None) -> dict[str, pd.DataFrame]:
    """Every P3 table by key (the keys of :data:`TABLES`), with the write-up's formula text
    beside ours where ``printed`` (its P3 transcripts, as :func:`printed_numbers` returns
    them) is given."""
    return {name: fn(printed) for name, fn in TABLES.items()}
