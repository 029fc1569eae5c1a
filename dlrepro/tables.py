"""Tables of run results, each of our numbers next to the write-up's."""
from __future__ import annotations

import json

import pandas as pd


def _load(paths: list[str]) -> list[dict]:
    out = []
    for p in paths:
        with open(p) as fh:
            out.append(json.load(fh))
    return out


def run_table(final_paths: list[str], spec: dict, reported: dict) -> pd.DataFrame:
    finals = _load(final_paths)
    if spec["kind"] == "epoch_time":
        return epoch_time_table(finals)
    return final_table(finals, spec.get("metrics", ["train_acc", "val_acc"]), reported, spec.get("labels", {}))


def final_table(finals: list[dict], metrics: list[str], reported: dict, labels: dict) -> pd.DataFrame:
    """Final-epoch metrics of every run; for each metric ours, the seed's, and ours − seed."""
    rows = []
    for f in finals:
        study, exp, run = f["run"].split("/")
        row = {"experiment": exp, "run": run}
        if labels:
            row["label"] = labels.get(run, run)
        row.update(status=f["status"], epochs=f["epochs_completed"])
        seed = reported.get(f["run"], {})
        for m in metrics:
            ours = f["final"][m] if f["final"] else None
            theirs = seed.get(m)
            row[m] = ours
            row[f"{m}_seed"] = theirs
            row[f"{m}_diff"] = None if ours is None or theirs is None else ours - theirs
        if f.get("test"):
            row["test_acc"] = f["test"]["acc"]
        row["synthetic"] = f["synthetic"]
        rows.append(row)
    return pd.DataFrame(rows)


def epoch_time_table(finals: list[dict]) -> pd.DataFrame:
    rows = []
    for f in finals:
        study, exp, run = f["run"].split("/")
        n = max(1, f["epochs_completed"])
        rows.append({"experiment": exp, "run": run, "n_params": f["n_params"], "epochs": f["epochs_completed"],
                     "seconds_per_epoch": f["train_seconds"] / n, "device": f["provenance"]["device"],
                     "threads": f["provenance"]["threads"], "synthetic": f["synthetic"]})
    return pd.DataFrame(rows)
