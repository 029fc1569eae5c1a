"""Tables of run results, each of our numbers next to the write-up's printed one (from the
study's ledger, :func:`dlrepro.config.ledger.printed_by_run`). The verdicts are the
reproduction table's (:mod:`dlrepro.reproduction`); these tables only set numbers side by side."""
from __future__ import annotations

import json

import pandas as pd


def _load(paths: list[str]) -> list[dict]:
    out = []
    for p in paths:
        with open(p) as fh:
            out.append(json.load(fh))
    return out


def run_table(final_paths: list[str], metrics_paths: list[str], spec: dict, printed: dict) -> pd.DataFrame:
    finals = _load(final_paths)
    if spec["kind"] == "epoch_time":
        return epoch_time_table(finals)
    if spec["kind"] == "epochs_to_target":
        return epochs_to_target_table(finals, [pd.read_csv(p) for p in metrics_paths], spec["target_loss"])
    metrics = spec.get("metrics", ["train_acc", "val_acc"])
    histories = [pd.read_csv(p) for p in metrics_paths] if any("@" in m for m in metrics) else None
    return final_table(finals, metrics, printed, spec.get("labels", {}), histories)


def _at_epoch(history: pd.DataFrame | None, metric: str) -> float | None:
    """``"val_acc@20"``: the run's val_acc after epoch 20 (None if it stopped before)."""
    col, epoch = metric.split("@", 1)
    if history is None or col not in history:
        return None
    hit = history.loc[history["epoch"] == int(epoch), col]
    return float(hit.iloc[0]) if len(hit) else None


def _metric(f: dict, m: str):
    """An epoch metric of the final row, a run-level value, or a derived one:
    ``overfit_ratio`` = validation / training accuracy (seed 001's 'Overfitting' column)."""
    last = f["final"] or {}
    if m == "overfit_ratio":
        return last["val_acc"] / last["train_acc"] if last.get("train_acc") else None
    return last.get(m, f.get(m))


def final_table(finals: list[dict], metrics: list[str], printed: dict, labels: dict,
                histories: list[pd.DataFrame] | None = None) -> pd.DataFrame:
    """Final-epoch metrics of every run; for each metric ours, the write-up's, and ours − write-up.
    A metric ``name@N`` is the value after epoch N (``histories``: the runs' metrics CSVs)."""
    rows = []
    for i, f in enumerate(finals):
        study, exp, run = f["run"].split("/")
        row = {"experiment": exp, "run": run}
        if labels:
            row["label"] = labels.get(run, run)
        row.update(status=f["status"], epochs=f["epochs_completed"])
        if f.get("replicates"):
            row["seeds"] = f["replicates"]["n"]
        writeup = printed.get(f["run"], {})
        for m in metrics:
            if "@" in m:
                ours = _at_epoch(histories[i] if histories else None, m)
            else:
                ours = _metric(f, m)
            theirs = writeup.get(m)
            row[m] = ours
            if f.get("replicates") and "@" not in m:  # mean over seeds, and its spread
                row[f"{m}_std"] = (f["final"] or {}).get(f"{m}_std")
            row[f"{m}_writeup"] = theirs
            row[f"{m}_diff"] = None if ours is None or theirs is None else ours - theirs
        if f.get("test") or "test_acc" in writeup:
            ours = f["test"]["acc"] if f.get("test") else None
            row.update(test_acc=ours, test_acc_writeup=writeup.get("test_acc"),
                       test_acc_diff=None if ours is None or writeup.get("test_acc") is None
                       else ours - writeup["test_acc"])
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


def epochs_to_target_table(finals: list[dict], metrics: list[pd.DataFrame], target: float) -> pd.DataFrame:
    """Seconds per epoch and epochs (and seconds) until the mean training loss first
    reaches ``target``: the BGD / SGD / mini-batch comparison, measured."""
    rows = []
    for f, df in zip(finals, metrics):
        study, exp, run = f["run"].split("/")
        hit = df.index[df["train_loss_mean"] <= target]
        ep = int(df.loc[hit[0], "epoch"]) if len(hit) else None
        rows.append({"experiment": exp, "run": run, "batch_size": f["settings"]["batch_size"],
                     "updates_per_epoch": -(-f["train_samples"] // f["settings"]["batch_size"]),
                     "seconds_per_epoch": float(df["seconds"].mean()), "target_loss": target,
                     "epochs_to_target": ep,
                     "seconds_to_target": float(df["seconds"][: ep].sum()) if ep else None,
                     "final_train_loss": float(df["train_loss_mean"].iloc[-1]),
                     "device": f["provenance"]["device"], "synthetic": f["synthetic"]})
    return pd.DataFrame(rows)
