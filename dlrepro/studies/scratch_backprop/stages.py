"""One function per pipeline job of the scratch_backprop study.

The workflow scripts only unpack ``snakemake`` and call these; tests call them directly.
Every function takes the values it depends on as arguments (the rules' ``params``) and
writes its outputs atomically.
"""
from __future__ import annotations

import json
import platform
from typing import Callable

import numpy as np
import pandas as pd

from dlrepro.ioutil import save_figure, write_csv, write_json
from dlrepro.studies.scratch_backprop import digits, values

# gd and checks (scipy) and plots (matplotlib) are imported by the stages that use them:
# a digits run job needs neither (about 1.2 s of its start-up).

STUDY = "scratch_backprop"

__all__ = ["gd_stage", "components_stage", "data_stage", "digits_run_stage", "digits_curves_stage",
           "digits_final_stage", "comparison_stage", "read_history"]

Log = Callable[[str], None]


def _nolog(msg: str) -> None:
    return None


# ----------------------------------------------------------------------------- 1.1
def gd_stage(settings: dict, out: dict, log: Log = _nolog) -> dict:
    """Gradient descent runs, global minimum, step-size x steps grid; their tables and
    figures. ``out`` keys: runs, paths, grid, global_min (CSV); contour, values,
    heatmap (PNG)."""
    from dlrepro.studies.scratch_backprop import gd, plots

    x0, y0 = (float(v) for v in settings["start"])
    gm = gd.global_minimum(settings["global_min"]["bound"], settings["global_min"]["starts_per_axis"])
    log(f"global minimum: f={gm['value']!r} at ({gm['x']!r}, {gm['y']!r})")
    results, rows, path_rows = {}, [], []
    for run in settings["runs"]:
        r = gd.optimize_f(x0, y0, float(run["step_size"]), int(run["steps"]), float(run.get("decay", 1.0)))
        results[run["name"]] = r
        gx, gy = gd.grad_x_f(r.x, r.y), gd.grad_y_f(r.x, r.y)
        rows.append({"name": run["name"], "section": run.get("section", ""), "step_size": run["step_size"],
                     "steps": run["steps"], "decay": run.get("decay", 1.0), "x": r.x, "y": r.y,
                     "value": r.value, "gap_to_global_min": r.value - gm["value"],
                     "grad_norm_final": float(np.hypot(gx, gy))})
        fh = r.f_hist
        for t, (xv, yv) in enumerate(zip(r.x_hist, r.y_hist)):
            eta = float(run["step_size"]) * float(np.power(float(run.get("decay", 1.0)), t - 1)) if t else None
            path_rows.append({"name": run["name"], "step": t, "x": float(xv), "y": float(yv), "f": float(fh[t]),
                              "eta": eta})
        log(f"{run['name']}: final f={r.value!r} at ({r.x!r}, {r.y!r})")
    hm = settings["heatmap"]
    step_sizes = np.round(np.linspace(hm["step_size_min"], hm["step_size_max"], hm["step_size_num"]), 10)
    steps_list = list(range(hm["steps_min"], hm["steps_max"] + 1))
    grid = gd.final_value_grid(x0, y0, step_sizes, steps_list, float(hm.get("decay", 1.0)))
    grid_rows = [{"step_size": float(s), "steps": int(n), "final_f": float(grid[i, j]),
                  "finite": bool(np.isfinite(grid[i, j]))}
                 for i, s in enumerate(step_sizes) for j, n in enumerate(steps_list)]
    write_csv(out["runs"], pd.DataFrame(rows))
    write_csv(out["paths"], pd.DataFrame(path_rows))
    write_csv(out["grid"], pd.DataFrame(grid_rows))
    write_csv(out["global_min"], pd.DataFrame([gm]))
    ct = settings["contour"]
    save_figure(plots.plot_gd_contour(results, gm, ct["lim"], ct["n"], ct["levels"]), out["contour"])
    save_figure(plots.plot_gd_values(results, gm), out["values"])
    vmax = float(gd.f(x0, y0)) if hm.get("clip_at_start", True) else None
    save_figure(plots.plot_gd_heatmap(grid, step_sizes, steps_list, vmax=vmax, global_min=gm), out["heatmap"])
    return {"runs": rows, "global_min": gm}


# ----------------------------------------------------------------------------- 1.2-1.4
def _jsonable(d: dict) -> dict:
    return {k: np.asarray(v).tolist() for k, v in d.items()}


def components_stage(settings: dict, out: dict, log: Log = _nolog) -> dict:
    """Sections 1.2-1.4: the printed values (JSON), the two gradient-check tables and the
    activation figure. ``out`` keys: values (JSON), central, check_grad (CSV),
    activations (PNG)."""
    from dlrepro.studies.scratch_backprop import checks, plots

    values = checks.printed_values(settings)
    low, high = settings["demo_range"]
    central = checks.gradient_check_table(settings["seed"], settings["demo_size"], low, high,
                                          settings["fd_h"], settings["fd_eps"])
    cg = checks.check_grad_table(seed=settings["seed"], batch=settings["layer_batch"],
                                 n_in=settings["layer_in"], n_out=settings["layer_out"], low=low, high=high,
                                 relu_low=settings["relu_check_low"])
    for _, r in central.iterrows():
        log(f"central difference {r['function']}: max abs error {r['max_abs_error']:.3e}")
    for _, r in cg.iterrows():
        log(f"check_grad {r['layer']} {r['gradient']}: {r['check_grad_error']!r}")
    write_json(out["values"], {"values": _jsonable(values), "provenance": _provenance()})
    write_csv(out["central"], central)
    write_csv(out["check_grad"], cg)
    p = settings["plot"]
    save_figure(plots.plot_activations(p["low"], p["high"], p["points"]), out["activations"])
    return values


# ----------------------------------------------------------------------------- 1.6 data
def data_stage(settings: dict, out: dict, log: Log = _nolog) -> dict:
    """Binary digits, standardised and split. ``out`` keys: split (NPZ), stats (JSON),
    samples (PNG: the write-up's strip of the first ten images)."""
    from dlrepro.studies.scratch_backprop import plots

    import sklearn.datasets

    x, y, stats = digits.prepare_digits(settings["positive_below"], settings["train_prop"],
                                        settings["split_seed"])
    if out.get("samples"):
        raw = sklearn.datasets.load_digits()
        save_figure(plots.plot_digit_strip(raw["data"], raw["target"]), out["samples"])
    digits.save_split(out["split"], x, y)
    stats = dict(stats, synthetic=False, source="sklearn.datasets.load_digits", provenance=_provenance())
    write_json(out["stats"], stats)
    log(f"digits: train {stats['n_train']}, test {stats['n_test']}, min {stats['min']!r}, max {stats['max']!r}")
    return stats


# ----------------------------------------------------------------------------- 1.6 runs
def digits_run_stage(plan: dict, split_path: str, out: dict, checkpoint_dir: str, log: Log = _nolog,
                     on_epoch: Callable | None = None) -> dict:
    """Train one planned run (resuming from its checkpoint) and write ``metrics`` (CSV,
    one row per epoch) and ``final`` (JSON); then remove the checkpoint."""
    x, y = digits.load_split(split_path)
    log(f"run {plan['name']}: {plan}")
    res = digits.train_run(plan, x, y, checkpoint_dir=checkpoint_dir, log=log, on_epoch=on_epoch)
    hist = res["history"]
    metrics = pd.DataFrame({"epoch": np.arange(len(hist["loss_train"])), **hist})
    write_csv(out["metrics"], metrics)
    write_json(out["final"], {
        "run": f"scratch_backprop/digits/{plan['name']}", "plan": plan, "status": "complete",
        "epochs_completed": len(hist["loss_train"]), "final": res["final"],
        "resumed_from_epoch": res["resumed_from"], "train_seconds": res["train_seconds"],
        "fingerprint": res["fingerprint"], "synthetic": False, "provenance": _provenance()})
    digits.remove_checkpoint(checkpoint_dir)
    return res


def read_history(metrics_path: str) -> dict:
    df = pd.read_csv(metrics_path)
    return {k: df[k].astype(float).tolist() for k in digits.HISTORY_KEYS}


def digits_curves_stage(metrics_path: str, out_png: str, title: str, reported: dict | None = None) -> None:
    from dlrepro.studies.scratch_backprop import plots

    save_figure(plots.plot_digits_curves(read_history(metrics_path), title, reported), out_png)


def digits_final_stage(final_paths: list[str], labels: dict, out_csv: str) -> pd.DataFrame:
    """Final-epoch train/test loss and accuracy of every digits run."""
    rows = []
    for p in final_paths:
        with open(p) as fh:
            f = json.load(fh)
        plan = f["plan"]
        base = plan["name"][:-len("_xavier")] if plan["init"] == "xavier" else plan["name"]
        rows.append({"run": plan["name"], "writeup_label": labels.get(base, ""),
                     "variant": "fixed (Xavier init)" if plan["init"] == "xavier" else "as-run",
                     "layers": " ".join(plan["layers"]), "epochs": plan["epochs"],
                     "learning_rate": plan["learning_rate"], "mb_size": plan["mb_size"],
                     "rng": "re-seeded" if not plan["rng_replay"] else
                            f"continued ({len(plan['rng_replay'])} Linear draws before)",
                     **{k: f["final"][k] for k in digits.HISTORY_KEYS},
                     "synthetic": f["synthetic"]})
    df = pd.DataFrame(rows)
    write_csv(out_csv, df)
    return df


# ----------------------------------------------------------------------------- acceptance
def computed_values(components_json: str, stats_json: str, gd_runs_csv: str, gd_min_csv: str,
                    metrics: dict[str, str]) -> dict:
    """Every value of ours the write-up's numbers are compared with, by quantity name."""
    with open(components_json) as fh:
        ours = dict(json.load(fh)["values"])
    with open(stats_json) as fh:
        stats = json.load(fh)
    ours.update({f"data.{k}": v for k, v in stats.items() if not isinstance(v, (str, dict, bool))})
    ours.update(values.gd_values(pd.read_csv(gd_runs_csv), pd.read_csv(gd_min_csv).iloc[0].to_dict()))
    for run, path in metrics.items():
        ours.update(values.epoch_values(run, read_history(path)))
    return ours


def comparison_stage(ledger: dict, tolerances: dict, components_json: str, stats_json: str, gd_runs_csv: str,
                     gd_min_csv: str, metrics: dict[str, str], out: dict) -> pd.DataFrame:
    """The reproduction table of every printed number (``out['table']``), the claims
    (``out['claims']``) and the per-section summary (``out['summary']``), through the
    one comparison of :mod:`dlrepro.reproduction`."""
    from dlrepro.reproduction.compare import claims_table, reproduction_table
    from dlrepro.reproduction.ours import StudyOutputs

    outputs = StudyOutputs(values=computed_values(components_json, stats_json, gd_runs_csv, gd_min_csv, metrics))
    table = reproduction_table(STUDY, ledger["numbers"], outputs, tolerances)
    write_csv(out["table"], table)
    write_csv(out["claims"], claims_table(ledger["claims"], ledger["numbers"], outputs))
    write_csv(out["summary"], values.summarise(table))
    return table


def _provenance() -> dict:
    import scipy
    import sklearn

    return {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
            "python": platform.python_version(), "machine": platform.machine()}

