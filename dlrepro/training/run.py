"""One whole training run, as rule ``train`` runs it: :func:`train_run`.

It builds the run's trainer (:class:`dlrepro.training.trainer.Trainer`, or for
``replicates: N`` the one :func:`dlrepro.training.replicates.trainer_class` picks), and
per epoch appends a row to the metrics table, writes one log line, and saves a
checkpoint (atomically) outside the rule's outputs, so a killed job resumes where it
stopped with the optimizer, schedule, RNG and data-order state it had: a resumed CPU
run gives the same metrics, bit for bit, as an uninterrupted one. At the end it writes
the metrics CSV, the final JSON (with the run's provenance) and the final weights,
each atomically, and removes the checkpoint.

A checkpoint is keyed on everything the run depends on (:func:`run_inputs`): its
settings, the prepared data's content hash (its integrity record), the ``init_from``
model's hash and the LR bounds it read. A checkpoint made with other inputs (the data
re-prepared from another synthetic seed, a retrained ``init_from`` run, new bounds) is
not resumed from: the run starts fresh and its log says which input changed.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

import numpy
import pandas as pd
import torch

from dlrepro.config import settings_hash
from dlrepro.ioutil import torch_save, write_csv, write_json
from dlrepro.training.replicates import trainer_class
from dlrepro.training.trainer import STD_COLUMNS, Trainer, pick_device, set_threads

__all__ = ["provenance", "run_inputs", "train_run"]


def provenance(device: torch.device, threads: int) -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=5).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown", None
    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    return {"git_commit": commit, "git_dirty": dirty, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "device": device.type, "device_name": dev_name,
            "threads": threads, "torch_threads": torch.get_num_threads(), "host": socket.gethostname(),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID")}


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: what each entry of :func:`run_inputs` is, for the log
INPUT_WORDS = {"settings": "the run's settings", "data": "the prepared data (content hash)",
               "init_from": "the init_from model (file hash)", "lr_bounds": "the LR bounds"}


def run_inputs(settings: dict, data: dict, init_path: str | None = None, lr_bounds: dict | None = None) -> dict:
    """Hashes of everything a run's result depends on: the key of its checkpoints."""
    return {"settings": settings_hash(settings), "data": data["integrity"]["sha256"],
            "init_from": _file_sha256(init_path) if init_path else None,
            "lr_bounds": settings_hash(lr_bounds) if lr_bounds is not None else None}


def _changed_inputs(saved: dict, now: dict) -> str:
    if not isinstance(saved.get("inputs"), dict):
        return "it records no inputs (an older checkpoint format)"
    changed = [f"{INPUT_WORDS.get(k, k)} {str(saved['inputs'].get(k))[:12]} -> {str(v)[:12]}"
               for k, v in now.items() if saved["inputs"].get(k) != v]
    return "changed since: " + "; ".join(changed)


def train_run(settings: dict, data_path: str, metrics_path: str, final_path: str, model_path: str,
              ckpt_dir: str, device: str = "auto", threads: int = 1, init_path: str | None = None,
              log: Callable[[str], None] = print, run_key: str = "", lr_bounds_path: str | None = None) -> dict:
    """Train one run to completion (resuming from ``ckpt_dir`` if a matching checkpoint is
    there) and write its metrics CSV, final JSON and final weights atomically."""
    from dlrepro.data import load_prepared  # here, not at the top: dlrepro.data imports torchvision

    t_start = time.perf_counter()
    set_threads(threads)
    dev = pick_device(device)
    if dev.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    data = load_prepared(data_path, dev, dataset=settings["dataset"])
    init_state = torch.load(init_path, map_location=dev) if init_path else None
    lr_bounds = None
    if lr_bounds_path:
        with open(lr_bounds_path) as fh:
            lr_bounds = json.load(fh)
    inputs = run_inputs(settings, data, init_path, lr_bounds)
    if settings.get("replicates", 1) > 1:
        trainer_cls = trainer_class(dev)  # N seeds in one job: vmap on a GPU, a loop on a CPU
    else:
        trainer_cls = Trainer
    tr = trainer_cls(settings, data, dev, init_state, lr_bounds)
    columns = tr.columns + ([f"{c}_std" for c in STD_COLUMNS] if tr.n_rep > 1 else [])
    ckpt_dir = Path(ckpt_dir)
    ckpt = ckpt_dir / "checkpoint.pt"
    h = settings_hash(settings)
    rows: list[dict] = []
    start_epoch, status, resumed_from = 0, "ok", None
    if ckpt.exists():
        st = torch.load(ckpt, map_location=dev, weights_only=False)
        if st.get("inputs") == inputs:
            tr.load_state_dict(st["trainer"])
            rows, start_epoch, status = st["rows"], st["epoch"], st["status"]
            resumed_from = start_epoch
            log(f"resumed {run_key} from its checkpoint after epoch {start_epoch}")
        else:
            log(f"starting {run_key} fresh: its checkpoint (after epoch {st.get('epoch')}) was made with "
                f"other inputs, {_changed_inputs(st, inputs)}")
    log(f"{run_key}: {settings['model']} {settings.get('model_args', {})}, "
        f"{tr.n_params():,} parameters" + (f" x {tr.n_rep} replicates" if tr.n_rep > 1 else "") +
        f", device {dev}, threads {threads}, "
        f"{len(tr.splits['train'])} train / {len(tr.splits['val'])} val samples, "
        f"synthetic data: {bool(data.get('synthetic'))}")
    epoch = start_epoch
    while status == "ok" and epoch < settings["epochs"]:
        row, status = tr.run_epoch(epoch)
        rows.append(row)
        epoch += 1
        log(f"epoch {epoch}/{settings['epochs']} train_loss {row['train_loss']:.5g} "
            f"train_acc {row['train_acc']:.4f} val_loss {row['val_loss']:.4f} val_acc {row['val_acc']:.4f} "
            f"lr {row['lr']:.3g} {row['seconds']:.2f}s" + ("" if status == "ok" else f" [{status}]"))
        torch_save({"hash": h, "inputs": inputs, "epoch": epoch, "rows": rows, "status": status,
                    "trainer": tr.state_dict()}, ckpt)
        write_csv(ckpt_dir / "metrics.partial.csv", pd.DataFrame(rows, columns=columns))
    test = None
    if tr.splits["test"] is not None and status != "diverged":
        test = tr.test_metrics()
    final_eval = tr.final_eval() if tr.loop.get("final_eval") and status != "diverged" else None
    final = {
        "run": run_key, "settings": settings, "settings_hash": h, "inputs": inputs, "status": status,
        "epochs_completed": len(rows), "diverged_epoch": len(rows) if status == "diverged" else None,
        "final": rows[-1] if rows else None,
        "best_val_acc": max((r["val_acc"] for r in rows if math.isfinite(r["val_acc"])), default=None),
        "test": test, "final_eval": final_eval, "n_params": tr.n_params(),
        "synthetic": bool(data.get("synthetic")), "dataset": settings["dataset"],
        "train_samples": len(tr.splits["train"]), "val_samples": len(tr.splits["val"]),
        "train_seconds": sum(r["seconds"] for r in rows), "wall_seconds": time.perf_counter() - t_start,
        "resumed_from_epoch": resumed_from, "provenance": provenance(dev, threads), "lr_bounds": lr_bounds,
    }
    # the layout the convolutions ran in (channels_last unset: channels-last for a conv net on the CPU)
    layout = any(getattr(getattr(m, "prep", None), "channels_last", False) for m in [tr, *getattr(tr, "members", [])])
    final["provenance"]["memory_format"] = "channels_last" if layout else "contiguous"
    if tr.batches:
        final["batches"] = tr.batches
    if tr.n_rep > 1:
        final["replicates"] = tr.replicates_summary(test)
    torch_save(tr.model_state(), model_path)
    write_csv(metrics_path, pd.DataFrame(rows, columns=columns))
    write_json(final_path, final)
    for f in (ckpt, ckpt_dir / "metrics.partial.csv"):
        f.unlink(missing_ok=True)
    log(f"done: status {status}, {len(rows)} epochs, {final['wall_seconds']:.1f}s")
    return final
