"""Our value of a ledger number, read from a study's outputs: the runs' ``metrics.csv``
and ``final.json``, analysis and table CSVs, or a study's own computed values."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dlrepro.config.ledger import evaluate, expression_names, is_path


@dataclass
class Ours:
    value: float | None
    replicates: list[float] | None = None   # one value per seed, where the run has replicates
    detail: str = ""                         # why there is no value


@dataclass
class StudyOutputs:
    """File paths of one study's outputs (the comparison job's inputs)."""
    runs: dict[str, dict[str, str]] = field(default_factory=dict)   # "e/r" -> {metrics, final}
    analyses: dict[str, str] = field(default_factory=dict)           # name -> csv
    tables: dict[str, str] = field(default_factory=dict)             # name -> csv
    values: dict[str, Any] = field(default_factory=dict)             # a study's computed values

    def __post_init__(self):
        self._cache: dict[tuple, Any] = {}

    def _read(self, kind: str, path: str):
        key = (kind, path)
        if key not in self._cache:
            if kind == "json":
                with open(path) as fh:
                    self._cache[key] = json.load(fh)
            else:
                self._cache[key] = pd.read_csv(path)
        return self._cache[key]

    def get(self, n: dict) -> Ours:
        """Our value of one expanded ledger row (``dlrepro.config.ledger.expand``)."""
        try:
            if n["where"] == "run":
                return self._run(n)
            if n["where"] in ("analysis", "table"):
                paths = self.analyses if n["where"] == "analysis" else self.tables
                if n["name"] not in paths:
                    return Ours(None, detail=f"no {n['where']} {n['name']!r} in this build")
                return Ours(_from_table(self._read("csv", paths[n["name"]]), n))
            return Ours(_from_values(self.values, n["quantity"]))
        except (KeyError, IndexError, ValueError, TypeError, OSError) as e:
            return Ours(None, detail=f"{type(e).__name__}: {e}")


    def _run(self, n: dict) -> Ours:
        files = self.runs.get(n["name"])
        if not files:
            return Ours(None, detail=f"run {n['name']} not in this build")
        final = self._read("json", files["final"])
        metrics = self._read("csv", files["metrics"])
        if not is_path(n["quantity"]) and expression_names(n["quantity"]) <= set(metrics.columns):
            value = _at(metrics, n)
            reps = None
            per_seed = (final.get("replicates") or {}).get("metrics")
            if per_seed:
                reps = [_at(pd.DataFrame(rows), n) for rows in per_seed]
                reps = [r for r in reps if r is not None]
            return Ours(value, reps or None)
        if n.get("epoch") not in (None, "last") or n.get("reduce"):
            return Ours(None, detail=f"{n['quantity']} is not a metrics.csv column")
        return Ours(_dotted(final, n["quantity"]))


def _at(metrics: pd.DataFrame, n: dict) -> float | None:
    """The quantity at the number's epoch (or reduced over epochs) of one metrics table."""
    if metrics.empty:
        return None
    names = expression_names(n["quantity"])
    series = pd.Series(evaluate(n["quantity"], {k: metrics[k].astype(float) for k in names}), index=metrics.index)
    epochs = metrics["epoch"].astype(int)
    red, ep = n.get("reduce"), n.get("epoch")
    if red in ("max", "min"):
        pick = series[epochs.isin(n["over"])] if n.get("over") else series
        pick = pick.dropna()
        if n.get("over") and len(pick) < len(n["over"]):
            return None  # a logged epoch the run did not reach
        return float(pick.max() if red == "max" else pick.min()) if len(pick) else None
    if ep in (None, "last"):
        return _num(series.iloc[-1] if red != "cumsum" else series.sum())
    hit = epochs == int(ep)
    if not hit.any():
        return None
    return _num(series[epochs <= int(ep)].sum() if red == "cumsum" else series[hit].iloc[0])


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _dotted(obj: Any, path: str) -> float | None:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            raise KeyError(f"{path} (no {part!r})")
        obj = obj[part]
    return _num(obj)


def _from_table(df: pd.DataFrame, n: dict) -> float | None:
    """A cell of an analysis/table CSV: the row whose key columns match ``row`` (or the
    row whose ``quantity`` column is the number's quantity), column ``quantity`` (or
    ``ours``)."""
    sel = pd.Series(True, index=df.index)
    for k, v in (n.get("row") or {}).items():
        sel &= df[k].astype(str) == str(v)
    q = n["quantity"]
    if q in df.columns:
        hits = df.loc[sel, q]
    elif "quantity" in df.columns and "ours" in df.columns:
        hits = df.loc[sel & (df["quantity"].astype(str) == q), "ours"]
    else:
        raise KeyError(f"no column {q!r} in the table")
    if len(hits) != 1:
        raise ValueError(f"{len(hits)} rows match {n.get('row') or q!r}")
    return _num(hits.iloc[0])


def _from_values(values: dict, q: str) -> float | None:
    """``name``, ``name[i]``, ``name[i,j]`` (negative indices count from the end), or
    ``name.min`` / ``name.max`` of a study's computed values."""
    import numpy as np

    base, _, idx = q.partition("[")
    for red in ("min", "max"):
        if not idx and base not in values and base.endswith("." + red) and base[: -len(red) - 1] in values:
            return _num(getattr(np, "nan" + red)(np.asarray(values[base[: -len(red) - 1]], dtype=float)))
    if base not in values:
        raise KeyError(q)
    arr = np.asarray(values[base], dtype=float)
    if idx:
        arr = arr[tuple(int(i) for i in idx.rstrip("]").split(","))]
    return _num(arr.reshape(()))
