"""Analysis kinds that read training runs or the prepared data, for any study (rule
``analysis``), registered with :func:`dlrepro.outputs.analyses.analysis`:

``samples``         a grid of training images with their labels, from the prepared data
                    set (one per class, or the first N): a write-up's preview of its data
``cutout_examples`` training images before / after one cutout square, from the prepared
                    data set, cut out by the function training uses
``lr_range_test``   loss vs learning rate of a recorded range test (log x) with the
                    lr_min / lr_max that rule ``lr_bounds`` chose
``lr_schedule``     learning rate per iteration of finished runs, redrawn by the
                    engine's own schedule code, checked against their logged per-epoch lr

(Study optim_clr_cutout uses all three: P4 Q1, P2 Q1, P2 Q2.)
"""
from __future__ import annotations

import json
import math

import pandas as pd

from dlrepro.ioutil import save_figure
from dlrepro.outputs.analyses import analysis
from dlrepro.outputs.plotting import plt, stamp, style


# ----------------------------------------------------------------------------- samples
def sample_indices(labels, mode: str, n: int) -> list[int]:
    """``first``: the first n images; ``per_class``: the first image of each class, in class
    order (at most n)."""
    labels = [int(v) for v in labels]
    if mode == "first":
        return list(range(min(n, len(labels))))
    if mode != "per_class":
        raise ValueError(f"samples: args.mode must be first or per_class, got {mode!r}")
    first: dict[int, int] = {}
    for i, y in enumerate(labels):
        first.setdefault(y, i)
    return [first[c] for c in sorted(first)][:n]


@analysis("samples")
def _samples(args, out, data_path):
    """``args``: mode (per_class | first), n, cols, title. Images of the prepared training
    set with their class names; the stamp says when the data are synthetic stand-ins."""
    import torch

    d = torch.load(data_path, weights_only=False)
    idx = sample_indices(d["train_y"].tolist(), args.get("mode", "per_class"), int(args.get("n", 10)))
    cols = int(args.get("cols", 5))
    rows = -(-len(idx) // cols)
    style()
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, idx):
        img = d["train_x"][i].float() / 255
        ax.imshow(img.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray" if img.shape[0] == 1 else None,
                  interpolation="nearest", vmin=0, vmax=1)
        ax.set_title(f"{d['classes'][int(d['train_y'][i])]}", fontsize=8)
    fig.suptitle(args.get("title", "Training images"), fontsize=10)
    stamp(fig, bool(d.get("synthetic")))
    save_figure(fig, out)


# ----------------------------------------------------------------------------- cutout
@analysis("cutout_examples")
def _cutout_examples(args, out, data_path):
    """Images ``args.indices`` of the prepared training set, above the same images with
    one ``args.size`` square zeroed by :func:`dlrepro.training.augment.cutout` (seeded)."""
    import torch

    from dlrepro.data.prepare import load_prepared
    from dlrepro.training.augment import cutout

    d = load_prepared(data_path)
    idx = list(args.get("indices", [0, 1]))
    size = int(args.get("size", 12))
    x = d["train_x"][idx].float() / 255
    gen = torch.Generator().manual_seed(int(args.get("seed", 0)))
    cut = cutout(x, size, gen)
    style()
    fig, axes = plt.subplots(2, len(idx), figsize=(2.6 * len(idx), 5.4), squeeze=False)
    for j, i in enumerate(idx):
        label = d["classes"][int(d["train_y"][i])]
        for row, img, what in ((0, x[j], "original"), (1, cut[j], f"cutout {size}x{size}")):
            ax = axes[row, j]
            ax.imshow(img.permute(1, 2, 0).squeeze(-1).clamp(0, 1).numpy(), interpolation="nearest",
                      cmap="gray" if img.shape[0] == 1 else None)
            ax.set_title(f"#{i} {label}: {what}", fontsize=9)
            ax.axis("off")
    fig.suptitle(f"Cutout (one {size}x{size} zero square, random centre, clipped at the border)", fontsize=10, y=1.03)
    stamp(fig, bool(d.get("synthetic")))
    save_figure(fig, out)


# ----------------------------------------------------------------------------- learning rates
def _load_run(files: dict) -> tuple[dict, pd.DataFrame, dict | None]:
    with open(files["final"]) as fh:
        final = json.load(fh)
    bounds = None
    if files.get("lr_bounds"):
        with open(files["lr_bounds"]) as fh:
            bounds = json.load(fh)
    return final, pd.read_csv(files["metrics"]), bounds


@analysis("lr_range_test")
def _lr_range_test(args, out, data_path, runs):
    """Per-batch training loss (raw and smoothed) against the learning rate of each range
    test in ``runs``; vertical lines at our lr_min / lr_max (and the loss minimum), and at
    the write-up's choice (``args.writeup_lr_min`` / ``args.writeup_lr_max``) for comparison."""
    style()
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    synthetic = False
    lo, hi = math.inf, -math.inf
    for key, files in runs.items():
        final, _, bounds = _load_run(files)
        synthetic |= final["synthetic"]
        b = final.get("batches") or []
        if not b:
            raise ValueError(f"{key}: no per-batch records (loop.record_batches)")
        ax.plot([r["lr"] for r in b], [r["loss"] for r in b], alpha=0.35, lw=0.8, label=f"{key}: batch loss")
        if bounds:
            ax.plot(bounds["lrs"], bounds["smoothed"], lw=1.8, label="smoothed (β 0.98)")
            kept = [r["loss"] for r in b[:len(bounds["smoothed"])]]
            lo, hi = min(lo, min(bounds["smoothed"]), min(kept)), max(hi, max(bounds["smoothed"]))
            for v, name, color, ls in ((bounds["lr_min"], "lr_min", "C2", "-"), (bounds["lr_max"], "lr_max", "C3", "-"),
                                       (bounds["lr_at_min_loss"], "loss minimum", "0.5", ":")):
                ax.axvline(v, color=color, ls=ls, lw=1.2, label=f"{name} = {v:.3g}")
        if final["status"] != "ok":
            ax.annotate(f"{final['status']} after {len(b)} batches", xy=(0.02, 0.02), xycoords="axes fraction",
                        fontsize=8, color="#b00020")
    for k, name in (("writeup_lr_min", "write-up lr_min"), ("writeup_lr_max", "write-up lr_max")):
        if args.get(k):
            ax.axvline(args[k], color="0.3", ls="--", lw=1, label=f"{name} ≈ {args[k]:g}")
    if math.isfinite(lo):
        span = max(hi - lo, 1e-6)
        ax.set_ylim(lo - 0.1 * span, hi + 0.6 * span)
    ax.set_xscale("log")
    ax.set(xlabel="learning rate (log scale)", ylabel="training loss (per batch)",
           title="LR range test: loss vs learning rate")
    ax.legend(fontsize=7, loc="upper left")
    stamp(fig, synthetic)
    save_figure(fig, out)


def lr_per_iteration(final: dict) -> list[float]:
    """The learning rate of every iteration of a finished run, from its settings and the
    lr bounds it trained with, by the engine's own schedule code."""
    from dlrepro.training.trainer import run_schedule

    s = final["settings"]
    spe = math.ceil(final["train_samples"] / s["batch_size"])
    sched = run_schedule(s, s["optimizer"]["lr"], spe, final.get("lr_bounds"))
    n = final["epochs_completed"] * spe
    if sched is None:
        return [s["optimizer"]["lr"]] * n
    return [sched.lr(i // spe, i) for i in range(n)]


@analysis("lr_schedule")
def _lr_schedule(args, out, data_path, runs):
    """Learning rate vs iteration of each run in ``runs`` (lines); dots: the lr each epoch's
    last batch used, as the run logged it in metrics.csv (they must sit on the lines)."""
    style()
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    synthetic = False
    for i, (key, files) in enumerate(runs.items()):
        final, df, _ = _load_run(files)
        synthetic |= final["synthetic"]
        lrs = lr_per_iteration(final)
        spe = math.ceil(final["train_samples"] / final["settings"]["batch_size"])
        ax.plot(range(1, len(lrs) + 1), lrs, color=f"C{i}", lw=1, label=key)
        ax.plot(df["epoch"] * spe, df["lr"], "o", ms=3, color=f"C{i}")
    if args.get("logy"):
        ax.set_yscale("log")
    ax.set(xlabel="iteration (batch)", ylabel="learning rate",
           title="Learning rate per iteration (dots: logged at each epoch's last batch)")
    ax.legend(fontsize=7)
    stamp(fig, synthetic)
    save_figure(fig, out)
