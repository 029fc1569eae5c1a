"""What the runs behind an output share and where they differ: the settings line of a
caption. Plain Python (evaluated at DAG time for the page rule's params)."""
from __future__ import annotations

from typing import Any

from dlrepro.site.formatting import value_str


def flatten(d: Any, prefix: str = "") -> dict:
    """{"optimizer": {"lr": 1e-3}} -> {"optimizer.lr": 1e-3}; lists stay values."""
    out: dict = {}
    if isinstance(d, dict):
        for k, v in d.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, key))
            else:
                out[key] = v
    else:
        out[prefix] = d
    return out


def _ordered_keys(maps: list[dict]) -> list[str]:
    keys: list[str] = []
    for m in maps:
        keys += [k for k in m if k not in keys]
    return keys


def settings_summary(settings: list[dict], experiments: list[str] | None = None) -> dict:
    """``{n_runs, common, varying[, experiments]}`` over flattened settings: a key with one
    value across the runs is common, a key with several lists them in order."""
    flats = [flatten(s) for s in settings]
    out: dict = {"n_runs": len(flats), "common": {}, "varying": {}}
    if experiments:
        counts: dict[str, int] = {}
        for e in experiments:
            counts[e] = counts.get(e, 0) + 1
        out["experiments"] = counts
    for k in _ordered_keys(flats):
        uniq = list(dict.fromkeys(value_str(f.get(k, "—")) for f in flats))
        if len(uniq) == 1:
            out["common"][k] = uniq[0]
        else:
            out["varying"][k] = uniq
    return out


def merge_summaries(summaries: list[dict | None]) -> dict:
    """One summary over several (the runs of a gallery): common keys that differ between
    the summaries become varying."""
    commons = [s.get("common", {}) for s in summaries if s]
    exps: dict[str, int] = {}
    for s in summaries:
        for e, c in ((s or {}).get("experiments") or {}).items():
            exps[e] = exps.get(e, 0) + c
    out: dict = {"n_runs": len(commons), "common": {}, "varying": {}, "experiments": exps}
    for k in _ordered_keys(commons):
        vals = list(dict.fromkeys(str(c.get(k, "—")) for c in commons))
        if len(vals) == 1:
            out["common"][k] = vals[0]
        else:
            out["varying"][k] = vals
    return out
