"""Compute budget of the full preset: the engine's measured seconds per sample x each run's samples.

For every torch run of the resolved config (the ``preset`` of config.yaml, ``full`` by
default, or --preset) the samples it processes are counted from the real dataset sizes and
its settings (train subset, validation split, the loop's train-accuracy pass, evaluation
cap, test pass). Runs are grouped by what sets the cost of a sample (dataset, model and its
arguments, batch and micro-batch, precision, augmentation and its copies, resize, optimizer,
L2, clipping, per-batch loss records, replicates, channels_last, compile); for each group a
few steps of the project's own engine (the trainer dlrepro.training.run.train_run picks, its
train_epoch) are timed on synthetic data of the real shapes after a warm-up pass, and its
evaluation (test_metrics) over a chunk of samples. Then, per run,

    seconds = epochs * (train samples * s/train sample + eval samples * s/eval sample)
              + test samples * s/eval sample

    python benchmarks/budget.py --threads 1              # all torch studies, 3 steps per group
    python benchmarks/budget.py --quick --study kmnist_tricks --csv budget.csv

These are extrapolations, not measurements of whole runs: data loading, checkpoints,
schedules and Python start-up are left out, and a shared machine gives noisy figures.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from dlrepro import data as D  # noqa: E402
from dlrepro.config import load_config, resolve  # noqa: E402
from dlrepro.training.trainer import EVAL_CHUNK, LOOP_DEFAULTS, Trainer, pick_device, set_threads  # noqa: E402

REAL_SIZES = {"kmnist": (60000, 10000), "fashion_mnist": (60000, 10000), "cifar10": (50000, 10000)}
MIN_TIMED = 64      # time at least this many images per group (batch 1 or 32: several steps)
QUICK_CAP = 64      # --quick: at most this many images per timed step (partial batch above)
QUICK_EVAL = 128    # --quick: evaluation timed on one chunk of this many samples
MIN_SECONDS = 0.5   # cheap groups: the timed pass is repeated until this long (--quick: 0.1 s)
NOT_TIMED = ("val_split", "train_subset", "eval_subset", "eval_test", "schedule", "init_from")


def run_samples(s: dict, sizes: tuple[int, int] | None = None) -> dict:
    """Samples a run processes, from the dataset's (train, test) sizes (default: the real
    ones): per epoch ``train`` (before augmentation copies) and ``eval`` (validation plus the
    loop's train-accuracy pass), ``test`` once at the end, and ``epochs``. Mirrors
    dlrepro.training.trainer.make_splits and Trainer.run_epoch."""
    n_train, n_test = sizes or REAL_SIZES[s["dataset"]]
    loop = {**LOOP_DEFAULTS, **s.get("loop", {})}
    cap = lambda n, c: n if c is None else min(n, c)  # noqa: E731
    val = s["val_split"]["size"] if s.get("val_split") else 0
    pool = n_train - val                       # the training split after the validation split
    train = cap(pool, s.get("train_subset"))
    ev = s.get("eval_subset")
    val_n = cap(val or n_test, ev)             # no val_split: the test split validates
    acc = {"running": 0, "eval_full": cap(pool, ev)}.get(loop["train_acc"], train)
    test = cap(n_test, ev) if val and s.get("eval_test") else 0
    return {"epochs": s["epochs"], "train": train, "eval": val_n + acc, "test": test}


def eval_key(s: dict) -> str:
    """What sets the cost of an evaluated sample (EVAL_CHUNK chunks: the batch plays no part)."""
    return json.dumps([s["dataset"], s["model"], s.get("model_args", {}), s.get("precision", "fp32"),
                       s.get("preprocess", {}).get("resize"), s.get("replicates", 1), bool(s.get("channels_last")),
                       bool(s.get("compile"))], sort_keys=True)


def train_key(s: dict) -> str:
    """What sets the cost of a training sample (runs with equal keys share one timing)."""
    return json.dumps([eval_key(s), s["batch_size"], s.get("micro_batch"), s.get("augment"), s["optimizer"]["name"],
                       bool(s.get("l2")), bool(s.get("clip_grad_norm")),
                       bool(s.get("loop", {}).get("record_batches"))], sort_keys=True)  # a sync per step


def timing_plan(s: dict, steps: int, quick: bool) -> tuple[int, int, int, int]:
    """(timed steps, samples per timed step, samples per real step, copies per sample).
    A step is one micro-batch where the run accumulates gradients; --quick caps the
    images (samples x augmentation copies) per step; at least MIN_TIMED images are timed."""
    real = s.get("micro_batch") or s["batch_size"]
    repeat = (s.get("augment") or {}).get("repeat", 1)
    unit = min(real, max(1, QUICK_CAP // repeat)) if quick else real
    return max(steps, math.ceil(MIN_TIMED / (unit * repeat))), unit, real, repeat


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, n: int, dev: torch.device, min_s: float) -> tuple[float, int]:
    """(seconds per sample, passes) of ``fn`` (``n`` samples a pass): one warm-up pass, then
    passes until ``min_s`` seconds have been timed."""
    fn()
    passes, t = 0, 0.0
    while passes == 0 or t < min_s:
        sync(dev)
        t0 = time.perf_counter()
        fn()
        sync(dev)
        t += time.perf_counter() - t0
        passes += 1
    return t / (n * passes), passes


def measure(s: dict, data: dict, dev: torch.device, unit: int, steps: int, min_s: float,
            with_eval: bool) -> tuple[float, int, float | None]:
    """(seconds per training sample, passes, seconds per evaluated sample or None), timed
    with the trainer dlrepro.training.run.train_run picks (``replicates``: all N seeds): passes of
    ``train_epoch`` over ``steps`` steps of ``unit`` samples, and of ``test_metrics`` over
    the data's test split (which the engine holds for a run with a val_split and eval_test)."""
    s = {k: v for k, v in s.items() if k not in NOT_TIMED}
    s.update(epochs=1, train_subset=unit * steps, val_split={"size": 1, "seed": 0}, eval_test=True)
    trainer_cls = Trainer
    if s.get("replicates", 1) > 1:
        from dlrepro.training.replicates import trainer_class
        trainer_cls = trainer_class(dev)
    tr = trainer_cls(s, data, dev)
    t_train, passes = timed(lambda: tr.train_epoch(0), unit * steps, dev, min_s)
    t_eval = timed(tr.test_metrics, len(data["test_y"]), dev, min_s)[0] if with_eval else None
    return t_train, passes, t_eval


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def hours(sec: float) -> str:
    return f"{sec / 3600:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument("--preset", help="instead of the config's own `preset` (full)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the train rule runs 1 per job)")
    ap.add_argument("--batches", type=int, default=None, help="timed steps per group (default 3; --quick: 1)")
    ap.add_argument("--eval-chunks", type=int, default=1,
                    help=f"evaluation timed over this many {EVAL_CHUNK}-sample chunks")
    ap.add_argument("--quick", action="store_true",
                    help=f"CI: 1 timed step of at most {QUICK_CAP} images per group, eval on {QUICK_EVAL} samples")
    ap.add_argument("--study", action="append", help="only this study (repeatable)")
    ap.add_argument("--csv", help="also write the per-run table to this CSV file")
    args = ap.parse_args()
    t_start = time.perf_counter()
    steps = args.batches or (1 if args.quick else 3)
    n_eval = QUICK_EVAL if args.quick else EVAL_CHUNK * args.eval_chunks
    min_s = 0.1 if args.quick else MIN_SECONDS
    set_threads(args.threads)
    dev = pick_device(args.device)
    if dev.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)  # as dlrepro.training.run.train_run

    raw = load_config(args.config)
    raw["preset"] = args.preset or raw.get("preset", "full")
    cfg = resolve(raw)
    syn = cfg.data["synthetic"]
    sizes = (syn["n_train"], syn["n_test"]) if cfg.data["source"] == "synthetic" else None
    unknown = set(args.study or []) - set(cfg.studies)
    if unknown:
        ap.error(f"unknown study {', '.join(sorted(unknown))} (studies: {', '.join(cfg.studies)})")
    studies = [n for n in cfg.studies if not args.study or n in args.study]
    runs = [r for r in cfg.runs.values() if r.study in studies]

    groups: dict[str, list] = {}
    for r in runs:
        groups.setdefault(train_key(r.settings), []).append(r)
    plan = {k: timing_plan(rs[0].settings, steps, args.quick) for k, rs in groups.items()}
    need: dict[str, int] = {}  # synthetic training images per dataset
    for k, rs in groups.items():
        ds = rs[0].settings["dataset"]
        need[ds] = max(need.get(ds, 0), plan[k][0] * plan[k][1] + 1)  # + the 1-sample val split

    print(f"device {dev} ({device_name(dev)}), threads {args.threads}, torch {torch.__version__}, preset "
          f"{cfg.preset}, {len(runs)} torch runs in {len(groups)} timing groups", file=sys.stderr, flush=True)
    t_train: dict[str, float] = {}
    t_eval: dict[str, float] = {}
    timed_desc: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        prepared = {}
        for ds, n in need.items():
            D.fetch(ds, "synthetic", root=tmp, synthetic={"n_train": n, "n_test": n_eval, "seed": 0})
            D.prepare(ds, D.manifest_path(ds, "synthetic", tmp), f"{tmp}/{ds}.pt")
            prepared[ds] = D.load_prepared(f"{tmp}/{ds}.pt", dev)
        for i, (k, rs) in enumerate(groups.items(), 1):
            s = rs[0].settings
            n_steps, unit, real, repeat = plan[k]
            t0 = time.perf_counter()
            new_eval = eval_key(s) not in t_eval
            t_train[k], passes, te = measure(s, prepared[s["dataset"]], dev, unit, n_steps, min_s, new_eval)
            if new_eval:
                t_eval[eval_key(s)] = te
            timed_desc[k] = f"{n_steps} x {unit}" + (f" of {real}" if unit < real else "") + \
                (f" x{repeat} copies" if repeat > 1 else "") + \
                (f", {s['replicates']} replicates" if s.get("replicates", 1) > 1 else "") + \
                (f" (x{passes} passes)" if passes > 1 else "")
            print(f"  [{i}/{len(groups)}] {s['model']} {s.get('model_args', {})} batch {s['batch_size']}: "
                  f"timed {timed_desc[k]}, {t_train[k] * 1e3:.3f} ms/train sample "
                  f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)

    rows = []
    for r in runs:
        s, n = r.settings, run_samples(r.settings, sizes)
        tt, te = t_train[train_key(s)], t_eval[eval_key(s)]
        sec = n["epochs"] * (n["train"] * tt + n["eval"] * te) + n["test"] * te
        rows.append({"study": r.study, "experiment": r.experiment, "run": r.name, "model": s["model"],
                     "batch_size": s["batch_size"], "epochs": n["epochs"], "train_samples": n["train"],
                     "eval_samples": n["eval"], "test_samples": n["test"],
                     "group": list(groups).index(train_key(s)) + 1, "s_per_train_sample": tt,
                     "s_per_eval_sample": te, "est_seconds": sec})
    elapsed = time.perf_counter() - t_start

    print(f"# Compute budget of the `{cfg.preset}` preset (ESTIMATES)\n")
    print(f"device {dev} ({device_name(dev)}), threads {args.threads}, torch {torch.__version__}. "
          f"**Estimates, extrapolated** from {steps} measured training step(s) per timing group "
          f"(at least {MIN_TIMED} images; after a warm-up pass; cheap groups repeated to {min_s} s) "
          f"and evaluation over {n_eval} samples per model, "
          f"on synthetic data of the real shapes, times the real dataset sizes. Not included: data loading, "
          f"checkpoints, LR schedules, job start-up. Each run alone on this device with these threads."
          + (f" **--quick**: timed steps hold at most {QUICK_CAP} images (partial batches where marked 'of'), "
             f"so per-sample costs of large batches are approximate." if args.quick else ""))
    print("\n## Timing groups\n")
    print("| group | model | model_args | batch | timed steps x samples | ms/train sample | ms/eval sample | runs |")
    print("| ---: | --- | --- | ---: | --- | ---: | ---: | ---: |")
    for i, (k, rs) in enumerate(groups.items(), 1):
        s = rs[0].settings
        print(f"| {i} | {s['model']} | {json.dumps(s.get('model_args', {}))} | {s['batch_size']}"
              f"{'/' + str(s['micro_batch']) if s.get('micro_batch') else ''} | {timed_desc[k]} | "
              f"{t_train[k] * 1e3:.4f} | {t_eval[eval_key(s)] * 1e3:.4f} | {len(rs)} |")
    print("\n## Per run\n")
    print("| run | model | group | batch | epochs | train samples/epoch | eval samples/epoch | est. s | est. h |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for w in rows:
        print(f"| {w['study']}/{w['experiment']}/{w['run']} | {w['model']} | {w['group']} | {w['batch_size']} | "
              f"{w['epochs']} | {w['train_samples']} | {w['eval_samples']}"
              f"{' (+' + str(w['test_samples']) + ' test once)' if w['test_samples'] else ''} | "
              f"{w['est_seconds']:.0f} | {hours(w['est_seconds'])} |")
    print("\n## Per study\n")
    print("| study | runs | est. hours | note |")
    print("| --- | ---: | ---: | --- |")
    for name in studies:
        if cfg.studies[name]["engine"] != "torch":
            print(f"| {name} | - | - | not estimated: {cfg.studies[name]['engine']} engine, not dlrepro.training.trainer "
                  f"(small; negligible next to the torch runs) |")
            continue
        sel = [w for w in rows if w["study"] == name]
        stops = [r.key for r in runs if r.study == name and r.settings.get("loop", {}).get("stop_on_loss_explosion")]
        note = f"{', '.join(stops)}: stops early on a loss explosion, estimated for all epochs" if stops else ""
        print(f"| {name} | {len(sel)} | {hours(sum(w['est_seconds'] for w in sel))} | {note} |")
    total = sum(w["est_seconds"] for w in rows)
    print(f"| **total** | {len(rows)} | **{hours(total)}** | estimate, one job at a time |")
    print(f"\nTotal estimated compute: {total:.0f} s = {total / 3600:.2f} h on {dev} ({device_name(dev)}), "
          f"{args.threads} thread(s), extrapolated from {steps} measured step(s) per group; "
          f"this script took {elapsed:.0f} s.")
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["study"])
            wr.writeheader()
            wr.writerows(rows)


if __name__ == "__main__":
    main()
