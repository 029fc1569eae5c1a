"""A study's reproduction table and claims table, from its ledger and its outputs."""
from __future__ import annotations

import pandas as pd

from dlrepro.reproduction import claims as claims_mod
from dlrepro.reproduction.ours import Ours, StudyOutputs
from dlrepro.reproduction.tolerances import tolerance_for
from dlrepro.reproduction.verdicts import counts, verdict

COLUMNS = ["id", "section", "where", "quantity", "epoch", "printed", "ours", "diff", "tolerance", "verdict",
           "cause", "note", "source", "seeds"]
CLAIM_COLUMNS = ["id", "claim", "on_writeup", "on_ours", "numbers", "section", "source", "note"]


def where_of(n: dict) -> str:
    """``experiment/run``, ``analysis/<name>``, ``tables/<name>`` or ``values``."""
    if n["where"] == "run":
        return n["name"]
    if n["where"] == "analysis":
        return f"analysis/{n['name']}"
    if n["where"] == "table":
        return f"tables/{n['name']}"
    return "values"


def tolerance_metric(n: dict) -> str:
    """The name tolerances use for a number: its metric (``val_acc``), or for an
    expression the expression itself."""
    return n["quantity"].split("[", 1)[0] if n["where"] == "value" else n["quantity"]


def reproduction_table(study: str, numbers: list[dict], outputs: StudyOutputs, tolerances: dict,
                       extra_note=None) -> pd.DataFrame:
    """One row per printed number: ours beside it, in the printed units, with a verdict."""
    rows = []
    for n in numbers:
        ours = outputs.get(n) if n["printed"] is not None else Ours(None)
        tol = tolerance_for(tolerances, study, where_of(n), tolerance_metric(n))
        v = verdict(n, ours, tol)
        note = "; ".join(x for x in (n.get("note"), v["rule"] if v["verdict"] != "match" else "",
                                     n.get("assumption") and f"assumed: {n['assumption']}") if x)
        rows.append({"id": n["id"], "section": n.get("section") or "", "where": where_of(n),
                     "quantity": n["quantity"], "epoch": _epoch_text(n), "printed": n["printed_text"] or None,
                     "ours": None if ours.value is None else ours.value * n["scale"],
                     "diff": v["diff"], "tolerance": v["bound"], "verdict": v["verdict"], "cause": v["cause"],
                     "note": note, "source": n.get("source") or "",
                     "seeds": len(ours.replicates) if ours.replicates else None})
    return pd.DataFrame(rows, columns=COLUMNS)


def _epoch_text(n: dict) -> str:
    if n.get("reduce") in ("max", "min"):
        over = n.get("over")
        return f"{n['reduce']} over " + (f"epochs {over[0]}, {over[1]}, ..., {over[-1]}" if over and len(over) > 3
                                          else f"epochs {over}" if over else "all epochs")
    if n.get("reduce") == "cumsum":
        return f"sum to {n.get('epoch') or 'last'}"
    return "" if n.get("epoch") is None else str(n["epoch"])


def claims_table(claims: list[dict], numbers: list[dict], outputs: StudyOutputs) -> pd.DataFrame:
    by_id = {n["id"]: n for n in numbers}
    rows = [claims_mod.evaluate(c, by_id, outputs.get) for c in claims]
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def summary(table: pd.DataFrame, claims: pd.DataFrame | None = None) -> dict:
    """Verdict counts (and claims that hold on each side) for the index and the logs."""
    out = {"numbers": len(table), "verdicts": counts(table["verdict"])}
    if claims is not None and len(claims):
        out["claims"] = {"n": len(claims), "hold_on_writeup": int((claims["on_writeup"] == "holds").sum()),
                         "hold_on_ours": int((claims["on_ours"] == "holds").sum())}
    return out
