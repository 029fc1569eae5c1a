"""Figures of the torch studies, drawn from run outputs (metrics CSV + final JSON)."""
from __future__ import annotations

import json

import pandas as pd

from .config import fmt_value, get_dotted
from .ioutil import save_figure
from .plotting import plt, stamp, style

LABELS = {"train_loss": "train loss", "train_loss_mean": "train loss (mean per batch)",
          "val_loss": "validation loss", "train_acc": "train accuracy", "val_acc": "validation accuracy",
          "lr": "learning rate", "seconds": "seconds per epoch"}


def _read(metrics_csv: str, final_json: str) -> tuple[pd.DataFrame, dict]:
    with open(final_json) as fh:
        return pd.read_csv(metrics_csv), json.load(fh)


def _status_note(ax, final: dict) -> None:
    if final["status"] != "ok":
        ax.annotate(f"{final['status']} at epoch {final['epochs_completed']}", xy=(0.02, 0.02),
                    xycoords="axes fraction", fontsize=8, color="#b00020")


def run_curves(metrics_csv: str, final_json: str, out_png: str, title: str) -> None:
    """Loss (as the run logged it, and validation) and train/validation accuracy vs epoch."""
    style()
    df, final = _read(metrics_csv, final_json)
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(10, 3.8))
    loop = final["settings"].get("loop", {})
    summed = loop.get("logged_train_loss") == "sum"
    ax_l.plot(df["epoch"], df["train_loss"], marker=".", label="train (sum over batches)" if summed else "train")
    if summed:
        ax_l2 = ax_l.twinx()
        ax_l2.plot(df["epoch"], df["val_loss"], marker=".", color="C1", label="validation (mean)")
        ax_l2.set_ylabel("validation loss (mean)")
        ax_l2.grid(False)
        ax_l2.legend(loc="upper center")
    else:
        ax_l.plot(df["epoch"], df["val_loss"], marker=".", label="validation")
    ax_l.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_l.legend(loc="upper right")
    ax_a.plot(df["epoch"], df["train_acc"], marker=".", label="train")
    ax_a.plot(df["epoch"], df["val_acc"], marker=".", label="validation")
    ax_a.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_a.legend(loc="lower right")
    _status_note(ax_a, final)
    fig.suptitle(title, y=1.04)
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
        ax.plot(df["epoch"], df[y], marker="." if len(df) < 40 else None, label=label)
    ax.set(xlabel="epoch", ylabel=LABELS.get(y, y), title=title)
    if spec.get("logy"):
        ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=2 if len(metrics_csvs) > 6 else 1)
    stamp(fig, synthetic)
    save_figure(fig, out_png)
