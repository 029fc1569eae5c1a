"""Tables of run results, each of our numbers next to the write-up's printed one (from the
study's ledger, :func:`dlrepro.config.ledger.printed_by_run`). The verdicts are the
reproduction table's (:mod:`dlrepro.reproduction`); these tables only set numbers side by side."""
from __future__ import annotations

import json

import pandas as pd

from dlrepro.config import get_dotted


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
        return epochs_to_target_table(finals, [pd.read_csv(p) for p in metrics_paths], spec["target_loss"],
                                      spec.get("tune"))
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
    """An epoch metric of the final row, a run-level value, a final.json key path
    (``final_eval.train_acc``), or a derived one: ``overfit_ratio`` = validation / training
    accuracy (seed 001's 'Overfitting' column)."""
    last = f["final"] or {}
    if m == "overfit_ratio":
        return last["val_acc"] / last["train_acc"] if last.get("train_acc") else None
    if "." in m and m not in last:
        return get_dotted(f, m)
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
            theirs = writeup.get(m, writeup.get(m.replace(".", "_")))  # ledger.table_metric: final_eval_train_acc
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


def epochs_to_target_table(finals: list[dict], metrics: list[pd.DataFrame], target: float,
                           tune: dict | None = None) -> pd.DataFrame:
    """Seconds per epoch and epochs (and seconds) until the mean training loss first
    reaches ``target``: the BGD / SGD / mini-batch comparison, measured.

    ``tune`` (``{per: batch_size, over: optimizer.lr}``): the runs form a grid of ``over``
    values per ``per`` value, and column ``chosen`` marks the run of each group that the
    table picks, by :func:`pick_tuned`: the fewest epochs to the target, ties broken by
    the lower loss at that epoch; where no run of the group reached it, the lowest final
    loss (a diverged run is never picked). ``grid_edge`` says the picked value is the
    smallest or largest of its group's grid (a wider grid might do better)."""
    rows = []
    for f, df in zip(finals, metrics):
        study, exp, run = f["run"].split("/")
        loss = df["train_loss_mean"].astype(float)
        hit = df.index[loss <= target]
        ep = int(df.loc[hit[0], "epoch"]) if len(hit) else None
        row = {"experiment": exp, "run": run, "batch_size": f["settings"]["batch_size"]}
        if tune:
            for key in (tune["per"], tune["over"]):
                row[key.split(".")[-1]] = get_dotted(f["settings"], key)
        row.update({"updates_per_epoch": -(-f["train_samples"] // f["settings"]["batch_size"]),
                    "epochs": f["epochs_completed"], "status": f["status"],
                    "seconds_per_epoch": float(df["seconds"].mean()), "target_loss": target,
                    "epochs_to_target": ep,
                    "seconds_to_target": float(df["seconds"][: ep].sum()) if ep else None,
                    "loss_at_target": float(loss[hit[0]]) if len(hit) else None,
                    "final_train_loss": float(loss.iloc[-1]) if len(loss) else None,
                    "device": f["provenance"]["device"], "synthetic": f["synthetic"]})
        rows.append(row)
    table = pd.DataFrame(rows)
    if tune and len(table):
        table = pick_tuned(table, tune["per"].split(".")[-1], tune["over"].split(".")[-1])
    return table


def pick_tuned(table: pd.DataFrame, per: str, over: str) -> pd.DataFrame:
    """Column ``chosen``: per value of ``per``, the row with the fewest ``epochs_to_target``
    (ties: the lower ``loss_at_target``); in a group where none reached the target, the
    lowest finite ``final_train_loss`` of a run that did not diverge. Column ``grid_edge``:
    the chosen ``over`` value is the group's smallest or largest."""
    import math

    table = table.copy()
    table["chosen"] = False
    table["grid_edge"] = None
    for _, group in table.groupby(per, sort=False):
        ok = group[group["status"] != "diverged"]
        reached = ok[ok["epochs_to_target"].notna()]
        if len(reached):
            best = reached.sort_values(["epochs_to_target", "loss_at_target"], kind="stable").index[0]
        else:
            finite = ok[ok["final_train_loss"].map(lambda v: v is not None and math.isfinite(v))]
            if not len(finite):
                continue
            best = finite.sort_values("final_train_loss", kind="stable").index[0]
        table.loc[best, "chosen"] = True
        grid = group[over].astype(float)
        table.loc[best, "grid_edge"] = bool(float(table.loc[best, over]) in (grid.min(), grid.max()))
    return table
