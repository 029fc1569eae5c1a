"""Figures of the torch studies, drawn from run outputs (metrics CSV + final JSON)."""
from __future__ import annotations

import json

import pandas as pd

from dlrepro.config import fmt_value, get_dotted
from dlrepro.config.metrics import DERIVED_ERRORS
from dlrepro.ioutil import save_figure
from dlrepro.outputs.plotting import plt, stamp, style

LABELS = {"train_loss": "train loss", "train_loss_mean": "train loss (mean per batch)",
          "val_loss": "validation loss", "train_acc": "train accuracy", "val_acc": "validation accuracy",
          "lr": "learning rate", "seconds": "seconds per epoch", "val_error": "validation error",
          "train_error": "train error", "train_seconds": "training seconds (all epochs)",
          "train_acc_batchmean": "train accuracy (mean of per-batch values)",
          "val_acc_batchmean": "validation accuracy (mean of per-batch values)",
          "val_loss_batchmean": "validation loss (mean of per-batch values)"}
#: metrics computed from the logged columns (usable as ``y`` wherever a column is):
#: each error is 1 minus its accuracy (dlrepro.config.metrics.DERIVED_ERRORS)
DERIVED = {name: (lambda d, acc=acc: 1 - d[acc]) for name, acc in DERIVED_ERRORS.items()}


def column(df: pd.DataFrame, y: str) -> pd.Series:
    """A logged metrics column, or a derived one (:data:`DERIVED`)."""
    return DERIVED[y](df) if y not in df and y in DERIVED else df[y]


def std_column(df, y: str):
    """The replicate standard deviation of ``y`` (a ``replicates: N`` run logs
    ``<metric>_std``; a derived error has its accuracy's), or None for a single seed."""
    base = DERIVED_ERRORS.get(y, y)
    key = f"{base}_std"
    return df[key] if key in df else None


def plot_band(ax, df: pd.DataFrame, y: str, **kw):
    """Plot ``y`` against the epoch: the line, and for replicates the mean with a ±1 s.d. band."""
    mean = column(df, y)
    (line,) = ax.plot(df["epoch"], mean, **kw)
    sd = std_column(df, y)
    if sd is not None:
        ax.fill_between(df["epoch"], mean - sd, mean + sd, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def _replicates_note(final: dict) -> str:
    n = (final.get("replicates") or {}).get("n", 1)
    return f" (mean ± s.d. of {n} seeds)" if n > 1 else ""


def _read(metrics_csv: str, final_json: str) -> tuple[pd.DataFrame, dict]:
    with open(final_json) as fh:
        return pd.read_csv(metrics_csv), json.load(fh)


def _status_note(ax, final: dict) -> None:
    if final["status"] != "ok":
        ax.annotate(f"{final['status']} at epoch {final['epochs_completed']}", xy=(0.02, 0.02),
                    xycoords="axes fraction", fontsize=8, color="#b00020")


def run_curves(metrics_csv: str, final_json: str, out_png: str, title: str) -> None:
    """Loss (as the run logged it, and validation) and train/validation accuracy vs epoch;
    a run that logs the write-up's batch means (``loop.eval_batch_size``) is drawn with
    them, as the write-up's own learning curves were."""
    style()
    df, final = _read(metrics_csv, final_json)
    batchmean = all(c in df for c in ("train_acc_batchmean", "val_acc_batchmean", "val_loss_batchmean"))
    if batchmean:  # the columns the write-up's loop printed (train_loss is already the batch mean)
        df = df.assign(val_loss=df["val_loss_batchmean"], train_acc=df["train_acc_batchmean"],
                       val_acc=df["val_acc_batchmean"])
        title += " (means of per-batch values)"
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(10, 3.8))
    loop = final["settings"].get("loop", {})
    summed = loop.get("logged_train_loss") == "sum"
    plot_band(ax_l, df, "train_loss", marker=".", label="train (sum over batches)" if summed else "train")
    if summed:
        ax_l2 = ax_l.twinx()
        plot_band(ax_l2, df, "val_loss", marker=".", color="C1", label="validation (mean)")
        ax_l2.set_ylabel("validation loss (mean)")
        ax_l2.grid(False)
        ax_l2.legend(loc="upper right")
    else:
        plot_band(ax_l, df, "val_loss", marker=".", label="validation")
    ax_l.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_l.legend(loc="lower left" if summed else "upper right")
    plot_band(ax_a, df, "train_acc", marker=".", label="train")
    plot_band(ax_a, df, "val_acc", marker=".", label="validation")
    ax_a.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_a.legend(loc="lower right")
    _status_note(ax_a, final)
    fig.subplots_adjust(wspace=0.5 if summed else 0.25)  # room for the twin axis' label
    fig.suptitle(title + _replicates_note(final), y=1.07)
    stamp(fig, final["synthetic"])
    save_figure(fig, out_png)


def overlay(metrics_csvs: list[str], finals: list[str], out_png: str, spec: dict, title: str) -> None:
    """One metric (``spec['y']``) of several runs against the epoch, one line per run;
    lines are labelled by ``spec['hue']`` (a dotted settings key) or by run name."""
    style()
    y = spec.get("y", "val_acc")
    fig, ax = plt.subplots()
    synthetic = False
    for m, f in zip(metrics_csvs, finals):
        df, final = _read(m, f)
        synthetic |= final["synthetic"]
        hue = spec.get("hue")
        label = (f"{hue.split('.')[-1]}={fmt_value(get_dotted(final['settings'], hue))}" if hue
                 else final["run"].split("/", 1)[1])
        if final["status"] != "ok":
            label += f" ({final['status']})"
        n_seeds = (final.get("replicates") or {}).get("n", 1)
        label += f" ({n_seeds} seeds)" if n_seeds > 1 else ""
        plot_band(ax, df, y, marker="." if len(df) < 40 else None, label=label)
    ax.set(xlabel="epoch", ylabel=LABELS.get(y, y), title=title)
    if spec.get("logy"):
        ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=2 if len(metrics_csvs) > 6 else 1)
    stamp(fig, synthetic)
    save_figure(fig, out_png)


def final_value(final: dict, y: str) -> float | None:
    """A run's final-epoch metric (or derived metric), else a run-level value of its
    final JSON (``train_seconds``, ``n_params``, ...)."""
    row = final.get("final") or {}
    if y in row:
        return row[y]
    if y in DERIVED and row:
        return float(DERIVED[y](row))
    return final.get(y)


def _is_pow2(v) -> bool:
    return isinstance(v, (int, float)) and v > 0 and float(v).is_integer() and (int(v) & (int(v) - 1)) == 0


def final_vs_setting(finals: list[str], out_png: str, spec: dict, title: str,
                     printed: dict | None = None) -> None:
    """A final metric of each run (``spec['y']``) against one of its settings (``spec['x']``,
    a dotted key such as ``batch_size`` or ``augment.repeat``), one point per run, one
    line per ``spec['hue']`` value. ``logx`` puts x on a log axis (base 2 when every x is
    a power of two); ``show_printed`` adds the write-up's value of ``y`` for each run
    (``printed``: run key -> metric -> the ledger's printed number) as a second series."""
    style()
    x_key, y = spec["x"], spec.get("y", "val_acc")
    hue = spec.get("hue")
    points: dict = {}
    writeup_pts = []
    synthetic = False
    for path in finals:
        with open(path) as fh:
            f = json.load(fh)
        synthetic |= f["synthetic"]
        xv = get_dotted(f["settings"], x_key)
        group = fmt_value(get_dotted(f["settings"], hue)) if hue else None
        sd = final_value(f, DERIVED_ERRORS.get(y, y) + "_std")
        points.setdefault(group, []).append((xv, final_value(f, y), f["status"], sd))
        theirs = (printed or {}).get(f["run"], {}).get(y)
        if spec.get("show_printed") and theirs is not None:
            writeup_pts.append((xv, theirs))
    fig, ax = plt.subplots()
    for group, pts in points.items():
        pts.sort(key=lambda p: p[0])
        xs = [p[0] for p in pts]
        ys = [float("nan") if p[1] is None else p[1] for p in pts]
        label = "this pipeline" if group is None else f"{hue.split('.')[-1]}={group}"
        sds = [p[3] for p in pts]
        if any(v is not None for v in sds):  # replicates: mean with ±1 s.d. error bars
            ax.errorbar(xs, ys, yerr=[0 if v is None else v for v in sds], marker="o", capsize=3,
                        label=label + " (mean ± s.d. over seeds)")
        else:
            ax.plot(xs, ys, marker="o", label=label)
        for xv, yv, st, _ in pts:
            if st != "ok" and yv is not None:
                ax.annotate(st, (xv, yv), fontsize=7, color="#b00020")
    if writeup_pts:
        writeup_pts.sort()
        ax.plot([p[0] for p in writeup_pts], [p[1] for p in writeup_pts], marker="s", linestyle="--",
                color="0.4", label="write-up (printed)")
    all_x = [p[0] for pts in points.values() for p in pts]
    if spec.get("logx"):
        ax.set_xscale("log", base=2 if all(_is_pow2(v) for v in all_x) else 10)
        if all(_is_pow2(v) for v in all_x):
            ticks = sorted(set(all_x))
            ax.set_xticks(ticks, [fmt_value(int(t)) for t in ticks])
    if spec.get("logy"):
        ax.set_yscale("log")
    ax.set(xlabel=x_key, ylabel=LABELS.get(y, y) + ("" if y in ("train_seconds", "n_params") else " (final epoch)"),
           title=title)
    ax.legend(fontsize=8)
    stamp(fig, synthetic)
    save_figure(fig, out_png)
