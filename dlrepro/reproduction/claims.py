"""The write-ups' conclusions as checkable statements, each evaluated on the write-up's
own printed numbers and on ours: holds / does not hold, with the numbers."""
from __future__ import annotations

import operator
from typing import Callable

from dlrepro.reproduction.ours import Ours

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
       "==": operator.eq, "!=": operator.ne}
HOLDS, FAILS = "holds", "does not hold"


def _label(op) -> str:
    if isinstance(op, str):
        return op
    if isinstance(op, (int, float)):
        return f"{op:g}"
    if "diff" in op:
        a, b = (_label(o) for o in op["diff"])
        return op.get("label") or (f"|{a} - {b}|" if op.get("abs") else f"({a} - {b})")
    return op.get("label") or f"{op.get('run') or op.get('analysis') or op.get('table') or ''}.{op['quantity']}"


def operand_values(op, numbers: dict[str, dict], ours_of: Callable[[dict], Ours]) -> tuple[float | None, float | None]:
    """(the write-up's value, ours) of an operand: a number's id, a constant, a quantity
    of ours the write-up did not print (its value there is None), or ``{diff: [a, b]}``,
    a - b on each side (|a - b| with ``abs: true``; None where either is None)."""
    if isinstance(op, (int, float)):
        return float(op), float(op)
    if isinstance(op, dict) and "diff" in op:
        (wa, oa), (wb, ob) = (operand_values(o, numbers, ours_of) for o in op["diff"])

        def sub(a, b):
            if a is None or b is None:
                return None
            return abs(a - b) if op.get("abs") else a - b
        return sub(wa, wb), sub(oa, ob)
    if isinstance(op, str):
        n = numbers[op]
        o = ours_of(n).value
        return (None if n["printed"] is None else n["printed"] / n["scale"]), o
    row = {"where": next((k for k in ("run", "analysis", "table") if k in op), "value"),
           "name": op.get("run") or op.get("analysis") or op.get("table"), "row": op.get("row"),
           "quantity": op["quantity"], "epoch": op.get("epoch", "last" if "run" in op and not op.get("reduce") else None),
           "reduce": op.get("reduce"), "over": op.get("over"), "scale": 1.0}
    return None, ours_of(row).value


def _judge(claim: dict, vals: list[float | None]) -> str:
    if any(v is None for v in vals):
        return "not printed"
    if claim["kind"] == "best":
        subject = vals[0]  # vals: the subject, then the rest of `among`
        best = min(vals) if claim.get("lower_is_better") else max(vals)
        return HOLDS if subject == best else FAILS
    left, right = vals
    right = right * claim.get("factor", 1.0) + claim.get("offset", 0.0)
    if claim["op"] in ("==", "!=") and claim.get("tolerance") is not None:
        equal = abs(left - right) <= claim["tolerance"]
        return HOLDS if equal == (claim["op"] == "==") else FAILS
    return HOLDS if OPS[claim["op"]](left, right) else FAILS


def evaluate(claim: dict, numbers: dict[str, dict], ours_of: Callable[[dict], Ours]) -> dict:
    """One row of claims.csv."""
    if claim["kind"] == "best":
        ops = [claim["subject"]] + [o for o in claim["among"] if o != claim["subject"]]
    else:
        ops = [claim["left"], claim["right"]]
    pairs = [operand_values(o, numbers, ours_of) for o in ops]
    on_writeup = _judge(claim, [w for w, _ in pairs])
    on_ours = _judge(claim, [o for _, o in pairs])
    if on_ours == "not printed":
        on_ours = "missing"

    def fmt(v):
        return "—" if v is None else f"{v:.6g}"
    numbers_txt = "; ".join(f"{_label(o)}: write-up {fmt(w)}, ours {fmt(u)}" for o, (w, u) in zip(ops, pairs))
    if claim["kind"] == "compare":
        offset = claim.get("offset")
        numbers_txt += (f" (left {claim['op']} {claim.get('factor', 1.0):g} x right"
                        + (f" {'+' if offset >= 0 else '-'} {abs(offset):g}" if offset else "") + ")")
    return {"id": claim["id"], "claim": claim["text"], "on_writeup": on_writeup, "on_ours": on_ours,
            "numbers": numbers_txt, "section": claim.get("section", ""), "source": claim["source"],
            "note": claim.get("note", "")}
