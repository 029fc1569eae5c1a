"""Verdicts of one printed number against ours.

- ``match``: |ours − printed| within half a unit of the printed precision or within the
  declared tolerance (config ``tolerances``; for a run with replicates and no declared
  tolerance, the replicate band: 2 standard deviations over the seeds);
- ``explained``: outside, and the ledger names a cause from the fixed list: ``hardware``
  (wall times), ``unknown_code`` (the write-up shows no code; the ledger names our
  assumption), or ``unseeded`` when the printed value lies inside our replicate band.
  A quirk of the write-up's code is never a cause: the as-run run must match on its own;
- ``differs``: outside, with no such cause;
- ``missing``: no output holds our number; ``illegible``: the write-up's rendering lost it.
"""
from __future__ import annotations

import statistics

from dlrepro.reproduction.ours import Ours
from dlrepro.reproduction.tolerances import Tolerance

VERDICTS = ("match", "explained", "differs", "missing", "illegible")
CAUSES = ("hardware", "unseeded", "unknown_code")
BAND_SD = 2.0  # the replicate band: mean ± 2 standard deviations over the seeds


def replicate_band(values: list[float] | None) -> tuple[float, float] | None:
    """(low, high) of our seeds' values, or None with fewer than two seeds."""
    if not values or len(values) < 2:
        return None
    m, sd = statistics.fmean(values), statistics.stdev(values)
    return m - BAND_SD * sd, m + BAND_SD * sd


def bound_of(n: dict, tol: Tolerance, ours: Ours) -> tuple[float, str]:
    """The allowed |ours − printed| in printed units, and what set it."""
    scale = n["scale"]
    hu = n["half_unit"] or 0.0
    declared = tol.bound(n["printed"] / scale) * scale if tol.value is not None else None
    band = replicate_band(ours.replicates)
    if declared is None and band is not None:
        half = (band[1] - band[0]) / 2 * scale
        return (max(hu, half), f"replicate band ±{half:.3g} (2 s.d., {len(ours.replicates)} seeds)")
    if declared is not None and declared > hu:
        return declared, f"{tol} ({tol.key})"
    return hu, f"as printed (±{hu:.3g})"


def verdict(n: dict, ours: Ours, tol: Tolerance) -> dict:
    """``{verdict, cause, bound, rule, diff}`` of one expanded ledger row."""
    out = {"verdict": None, "cause": None, "bound": None, "rule": "", "diff": None}
    if n["printed"] is None:
        out.update(verdict="illegible", rule="illegible in the write-up's rendering")
        return out
    if ours.value is None:
        out.update(verdict="missing", rule=ours.detail or "no output holds our number")
        return out
    bound, rule = bound_of(n, tol, ours)
    diff = ours.value * n["scale"] - n["printed"]
    out.update(bound=bound, rule=rule, diff=diff)
    if abs(diff) <= bound * (1 + 1e-9) + 1e-12 * max(1.0, abs(n["printed"])):
        out["verdict"] = "match"
        return out
    cause = n.get("cause")
    if cause in ("hardware", "unknown_code"):
        out.update(verdict="explained", cause=cause)
    elif cause == "unseeded":
        band = replicate_band(ours.replicates)
        p = n["printed"] / n["scale"]
        hu = (n["half_unit"] or 0.0) / n["scale"]
        if band is not None and band[0] - hu <= p <= band[1] + hu:
            out.update(verdict="explained", cause="unseeded")
        else:
            out["verdict"] = "differs"
            out["rule"] += ("; outside our replicate band" if band else "; unseeded, but no replicate band to judge")
    else:
        out["verdict"] = "differs"
    return out


def counts(verdicts) -> dict:
    verdicts = list(verdicts)
    return {v: sum(x == v for x in verdicts) for v in VERDICTS}
