"""Analysis kinds of seed 003 (study ``optim_clr_cutout``), registered with
:func:`dlrepro.outputs.analyses.analysis` (``dlrepro.outputs.analyses`` imports this module):

``p3_table``        one P3 architecture-arithmetic table of :mod:`dlrepro.studies.optim_clr_cutout.arithmetic`
                    (``args.table``: alexnet_params | vgg19 | receptive_field |
                    inception_ops | inception_summary), computed from real modules
``p3_summary``      the P3 headline numbers, quantity | ours | seed | diff | note
``cutout_examples`` training images before / after one cutout square (P4 Q1), from the
                    prepared data set, cut out by the function training uses
``lr_range_test``   loss vs learning rate of a recorded range test (log x) with the
                    lr_min / lr_max that rule ``lr_bounds`` chose (P2 Q1)
``lr_schedule``     learning rate per iteration of finished runs, redrawn by the
                    engine's own schedule code, checked against their logged per-epoch lr
"""
from __future__ import annotations

import json
import math

import pandas as pd

from dlrepro.studies.optim_clr_cutout import arithmetic
from dlrepro.outputs.analyses import analysis, compare_rows
from dlrepro.ioutil import save_figure, write_csv
from dlrepro.outputs.plotting import plt, stamp, style


# ----------------------------------------------------------------------------- P3 tables
@analysis("p3_table")
def _p3_table(args, out, data_path, reported):
    key = args.get("table")
    if key not in arithmetic.TABLES:
        raise ValueError(f"p3_table: args.table must be one of {sorted(arithmetic.TABLES)}, got {key!r}")
    write_csv(out, arithmetic.TABLES[key]())


def p3_numbers() -> tuple[dict, dict]:
    """(values, notes): the P3 numbers the write-up states, computed by
    :mod:`dlrepro.studies.optim_clr_cutout.arithmetic`; notes say what is wrong with the write-up's where it is."""
    alex = arithmetic.alexnet_table()
    vgg = arithmetic.vgg19_table()
    rf = arithmetic.receptive_field_table()
    inc = arithmetic.inception_summary_table().set_index("version")
    conv = vgg[vgg["module"].str.startswith("conv")]
    first512 = conv[conv["layer"].str.upper() == "CONV3-512"].iloc[0]
    sq512 = conv[conv["layer"].str.upper() == "CONV3-512"].iloc[1]
    values = {
        "alexnet_total_params": int(alex.loc[alex["layer"] == "total", "params"].iloc[0]),
        "vgg19_conv3_256_512_params": int(first512["weights"]),
        "vgg19_conv3_512_512_params": int(sq512["weights"]),
        "vgg19_param_slips": int((vgg["params_ok"] == False).sum()),  # noqa: E712 (None = total row)
        "vgg19_total_weights": int(vgg.loc[vgg["layer"] == "TOTAL", "weights"].iloc[0]),
        "vgg19_total_activations": int(vgg.loc[vgg["layer"] == "TOTAL", "activations"].iloc[0]),
        "receptive_field_3x5x5": int(rf.loc[(rf["n_layers"] == 3) & (rf["kernel"] == 5), "rf_measured"].iloc[0]),
        "inception_naive_depth": int(inc.loc["naive", "output_depth"]),
        "inception_reduced_depth": int(inc.loc["reduced", "output_depth"]),
        "inception_naive_macs": int(inc.loc["naive", "macs"]),
        "inception_reduced_macs": int(inc.loc["reduced", "macs"]),
        "inception_macs_saved": int(inc.loc["naive", "macs_saved"]),
    }
    notes = {"vgg19_conv3_256_512_params": first512["note"], "vgg19_conv3_512_512_params": sq512["note"],
             "vgg19_param_slips": "rows of the write-up's VGG-19 table whose parameter count is wrong"}
    return values, notes


@analysis("p3_summary")
def _p3_summary(args, out, data_path, reported):
    values, notes = p3_numbers()
    df = compare_rows(values, reported)
    for col in ("ours", "seed", "diff"):   # counts: keep them integers beside missing seeds
        df[col] = df[col].astype("Int64")
    df["note"] = [notes.get(q, "") for q in df["quantity"]]
    write_csv(out, df)


# ----------------------------------------------------------------------------- P4 cutout
@analysis("cutout_examples")
def _cutout_examples(args, out, data_path, reported):
    """Images ``args.indices`` of the prepared training set, above the same images with
    one ``args.size`` square zeroed by :func:`dlrepro.training.augment.cutout` (seeded)."""
    import torch

    from dlrepro.training.augment import cutout

    d = torch.load(data_path, weights_only=False)
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


# ----------------------------------------------------------------------------- P2 plots
def _load_run(files: dict) -> tuple[dict, pd.DataFrame, dict | None]:
    with open(files["final"]) as fh:
        final = json.load(fh)
    bounds = None
    if files.get("lr_bounds"):
        with open(files["lr_bounds"]) as fh:
            bounds = json.load(fh)
    return final, pd.read_csv(files["metrics"]), bounds


@analysis("lr_range_test")
def _lr_range_test(args, out, data_path, reported, runs):
    """Per-batch training loss (raw and smoothed) against the learning rate of each range
    test in ``runs``; vertical lines at our lr_min / lr_max (and the loss minimum), and at
    the write-up's choice (``args.seed_lr_min`` / ``args.seed_lr_max``) for comparison."""
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
    for k, name in (("seed_lr_min", "write-up lr_min"), ("seed_lr_max", "write-up lr_max")):
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
def _lr_schedule(args, out, data_path, reported, runs):
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
