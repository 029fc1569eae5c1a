"""One tidy table of every torch run of a build (``results/<preset>/runs.csv``): a row per
run, read from its ``final.json`` alone, for a user who wants to plot a comparison of
their own in pandas.

Columns, in this order: ``study``, ``experiment``, ``run``, ``status``, ``synthetic``,
``device``, ``device_name``, ``epochs_completed``, ``train_seconds``, ``wall_seconds``,
``n_params``; the final epoch's metrics (``train_loss``, ``train_loss_mean``,
``train_acc``, ``val_loss``, ``val_acc``, ``lr``), ``best_val_acc``, the test metrics
(``test_loss``, ``test_acc``; empty where the run has no test split); for a run of N
seeds (``replicates``) the spread over the seeds (``<metric>_std``, sample standard
deviation, for the final metrics and ``test_acc_std``, ``best_val_acc_std``); then every
setting, flattened to dotted columns (``optimizer.lr``, ``model_args.arch``, ...; a list is
written as JSON text, e.g. ``[256, 256]``), sorted by name.
"""
from __future__ import annotations

import json
import statistics

import pandas as pd

__all__ = ["flatten", "run_row", "runs_table", "RUN_COLUMNS", "METRICS"]

RUN_COLUMNS = ["study", "experiment", "run", "status", "synthetic", "device", "device_name",
               "epochs_completed", "train_seconds", "wall_seconds", "n_params"]
METRICS = ["train_loss", "train_loss_mean", "train_acc", "val_loss", "val_acc", "lr"]
SPREAD = ["train_loss", "train_loss_mean", "train_acc", "val_loss", "val_acc"]


def flatten(d: dict, prefix: str = "") -> dict:
    """{"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}; lists become JSON text."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        elif isinstance(v, dict):
            out[key] = None
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(v)
        else:
            out[key] = v
    return out


def _std(values: list | None) -> float | None:
    vals = [v for v in values or [] if v is not None]
    return statistics.stdev(vals) if len(vals) > 1 else None


def run_row(final: dict) -> dict:
    """One run's row (see the module docstring) from its final.json."""
    study, experiment, run = final["run"].split("/")
    prov = final.get("provenance") or {}
    last = final.get("final") or {}
    test = final.get("test") or {}
    row = {"study": study, "experiment": experiment, "run": run, "status": final["status"],
           "synthetic": bool(final.get("synthetic")), "device": prov.get("device"),
           "device_name": prov.get("device_name"), "epochs_completed": final.get("epochs_completed"),
           "train_seconds": final.get("train_seconds"), "wall_seconds": final.get("wall_seconds"),
           "n_params": final.get("n_params")}
    row.update({m: last.get(m) for m in METRICS})
    row.update(best_val_acc=final.get("best_val_acc"), test_loss=test.get("loss"), test_acc=test.get("acc"))
    reps = final.get("replicates")
    if reps:
        row.update({f"{m}_std": last.get(f"{m}_std") for m in SPREAD})
        row["best_val_acc_std"] = _std(reps.get("best_val_acc"))
        row["test_acc_std"] = _std((reps.get("test") or {}).get("acc"))
    settings = flatten(final["settings"])
    clash = set(settings) & set(row)
    if clash:
        raise ValueError(f"{final['run']}: settings {sorted(clash)} clash with the table's own columns")
    row.update(dict(sorted(settings.items())))
    return row


def runs_table(final_paths: list[str]) -> pd.DataFrame:
    """The table of the runs whose final.json files are given, in that order."""
    rows = []
    for p in final_paths:
        with open(p) as fh:
            rows.append(run_row(json.load(fh)))
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    head = [c for c in RUN_COLUMNS + METRICS + ["best_val_acc", "test_loss", "test_acc"] if c in df]
    spread = [c for c in df if c.endswith("_std") and c not in head]
    rest = sorted(c for c in df if c not in head and c not in spread)
    return df[head + spread + rest]
