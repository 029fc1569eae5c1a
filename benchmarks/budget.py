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
    python benchmarks/budget.py --quick --threads 1 --device cpu --write-costs benchmarks/costs.yaml

These are extrapolations, not measurements of whole runs: data loading, checkpoints,
schedules and Python start-up are left out. On one CPU thread steps are timed in process
CPU time (--clock), which a loaded machine inflates far less than wall time.

--write-costs merges the measured per-sample figures of this device into the costs file
that the train rule reads for its jobs' `runtime` and `mem_mb` (dlrepro.training.cost):
seconds per training and per evaluated sample, the resident memory around them (reset and
read through /proc/self/clear_refs and VmHWM, Linux), the process's base memory and a
fresh process's start-up time (import of the engine).
"""
from __future__ import annotations

import argparse
import csv
import ctypes
import datetime
import gc
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from dlrepro import data as D  # noqa: E402
from dlrepro.config import load_config, resolve  # noqa: E402
from dlrepro.training import cost  # noqa: E402
from dlrepro.training.cost import REAL_SIZES, run_samples  # noqa: E402,F401  (run_samples: tests)
from dlrepro.training.run import train_run  # noqa: E402,F401  (imported as a training job does: base memory)
from dlrepro.training.trainer import EVAL_CHUNK, Trainer, pick_device, set_threads  # noqa: E402

MIN_TIMED = 64      # time at least this many images per group (batch 1 or 32: several steps)
QUICK_CAP = 64      # --quick: at most this many images per timed step (partial batch above)
QUICK_EVAL = 128    # --quick: evaluation timed on one chunk of this many samples
MIN_SECONDS = 0.5   # cheap groups: the timed pass is repeated until this long (--quick: 0.1 s)
NOT_TIMED = ("val_split", "train_subset", "eval_subset", "eval_test", "schedule", "init_from")


def eval_key(s: dict) -> str:
    """What sets the cost of an evaluated sample (dlrepro.training.cost.eval_fields)."""
    return cost.key_of(cost.eval_fields(s))


def train_key(s: dict) -> str:
    """What sets the cost of a training sample (runs with equal keys share one timing)."""
    return cost.key_of(cost.train_fields(s))


class Memory:
    """Resident memory of this process (Linux): ``reset()`` frees what it can and sets the
    high-water mark to the current size; ``peak()`` is the growth since (MB)."""

    def __init__(self):
        self.ok = Path("/proc/self/clear_refs").exists()
        try:
            self.trim = ctypes.CDLL("libc.so.6").malloc_trim
        except OSError:
            self.trim = None
        self.start = 0.0

    @staticmethod
    def status(field: str) -> float:
        m = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
        return int(m.group(1)) / 1024 if m else 0.0

    def reset(self) -> None:
        gc.collect()
        if self.trim:
            self.trim(0)
        if self.ok:
            try:
                Path("/proc/self/clear_refs").write_text("5")
            except OSError:
                self.ok = False
        self.start = self.status("VmRSS")

    def now(self) -> float:
        return self.status("VmRSS") - self.start

    def peak(self) -> float:
        return max(0.0, (self.status("VmHWM") if self.ok else self.status("VmRSS")) - self.start)


def startup_seconds(repeat: int = 2) -> float:
    """A fresh Python process importing the engine as a training job does (torch,
    dlrepro.training.run): the slowest of ``repeat``, in wall time, or in the child's CPU
    time (user + system) where CLOCK is the process CPU time."""
    times = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for _ in range(repeat):
        r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run([sys.executable, "-c", "import dlrepro.training.run"], check=True, cwd=ROOT, env=env)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        times.append(cpu if CLOCK is time.process_time else time.perf_counter() - t0)
    return max(times)


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


CLOCK = time.perf_counter  # main(): time.process_time for one CPU thread (see --clock)


def timed(fn, n: int, dev: torch.device, min_s: float) -> tuple[float, int]:
    """(seconds per sample, passes) of ``fn`` (``n`` samples a pass): one warm-up pass, then
    passes until ``min_s`` seconds have been timed (on CLOCK)."""
    fn()
    passes, t = 0, 0.0
    while passes == 0 or t < min_s:
        sync(dev)
        t0 = CLOCK()
        fn()
        sync(dev)
        t += CLOCK() - t0
        passes += 1
    return t / (n * passes), passes


def measure(s: dict, data: dict, dev: torch.device, unit: int, steps: int, min_s: float,
            with_eval: bool, mem: Memory) -> tuple[float, int, float | None, dict]:
    """(seconds per training sample, passes, seconds per evaluated sample or None, memory),
    timed with the trainer dlrepro.training.run.train_run picks (``replicates``: all N seeds):
    passes of ``train_epoch`` over ``steps`` steps of ``unit`` samples, and of
    ``test_metrics`` over the data's test split (which the engine holds for a run with a
    val_split and eval_test). Memory (MB of resident growth): ``fixed_mb`` building the
    trainer (model, optimizer), ``train_mb`` the training passes, ``eval_mb`` evaluation."""
    s = {k: v for k, v in s.items() if k not in NOT_TIMED}
    s.update(epochs=1, train_subset=unit * steps, val_split={"size": 1, "seed": 0}, eval_test=True)
    trainer_cls = Trainer
    if s.get("replicates", 1) > 1:
        from dlrepro.training.replicates import trainer_class
        trainer_cls = trainer_class(dev)
    mem.reset()
    tr = trainer_cls(s, data, dev)
    fixed = mem.now()
    mem.reset()
    t_train, passes = timed(lambda: tr.train_epoch(0), unit * steps, dev, min_s)
    memory = {"fixed_mb": round(fixed, 1), "train_mb": round(mem.peak(), 1)}
    t_eval = None
    if with_eval:
        mem.reset()
        t_eval = timed(tr.test_metrics, len(data["test_y"]), dev, min_s)[0]
        memory["eval_mb"] = round(mem.peak(), 1)
    del tr
    return t_train, passes, t_eval, memory


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


COSTS_HEADER = """\
# Measured cost of a sample, per timing group (dlrepro.training.cost.train_fields) and device:
# the data behind each training job's `runtime` and `mem_mb` (rules/train.smk, config `cluster`).
# Written by benchmarks/budget.py --write-costs (see `measured` for how and where); do not edit
# by hand, measure again. train_s / eval_s: seconds per training / evaluated sample (one CPU
# thread: process CPU time, what a job on a core of its own takes, also on a loaded machine);
# fixed_mb: model and optimizer; train_mb: one training step of train_images images; eval_mb:
# one evaluation pass of eval_images images (resident growth); base_mb: the process with torch
# and the engine imported; startup_s: a fresh process importing the engine. gpu_factor: CPU
# seconds / GPU seconds of a group with no cuda figure, and cuda_context_mb: host memory of a
# CUDA context where no cuda base_mb was measured (both NOT measured: stated, conservative;
# `budget.py --device cuda --write-costs` measures both).
"""


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
    ap.add_argument("--clock", choices=["auto", "wall", "cpu"], default="auto",
                    help="time steps in wall time or in this process's CPU time (auto: CPU time on a CPU "
                         "with one thread, what a job on a core of its own takes even on a loaded machine)")
    ap.add_argument("--write-costs", metavar="PATH",
                    help="merge the measured per-sample figures of this device into this costs file "
                         "(the train rule's: benchmarks/costs.yaml)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    load_before = os.getloadavg()
    set_threads(args.threads)
    dev = pick_device(args.device)
    torch.zeros(1, device=dev).sum().item()  # a CUDA context is part of a GPU job's base
    global CLOCK
    cpu_clock = args.clock == "cpu" or (args.clock == "auto" and dev.type == "cpu" and args.threads == 1)
    if cpu_clock and dev.type == "cuda":
        ap.error("--clock cpu times the CPU, not a GPU")
    CLOCK = time.process_time if cpu_clock else time.perf_counter
    mem = Memory()
    mem.reset()
    base_mb = mem.start  # this process with torch, the engine (and a device) ready, before any data
    steps = args.batches or (1 if args.quick else 3)
    n_eval = QUICK_EVAL if args.quick else EVAL_CHUNK * args.eval_chunks
    min_s = 0.1 if args.quick else MIN_SECONDS
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
    figures: dict[str, dict] = {}
    eval_mem: dict[str, float] = {}
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
            t_train[k], passes, te, memory = measure(s, prepared[s["dataset"]], dev, unit, n_steps, min_s,
                                                     new_eval, mem)
            if new_eval:
                t_eval[eval_key(s)], eval_mem[eval_key(s)] = te, memory["eval_mb"]
            figures[k] = {"train_s": float(f"{t_train[k]:.4g}"), "eval_s": float(f"{t_eval[eval_key(s)]:.4g}"),
                          "fixed_mb": memory["fixed_mb"], "train_mb": memory["train_mb"],
                          "train_images": unit * repeat, "eval_mb": eval_mem[eval_key(s)],
                          "eval_images": min(n_eval, EVAL_CHUNK)}
            timed_desc[k] = f"{n_steps} x {unit}" + (f" of {real}" if unit < real else "") + \
                (f" x{repeat} copies" if repeat > 1 else "") + \
                (f", {s['replicates']} replicates" if s.get("replicates", 1) > 1 else "") + \
                (f" (x{passes} passes)" if passes > 1 else "")
            print(f"  [{i}/{len(groups)}] {s['model']} {s.get('model_args', {})} batch {s['batch_size']}: "
                  f"timed {timed_desc[k]}, {t_train[k] * 1e3:.3f} ms/train sample, "
                  f"+{memory['train_mb']:.0f} MB ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    startup = startup_seconds()
    load_after = os.getloadavg()

    # the per-run estimates through the rules' own cost model, from these fresh figures
    costs = cost.Costs({"base_mb": {dev.type: base_mb}, "startup_s": {dev.type: startup},
                        "groups": [{"key": cost.train_fields(rs[0].settings), dev.type: figures[k]}
                                   for k, rs in groups.items()]})
    rows = []
    for r in runs:
        s, n = r.settings, run_samples(r.settings, sizes)
        est = cost.estimate(s, costs, dev.type, sizes)
        job = cost.job_request(est, cfg.cluster, startup)
        rows.append({"study": r.study, "experiment": r.experiment, "run": r.name, "model": s["model"],
                     "batch_size": s["batch_size"], "epochs": n["epochs"], "train_samples": n["train"],
                     "eval_samples": n["eval"], "test_samples": n["test"],
                     "group": list(groups).index(train_key(s)) + 1, "s_per_train_sample": t_train[train_key(s)],
                     "s_per_eval_sample": t_eval[eval_key(s)], "est_seconds": est.seconds,
                     "est_mem_mb": round(est.mem_mb), "job_runtime_min": job["runtime"], "job_mem_mb": job["mem_mb"],
                     "job_small": job["small"]})
    if args.write_costs:
        meta = {"device_name": device_name(dev), "threads": args.threads, "torch": str(torch.__version__),
                "date": datetime.date.today().isoformat(), "preset": cfg.preset, "quick": args.quick,
                "steps_per_group": steps, "eval_samples": n_eval, "cpus": os.cpu_count(),
                "clock": "process CPU time" if CLOCK is time.process_time else "wall time",
                "load_average": f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)",
                "command": "python " + " ".join([Path(sys.argv[0]).as_posix().split(str(ROOT) + '/')[-1],
                                                 *sys.argv[1:]])}
        cost.write_costs(args.write_costs, dev.type, [(cost.train_fields(rs[0].settings), figures[k])
                                                      for k, rs in groups.items()],
                         meta, base_mb, startup, header=COSTS_HEADER)
        print(f"wrote {len(groups)} {dev.type} group figures to {args.write_costs}", file=sys.stderr)
    elapsed = time.perf_counter() - t_start

    print(f"# Compute budget of the `{cfg.preset}` preset (ESTIMATES)\n")
    print(f"device {dev} ({device_name(dev)}), threads {args.threads}, torch {torch.__version__}. "
          f"**Estimates, extrapolated** from {steps} measured training step(s) per timing group "
          f"(at least {MIN_TIMED} images; after a warm-up pass; cheap groups repeated to {min_s} s; "
          f"{'process CPU time' if CLOCK is time.process_time else 'wall time'}) "
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
    print(f"`job min` / `job MB`: what its train job asks for on {dev.type} (Snakemake runtime / mem_mb, "
          f"config `cluster`: x{cfg.cluster['safety']} and a measured start-up of {startup:.1f} s; "
          f"memory x{cfg.cluster['mem_safety']} + {cfg.cluster['job_overhead_mb']} MB); "
          f"`small`: grouped on a cluster.\n")
    print("| run | model | group | batch | epochs | train samples/epoch | eval samples/epoch | est. s | est. h "
          "| est. MB | job min | job MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for w in rows:
        print(f"| {w['study']}/{w['experiment']}/{w['run']} | {w['model']} | {w['group']} | {w['batch_size']} | "
              f"{w['epochs']} | {w['train_samples']} | {w['eval_samples']}"
              f"{' (+' + str(w['test_samples']) + ' test once)' if w['test_samples'] else ''} | "
              f"{w['est_seconds']:.0f} | {hours(w['est_seconds'])} | {w['est_mem_mb']} | "
              f"{w['job_runtime_min']}{' small' if w['job_small'] else ''} | {w['job_mem_mb']} |")
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
