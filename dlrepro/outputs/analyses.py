"""Computed figures and tables (rule ``analysis``).

Each kind is a function ``fn(args, out_path, data_path)`` (``runs=`` too for a kind that
reads training runs, ``printed=`` for one that sets the write-up's printed tables beside
its own, from the ledger's ``transcripts``) registered with ``@analysis("kind")``; the
study config names the kind and its ``args``. An analysis computes our numbers only: the
comparison with the write-up's is the reproduction table's (:mod:`dlrepro.reproduction`).
The generic kinds that need no run are here; the others live in the modules of
``MODULES``, loaded on the first lookup. A new kinds module goes into ``MODULES``.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

from dlrepro.ioutil import save_figure, write_csv
from dlrepro.outputs.plotting import plt, stamp, style
from dlrepro.registry import Registry

MODULES = (
    "dlrepro.outputs.training_analyses",
    "dlrepro.studies.optim_clr_cutout.analyses",
)
REGISTRY = Registry("analysis kind", MODULES)


def analysis(kind: str):
    """``@analysis("kind")``: register an analysis function (a kind registered twice is an error)."""
    return REGISTRY.register(kind)


def kinds() -> list[str]:
    return REGISTRY.names()


def run_analysis(spec: dict, out_path: str, data_path: str | None = None,
                 runs: dict[str, dict[str, str]] | None = None, printed: dict | None = None) -> None:
    """Run the kind ``spec['kind']``. Kinds that read training runs (``spec['runs']``)
    are called with ``runs=``: ``{"experiment/run": {"final": path, "metrics": path,
    "lr_bounds": path (range tests)}}``, see :func:`run_files_by_key`; kinds whose spec
    names ``transcripts`` with ``printed=``, those parts of the ledger's transcripts."""
    fn = REGISTRY.get(spec["kind"])
    if data_path is not None:  # refuse damaged or swapped prepared data before drawing from it
        from dlrepro.data.prepare import load_prepared

        load_prepared(data_path, dataset=spec.get("dataset"))
    kwargs = {"runs": runs} if runs is not None else {}
    if spec.get("transcripts"):
        kwargs["printed"] = printed or {}
    fn(spec.get("args", {}), out_path, data_path, **kwargs)


def run_files_by_key(paths: list[str], keys: list[str]) -> dict[str, dict[str, str]]:
    """Group run files (``.../runs/<experiment>/<run>/<file>``) by ``experiment/run`` in
    the order of ``keys``: ``{key: {"final": ..., "metrics": ..., "lr_bounds": ...}}``
    (the file's stem names it; files of runs not in ``keys`` are an error)."""
    out: dict[str, dict[str, str]] = {k: {} for k in keys}
    for p in paths:
        parts = os.path.normpath(p).split(os.sep)
        key = f"{parts[-3]}/{parts[-2]}"
        if key not in out:
            raise ValueError(f"{p} belongs to no run of {keys}")
        out[key][os.path.splitext(parts[-1])[0]] = p
    missing = [k for k, v in out.items() if "final" not in v]
    if missing:
        raise ValueError(f"no final.json for run(s) {missing}")
    return out


def value_rows(values: dict) -> pd.DataFrame:
    """quantity | ours, for every quantity we computed (the ledger's analysis numbers name
    the quantity)."""
    return pd.DataFrame([{"quantity": q, "ours": v} for q, v in values.items()], columns=["quantity", "ours"])


# ----------------------------------------------------------------------------- seed 000
def adam_step_no_bias_correction(u: float, v: float, g: float, beta1: float, beta2: float,
                                 alpha: float, eps: float) -> dict:
    """One Adam step as exercise 4b writes it (moments without bias correction)."""
    u_t = beta1 * u + (1 - beta1) * g
    v_t = beta2 * v + (1 - beta2) * g * g
    return {"u_t": u_t, "v_t": v_t, "delta_w": -alpha * u_t / (math.sqrt(v_t) + eps)}


@analysis("adam_step")
def _adam_step(args, out, data_path):
    write_csv(out, value_rows(adam_step_no_bias_correction(**args)))


@analysis("exp_decay")
def _exp_decay(args, out, data_path):
    """τ(t) = τ0·exp(−λt) for a few decay rates."""
    style()
    t = np.arange(args.get("steps", 100))
    fig, ax = plt.subplots()
    for lam in args.get("lambdas", [0.01, 0.03, 0.1]):
        ax.plot(t, args.get("tau0", 0.1) * np.exp(-lam * t), label=f"λ = {lam}")
    ax.set(xlabel="training step t", ylabel="learning rate τ(t)",
           title=f"Exponential decay τ(t) = τ0·exp(−λt), τ0 = {args.get('tau0', 0.1)}")
    ax.legend()
    save_figure(fig, out)


@analysis("pixel_stats")
def _pixel_stats(args, out, data_path):
    """Mean and std of the training pixels (scaled to [0, 1]), computed from the data."""
    from dlrepro.data.prepare import load_prepared

    d = load_prepared(data_path)
    x = d["train_x"].double() / 255
    values = {"mean": x.mean().item(), "std": x.std().item()}
    df = value_rows(values)
    df["synthetic"] = bool(d.get("synthetic"))
    write_csv(out, df)


@analysis("dataset_sizes")
def _dataset_sizes(args, out, data_path):
    """Sizes of the prepared data set's splits as the data set ships them (``train``: the
    whole training split, before any validation split; ``test``), like a write-up's
    ``len(dataset)`` prints."""
    import torch

    d = torch.load(data_path, weights_only=False)
    df = value_rows({"train": int(len(d["train_y"])), "test": int(len(d["test_y"]))})
    df["synthetic"] = bool(d.get("synthetic"))
    write_csv(out, df)
