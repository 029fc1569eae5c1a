"""Our values under the names the study's ledger (``studies/scratch_backprop.printed.yaml``)
gives the write-up's printed numbers, and the per-section summary of the reproduction
table. The comparison itself is :mod:`dlrepro.reproduction` (one for every study): each
number at the precision the write-up printed it (``f6`` numpy's ``precision=6`` print,
``f4`` the training log's ``%7.4f``, ``repr`` all digits of a float: bit-exact, ``int``).
"""
from __future__ import annotations

import pandas as pd

from dlrepro.reproduction.verdicts import VERDICTS


def epoch_values(run: str, history: dict) -> dict:
    """Our per-epoch values of one digits run: ``digits.<run>.<loss_train|acc_train|...>``."""
    return {f"digits.{run}.{k}": list(v) for k, v in history.items()}


def gd_values(gd_runs: pd.DataFrame, global_min: dict) -> dict:
    """The final f of each gradient-descent run, its gap to the global minimum, and the
    global minimum: ``gd.<run>.value``, ``gd.<run>.gap_to_global_min``, ``gd.global_min.value``."""
    out = {f"gd.{r['name']}.value": float(r["value"]) for _, r in gd_runs.iterrows()}
    out.update({f"gd.{r['name']}.gap_to_global_min": float(r["value"]) - float(global_min["value"])
                for _, r in gd_runs.iterrows()})
    out["gd.global_min.value"] = float(global_min["value"])
    return out


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Verdict counts per section of the write-up (rows of the reproduction table)."""
    rows = []
    for section, g in table.groupby("section", sort=False):
        row = {"section": section, "numbers": len(g)}
        row.update({v: int((g["verdict"] == v).sum()) for v in VERDICTS})
        rows.append(row)
    return pd.DataFrame(rows)
