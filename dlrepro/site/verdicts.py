"""The write-up's numbers beside ours, with a verdict (match / explained / differs /
missing). Reads the numbers from the study's tables (three layouts, see
:func:`table_numbers`) and the config's reported numbers."""
from __future__ import annotations

import fnmatch
import math
from typing import Any

import pandas as pd

from dlrepro.site.formatting import as_float, is_missing
from dlrepro.site.tolerances import Tolerance, tolerance_for

VERDICTS = ("match", "explained", "differs", "missing")


def quirks_for(quirks: list[dict], where: str, metric: str) -> list[dict]:
    """Quirks whose ``affects`` globs match ``where`` or ``where:metric``."""
    out = []
    for q in quirks or []:
        for pat in q.get("affects", []):
            if fnmatch.fnmatchcase(where, pat) or fnmatch.fnmatchcase(f"{where}:{metric}", pat):
                out.append(q)
                break
    return out


def fixed_where(quirk: dict, where: str) -> str | None:
    """The run that corrects ``quirk``: the first ``fixed`` substitution that applies."""
    for old, new in (quirk.get("fixed") or {}).items():
        if old in where:
            return where.replace(old, new, 1)
    return None


def verdict(ours: float | None, reported: float, tol: Tolerance, quirks: list[dict]) -> str:
    """``match``: |ours − reported| within the tolerance. Otherwise ``explained`` when a
    named quirk is attached to the number (the quirk and the fixed run are shown),
    else ``differs``. ``missing``: no output holds our number."""
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return "missing"
    bound = tol.bound(reported)
    if abs(ours - reported) <= bound * (1 + 1e-9) + 1e-12:
        return "match"
    return "explained" if quirks else "differs"


def _num_or_text(x: Any) -> float | str | None:
    if is_missing(x):
        return None
    f = as_float(x)
    return f if f is not None else str(x)


def table_numbers(oid: str, df: pd.DataFrame) -> tuple[dict, dict, dict]:
    """(ours, seed, hints): ``{(where, metric): value}`` of one table CSV.

    Three layouts carry the write-up's numbers:

    - run tables (``dlrepro.outputs.tables``): per metric m the columns m, m_seed, m_diff, with
      ``experiment`` and ``run`` naming the row (where = ``experiment/run``);
    - analysis tables: quantity | ours | seed | diff (where = the output id);
    - acceptance tables, for a study that checks its numbers itself (e.g. to the printed
      precision): quantity | writeup_value | our_value [| match | group | format | note]
      (where = ``{output id}/{group}``). Rows without a seed value (illegible in the
      write-up) are not reported numbers. ``hints`` keeps the table's own verdict,
      used when the config names no tolerance for the number.
    """
    ours: dict = {}
    seed: dict = {}
    hints: dict = {}
    cols = list(df.columns)
    printed_col = "writeup_value" if "writeup_value" in cols else "seed_value"
    if printed_col in cols and "our_value" in cols:
        label = "quantity" if "quantity" in cols else cols[0]
        for _, row in df.iterrows():
            where = f"{oid}/{row['group']}" if "group" in cols and not is_missing(row["group"]) else oid
            key = (where, str(row[label]))
            ours[key] = _num_or_text(row["our_value"])
            sv = _num_or_text(row[printed_col])
            if sv is None:
                continue
            seed[key] = sv
            if "match" in cols and not is_missing(row["match"]):
                rule = f"as printed ({row['format']})" if "format" in cols and not is_missing(row["format"]) else "the table's own check"
                hints[key] = {"match": str(row["match"]).lower() == "true", "rule": rule,
                              "note": "" if "note" not in cols or is_missing(row["note"]) else str(row["note"])}
        return ours, seed, hints
    if "quantity" in cols and "ours" in cols:
        for _, row in df.iterrows():
            key = (oid, str(row["quantity"]))
            ours[key] = as_float(row["ours"])
            if "seed" in cols and not is_missing(row["seed"]):
                seed[key] = as_float(row["seed"])
        return ours, seed, hints
    metrics = [c for c in cols if f"{c}_seed" in cols]
    if not metrics:
        return ours, seed, hints
    for _, row in df.iterrows():
        if "experiment" in cols and "run" in cols:
            where = f"{row['experiment']}/{row['run']}"
        else:
            where = f"{oid}/{row[cols[0]]}"
        for m in metrics:
            ours[(where, m)] = as_float(row[m])
            if not is_missing(row[f"{m}_seed"]):
                seed[(where, m)] = as_float(row[f"{m}_seed"])
    return ours, seed, hints


def reproduction_rows(study: str, reported: list[dict], tables: dict[str, pd.DataFrame],
                      quirks: list[dict], tolerances: dict) -> list[dict]:
    """Every number the write-up reported beside ours, with a verdict.

    ``reported``: the config's numbers, ``[{where, metric, value}]`` (where is
    ``experiment/run`` or ``analysis/<name>``). Seed values that a table carries but the
    config does not list are added after them, so numbers a study keeps in its own
    tables are checked too. A config tolerance always decides; without one, an
    acceptance table's own verdict (its ``match`` column) does.
    """
    ours_all: dict = {}
    seed_all: dict = {}
    hints_all: dict = {}
    source: dict = {}
    for oid, df in tables.items():
        o, s, h = table_numbers(oid, df)
        for k, v in o.items():
            if k not in ours_all or (ours_all[k] is None and v is not None):
                ours_all[k] = v
            source.setdefault(k, []).append(oid)
        for k, v in s.items():
            seed_all.setdefault(k, v)
        for k, v in h.items():
            hints_all.setdefault(k, v)
    wanted = [(r["where"], r["metric"], float(r["value"])) for r in reported if not is_missing(r.get("value"))]
    seen = {(w, m) for w, m, _ in wanted}
    wanted += [(w, m, v) for (w, m), v in seed_all.items() if (w, m) not in seen and v is not None]
    rows = []
    for where, metric, value in wanted:
        ours = ours_all.get((where, metric))
        qs = quirks_for(quirks, where, metric)
        tol = tolerance_for(tolerances, study, where, metric)
        hint = hints_all.get((where, metric))
        numeric = isinstance(value, float) and (ours is None or isinstance(ours, float))
        row = {"where": where, "metric": metric, "reported": value, "ours": ours,
               "diff": ours - value if numeric and ours is not None else None,
               "tolerance": str(tol), "tolerance_key": tol.key, "bound": tol.bound(value) if numeric else None,
               "quirks": [q["name"] for q in qs], "quirk_text": " ".join(q.get("text", "") for q in qs),
               "fixed_where": None, "fixed_ours": None, "fixed_diff": None, "note": "",
               "sources": source.get((where, metric), [])}
        if hint is not None and (tol.value is None or not numeric):
            row.update(tolerance=hint["rule"], tolerance_key=None, note=hint["note"],
                       verdict="missing" if ours is None else "match" if hint["match"]
                       else "explained" if qs else "differs")
        elif numeric:
            row["verdict"] = verdict(ours, value, tol, qs)
        else:
            row["verdict"] = ("missing" if ours is None else "match" if str(ours) == str(value)
                              else "explained" if qs else "differs")
        for q in qs:
            fw = fixed_where(q, where)
            if fw:
                fo = ours_all.get((fw, metric))
                row.update(fixed_where=fw, fixed_ours=fo,
                           fixed_diff=fo - value if isinstance(fo, float) and numeric else None)
                break
        rows.append(row)
    return rows


def verdict_counts(rows: list[dict]) -> dict:
    return {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
