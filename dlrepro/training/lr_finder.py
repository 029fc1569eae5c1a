"""The LR range test's analysis: lr_min / lr_max from a ``range_test`` run's per-batch
(lr, loss) records (rule ``lr_bounds`` writes :func:`lr_bounds_from_final`'s record;
the ``clr`` schedule reads it through ``schedule.bounds_from``)."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["LR_FINDER_RULE", "lr_bounds_from_final", "lr_finder"]

LR_FINDER_RULE = (
    "Smoothed loss: s_i = a_i / (1 - beta^(i+1)), a_i = beta a_(i-1) + (1-beta) loss_i "
    "(beta 0.98). The sweep stops at the first i > 0 with s_i > stop_factor * min(s_0..s_(i-1)) "
    "or a non-finite loss; later records are dropped. lr_max = (lr at the minimum of s) / "
    "max_divisor (10): the minimum sits at the edge of divergence, one decade below is the "
    "largest rate that still trains stably. lr_min = the first lr at which s has fallen by "
    "onset_frac (10%) of the total drop s_start - s_min, s_start = median of the first 5% of s: "
    "where learning starts. If that is not below lr_max, lr_min = lr_max / max_divisor."
)


def lr_finder(lrs: Sequence[float], losses: Sequence[float], beta: float = 0.98,
              stop_factor: float = 4.0, max_divisor: float = 10.0,
              onset_frac: float = 0.1) -> dict:
    """Analyse per-batch (lr, loss) records of a range test; the rule is ``LR_FINDER_RULE``.

    Returns a dict with ``lrs``, ``losses``, ``smoothed`` (kept part only), ``stop_index``
    (index of the first dropped record, or None), ``lr_at_min_loss``, ``min_smoothed_loss``,
    ``lr_steepest`` (most negative d s / d log10 lr, for reference), ``lr_min``,
    ``lr_max``, ``rule`` and the parameters used.
    """
    lrs = [float(v) for v in lrs]
    losses = [float(v) for v in losses]
    if len(lrs) != len(losses) or not lrs:
        raise ValueError("lr_finder needs equally long, non-empty lrs and losses")
    avg, best = 0.0, math.inf
    smoothed: list[float] = []
    stop_index = None
    for i, loss in enumerate(losses):
        if not math.isfinite(loss):
            stop_index = i
            break
        avg = beta * avg + (1 - beta) * loss
        s = avg / (1 - beta ** (i + 1))
        if i > 0 and s > stop_factor * best:
            stop_index = i
            break
        best = min(best, s)
        smoothed.append(s)
    if not smoothed:
        raise ValueError("lr_finder: no usable records")
    n = len(smoothed)
    kept_lrs = lrs[:n]
    s_arr = np.asarray(smoothed)
    i_min = int(np.argmin(s_arr))
    lr_at_min = kept_lrs[i_min]
    lr_max = lr_at_min / max_divisor
    # steepest descent w.r.t. log10(lr), over the part before the minimum
    lr_steepest = None
    if i_min >= 2:
        grad = np.gradient(s_arr[: i_min + 1], np.log10(np.asarray(kept_lrs[: i_min + 1])))
        lr_steepest = kept_lrs[int(np.argmin(grad))]
    k = max(1, int(math.ceil(0.05 * n)))
    s_start = float(np.median(s_arr[:k]))
    drop = s_start - float(s_arr[i_min])
    lr_min = None
    if drop > 0:
        thresh = s_start - onset_frac * drop
        below = np.nonzero(s_arr[: i_min + 1] <= thresh)[0]
        if below.size:
            lr_min = kept_lrs[int(below[0])]
    if lr_min is None or lr_min >= lr_max:
        lr_min = lr_max / max_divisor
    return {
        "lrs": kept_lrs, "losses": losses[:n], "smoothed": smoothed, "stop_index": stop_index,
        "lr_at_min_loss": lr_at_min, "min_smoothed_loss": float(s_arr[i_min]),
        "lr_steepest": lr_steepest, "lr_min": lr_min, "lr_max": lr_max,
        "beta": beta, "stop_factor": stop_factor, "max_divisor": max_divisor,
        "onset_frac": onset_frac, "rule": LR_FINDER_RULE,
    }


def lr_bounds_from_final(final: dict) -> dict:
    """The ``lr_bounds.json`` record of a finished range-test run (its ``final.json``
    mapping): :func:`lr_finder` on the per-batch (lr, loss) records, plus the rule text,
    the source run and the synthetic flag. Rule ``lr_bounds`` writes exactly this."""
    b = final.get("batches") or []
    if not b:
        raise ValueError(f"run {final.get('run')!r} has no per-batch records: "
                         "set loop.record_batches for the range test")
    found = lr_finder([r["lr"] for r in b], [r["loss"] for r in b])
    return {**found, "rule": LR_FINDER_RULE, "source_run": final["run"], "synthetic": final["synthetic"]}
