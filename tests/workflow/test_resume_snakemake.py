"""Issue 9: SIGKILL a training job mid-run, rerun the same Snakemake command: the job
resumes from its last checkpoint and its metrics equal an uninterrupted run's, bit for bit."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from e2e import SNAKEMAKE, copy_project

pytestmark = pytest.mark.slow

PROBE = {
    "preset": "full",
    "data": {"source": "synthetic", "synthetic": {"n_train": 3000, "n_test": 300, "seed": 0}},
    "studies": {"probe": {
        "title": "kill-and-resume probe", "engine": "torch",
        "defaults": {"dataset": "kmnist", "model": "kmnist_mlp", "model_args": {"arch": "both"},
                     "init": "kaiming_uniform", "optimizer": {"name": "adamw", "lr": 0.001, "weight_decay": 0.01},
                     "clip_grad_norm": 1.0, "batch_size": 16, "epochs": 8, "seed": 1,
                     "loop": {"logged_train_loss": "sum", "train_acc": "eval_full"}},
        "experiments": {"e": {"cases": [{"name": "r"}]}},
    }},
}
TARGET = "results/full/probe/runs/e/r/metrics.csv"
CKPT = "results/full/.checkpoints/probe/e/r"


def _cmd(work):
    return [SNAKEMAKE, "--cores", "1", "--configfile", "config.yaml", "probe.yaml", "--", TARGET]


def _job_pids(work: Path) -> list[int]:
    """The training job's python process(es): a script run out of this workdir."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if ".snakemake/scripts" in cmd and "train.py" in cmd and os.readlink(p / "cwd") == str(work):
                pids.append(int(p.name))
        except OSError:
            continue
    return pids


def _project(tmp_path, name):
    work = copy_project(tmp_path / name)
    (work / "probe.yaml").write_text(yaml.safe_dump(PROBE))
    return work


def test_killed_training_job_resumes_bit_identical(tmp_path):
    ref = _project(tmp_path, "ref")
    subprocess.run(_cmd(ref), cwd=ref, check=True, capture_output=True, timeout=1200)

    work = _project(tmp_path, "killed")
    proc = subprocess.Popen(_cmd(work), cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    partial, deadline = work / CKPT / "metrics.partial.csv", time.time() + 600
    while time.time() < deadline:
        if partial.exists() and len(pd.read_csv(partial)) >= 3:
            break
        time.sleep(0.2)
    pids = _job_pids(work)
    assert pids, "training job not found"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0, out
    assert not (work / TARGET).exists(), "a killed job left its output behind"
    killed_at = len(pd.read_csv(partial))
    assert 3 <= killed_at < 8

    rerun = subprocess.run(_cmd(work), cwd=work, capture_output=True, text=True, timeout=1200)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    log = (work / "results/full/logs/probe/train/e/r.log").read_text()
    assert f"resumed probe/e/r from its checkpoint after epoch {killed_at}" in log
    a = pd.read_csv(ref / TARGET).drop(columns="seconds")
    b = pd.read_csv(work / TARGET).drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not (work / CKPT / "checkpoint.pt").exists()
