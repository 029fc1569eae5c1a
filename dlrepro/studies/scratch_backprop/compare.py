"""The acceptance table: every number the write-up prints, next to ours.

``reported`` is the ``settings.reported`` mapping of the config (the write-up's numbers,
transcribed from it; ``null`` where its rendering is illegible). Each printed
value is compared *at the precision the write-up printed it*: both numbers are formatted the
way the write-up's code formats them and the strings must be equal.

formats: ``f6`` numpy's ``precision=6`` print (6 decimals), ``f4`` the training log's
``%7.4f``, ``repr`` Python's shortest round-trip repr (all digits: a bit-exact match),
``int`` integers.
"""
from __future__ import annotations

import math
import operator
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["format_value", "significant_digits", "flatten_values", "comparison_table",
           "epoch_values", "gd_values", "summarise", "resolve_quantity"]

COLUMNS = ["section", "group", "quantity", "kind", "format", "digits", "writeup_value", "our_value",
           "match", "abs_diff", "note"]

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def format_value(v: Any, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if fmt == "int":
        return str(int(round(float(v))))
    if fmt == "repr":
        return repr(float(v))
    m = re.fullmatch(r"f(\d+)", fmt)
    if m:
        s = f"{float(v):.{int(m.group(1))}f}"
        return s[1:] if s.startswith("-") and float(s) == 0 else s  # "-0.0000" prints as "0.0000"
    raise ValueError(f"unknown format {fmt!r}")


def significant_digits(s: str, fmt: str) -> int:
    """How many digits the write-up printed: decimals for ``fN``, significant digits of the
    mantissa for ``repr``."""
    m = re.fullmatch(r"f(\d+)", fmt)
    if m:
        return int(m.group(1))
    if fmt == "int":
        return 0
    mant = s.lower().split("e")[0].lstrip("-").replace(".", "").lstrip("0")
    return len(mant) or 1


def flatten_values(name: str, value: Any) -> list[tuple[str, float]]:
    """``("x", [[1, 2]])`` -> ``[("x[0,0]", 1.0), ("x[0,1]", 2.0)]``; scalars keep the name."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return [(name, float(arr))]
    return [(f"{name}[{','.join(map(str, idx))}]", float(arr[idx])) for idx in np.ndindex(arr.shape)]


def epoch_values(run: str, history: dict) -> dict:
    """Our per-epoch values of one digits run, keyed like the comparison's quantities."""
    return {f"digits.{run}.{k}": list(v) for k, v in history.items()}


def gd_values(gd_runs: pd.DataFrame, global_min: dict) -> dict:
    out = {f"gd.{r['name']}.value": float(r["value"]) for _, r in gd_runs.iterrows()}
    out.update({f"gd.{r['name']}.gap_to_global_min": float(r["value"]) - float(global_min["value"])
                for _, r in gd_runs.iterrows()})
    out["gd.global_min.value"] = float(global_min["value"])
    return out


def _row(section, group, quantity, kind, fmt, printed_s, ours_s, match, diff, note=""):
    return {"section": section, "group": group, "quantity": quantity, "kind": kind, "format": fmt,
            "digits": significant_digits(printed_s, fmt) if printed_s else None,
            "writeup_value": printed_s, "our_value": ours_s, "match": match, "abs_diff": diff,
            "note": note}


def comparison_table(reported: dict, ours: dict) -> pd.DataFrame:
    """One row per number the write-up prints (and per claim it makes)."""
    rows = []
    suspect = {(s["group"], s["quantity"]): s["reason"] for s in reported.get("rendering_suspect", [])}

    def add_values(section, group, qname, fmt, printed_vals, our_vals, note=""):
        printed_flat = _flatten_nullable(qname, printed_vals)
        our_flat = dict(flatten_values(qname, our_vals)) if our_vals is not None else {}
        for q, pv in printed_flat:
            ov = our_flat.get(q)
            printed_s = format_value(pv, fmt) if pv is not None else ""
            ours_s = format_value(ov, fmt) if ov is not None else ""
            if pv is None:
                match, diff, n = None, None, "illegible in the write-up's rendering"
            elif ov is None:
                match, diff, n = False, None, "no value of ours"
            else:
                match = printed_s == ours_s
                diff = abs(float(ov) - float(pv))
                n = note
            if (group, q) in suspect:
                n = "rendering suspect: " + suspect[(group, q)]
            rows.append(_row(section, group, q, "printed", fmt, printed_s, ours_s, match, diff, n))

    for item in reported.get("printed", []):
        q = item["quantity"]
        if q not in ours:
            raise KeyError(f"no computed value for reported quantity {q!r}")
        if "value" in item:  # a scalar
            printed_vals, our_vals = item["value"], float(np.asarray(ours[q], dtype=float).reshape(()))
        else:
            printed_vals, our_vals = item["values"], ours[q]
        add_values(item["section"], item.get("group", q.split(".")[0]), q, item["format"], printed_vals,
                   our_vals, item.get("note", ""))

    for run, entry in reported.get("epochs", {}).items():
        for key in ("loss_train", "acc_train", "loss_test", "acc_test"):
            vals = entry.get(key)
            if vals is None:
                continue
            q = f"digits.{run}.{key}"
            if q not in ours:
                raise KeyError(f"no computed history for run {run!r}")
            ov = ours[q]
            for e, pv in enumerate(vals):
                name = f"{q}[{e}]"
                o = ov[e] if e < len(ov) else None
                printed_s = format_value(pv, "f4") if pv is not None else ""
                ours_s = format_value(o, "f4") if o is not None else ""
                if pv is None:
                    match, diff, n = None, None, "illegible in the write-up's rendering"
                elif o is None:
                    match, diff, n = False, None, "epoch not run"
                else:
                    match, diff, n = printed_s == ours_s, abs(float(o) - float(pv)), ""
                if (f"digits:{run}", name) in suspect:
                    n = "rendering suspect: " + suspect[(f"digits:{run}", name)]
                rows.append(_row(entry.get("section", "1.6"), f"digits:{run}", name, "printed", "f4",
                                 printed_s, ours_s, match, diff, n))

    for c in reported.get("claims", []):
        q = c["quantity"]
        ov = resolve_quantity(ours, q)
        if "other" in c:
            ref = resolve_quantity(ours, c["other"])
            printed_s = f"{c['op']} {c['other']}"
            note = f"{c.get('text', '')} [{c['other']} = {ref:.6g}]"
        else:
            ref = float(c["threshold"])
            printed_s = f"{c['op']} {ref:g}"
            note = c.get("text", "")
        ok = bool(_OPS[c["op"]](ov, ref))
        rows.append({"section": c["section"], "group": "claims", "quantity": q, "kind": "claim",
                     "format": "", "digits": None, "writeup_value": printed_s,
                     "our_value": f"{ov:.6g}", "match": ok, "abs_diff": None, "note": note})
    return pd.DataFrame(rows, columns=COLUMNS)


def resolve_quantity(ours: dict, q: str) -> float:
    """A scalar of ours: ``name``, ``name[i]`` (index, negative allowed), ``name.min`` or
    ``name.max`` (of a list)."""
    m = re.fullmatch(r"(.+)\[(-?\d+)\]", q)
    if m and m.group(1) in ours:
        return float(np.asarray(ours[m.group(1)], dtype=float).ravel()[int(m.group(2))])
    for red in ("min", "max"):
        if q.endswith("." + red) and q[:-len(red) - 1] in ours:
            return float(getattr(np, red)(np.asarray(ours[q[:-len(red) - 1]], dtype=float)))
    if q in ours:
        return float(np.asarray(ours[q], dtype=float).reshape(()))
    raise KeyError(f"no computed value for quantity {q!r}")


def _flatten_nullable(name: str, values: Any) -> list[tuple[str, float | None]]:
    """Reported values with nulls: a scalar keeps the name, a (nested) list is indexed."""
    if not isinstance(values, (list, tuple)):
        return [(name, values)]
    out: list[tuple[str, float | None]] = []

    def walk(v, idx):
        if isinstance(v, (list, tuple)):
            for i, w in enumerate(v):
                walk(w, idx + (i,))
        else:
            out.append((f"{name}[{','.join(map(str, idx))}]", v))
    walk(values, ())
    return out


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Counts per group: compared, matched, mismatched, illegible."""
    rows = []
    for group, g in table.groupby("group", sort=False):
        compared = g["match"].notna()
        rows.append({"group": group, "section": ", ".join(dict.fromkeys(g["section"].astype(str))), "rows": len(g),
                     "compared": int(compared.sum()),
                     "matched": int((g["match"] == True).sum()),  # noqa: E712
                     "mismatched": int((g["match"] == False).sum()),  # noqa: E712
                     "illegible": int((~compared).sum())})
    return pd.DataFrame(rows)

