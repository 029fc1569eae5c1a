"""Issue 17, end to end (Snakemake runs in copies of the project):

* every JSON output of a build is strict JSON: the smoke build, and a build whose runs
  diverge (NaN / infinite losses become null beside `status: diverged`);
* the README's data and config commands work as printed (Snakemake 9);
* Snakemake itself killed mid-training: the README's `--unlock`, then the same command
  resumes from the checkpoint, bit-identical to an uninterrupted run;
* a training job killed, then a run input changed (the synthetic data's seed, given as a
  nested --config value): the run starts fresh and ends exactly as a clean run does.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from e2e import ROOT, SNAKEMAKE, copy_project

pytestmark = pytest.mark.slow


def strict_load(text: str, where):
    """json.loads refusing NaN / Infinity, as a strict parser (browsers, jq) does."""
    def refuse(token):
        raise ValueError(f"{where}: non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def json_outputs(work: Path) -> list[Path]:
    return sorted(p for d in ("results", "data") if (work / d).is_dir() for p in (work / d).rglob("*.json"))


def summary_objects(work: Path):
    """The JSON object each report page's summary.js assigns."""
    for js in sorted((work / "results").rglob("*.summary.js")):
        m = re.search(r"\] = (\{.*\});\s*$", js.read_text(), re.S)
        assert m, js
        yield js, m.group(1)


def run(work: Path, *args: str, check: bool = True, timeout: int = 1800) -> subprocess.CompletedProcess:
    p = subprocess.run([SNAKEMAKE, *args], cwd=work, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-6000:]}")
    return p


# ----------------------------------------------------------------------------- strict JSON
def test_every_json_of_the_smoke_build_is_strict(smoke_build):
    files = json_outputs(smoke_build)
    assert len(files) > 100
    for f in files:
        strict_load(f.read_text(), f)
    for js, obj in summary_objects(smoke_build):
        strict_load(obj, js)


DIVERGING = {
    "preset": "smoke",
    "studies": {"probe": {
        "title": "diverging probe", "engine": "torch", "resources": {"gpu": False},
        "defaults": {"dataset": "kmnist", "model": "kmnist_mlp", "model_args": {"arch": "plain"},
                     "optimizer": {"name": "sgd", "lr": 0.01}, "batch_size": 64, "epochs": 3, "seed": 0,
                     "preprocess": {"scale": False, "normalize": "none"},
                     "loop": {"logged_train_loss": "mean", "train_acc": "running"}},
        "experiments": {
            "lr": {"grid": {"optimizer.lr": [0.0001, 1.0e6]}, "name": "lr-{optimizer.lr}"},
            "seeds": {"set": {"replicates": 2, "optimizer.lr": 1.0e6}, "cases": [{"name": "blowup"}]},
        },
        "figures": {
            "curves": {"kind": "run_curves", "caption": "curves"},
            "val_loss": {"kind": "overlay", "experiments": ["lr"], "y": "val_loss", "hue": "optimizer.lr",
                         "logy": True, "caption": "validation loss"},
            "final": {"kind": "final_vs_setting", "experiments": ["lr"], "x": "optimizer.lr", "y": "val_loss",
                      "logx": True, "caption": "final validation loss"},
        },
        "tables": {"final": {"kind": "final", "metrics": ["train_loss", "val_loss", "val_acc", "best_val_acc"],
                             "caption": "final numbers"}},
    }},
}


def test_a_build_with_diverging_runs_writes_only_strict_json(tmp_path):
    work = copy_project(tmp_path / "diverging")
    (work / "probe.yaml").write_text(yaml.safe_dump(DIVERGING))
    run(work, "--cores", "2", "--configfile", "probe.yaml")
    runs = work / "results/smoke/probe/runs"
    finals = {p.parent.name: strict_load(p.read_text(), p) for p in runs.rglob("final.json")}
    assert finals["lr-0.0001"]["status"] == "ok"
    for name in ("lr-1000000.0", "blowup"):
        f = finals[name]
        assert f["status"] == "diverged" and f["diverged_epoch"] == f["epochs_completed"], f
        assert any(f["final"][c] is None for c in ("train_loss", "train_loss_mean", "val_loss")), f["final"]
    assert any(v is None for rep in finals["blowup"]["replicates"]["final"] for v in rep.values())
    for f in json_outputs(work):
        strict_load(f.read_text(), f)
    for js, obj in summary_objects(work):
        strict_load(obj, js)
    table = pd.read_csv(work / "results/smoke/probe/tables/final.csv")
    assert sorted(table["status"]) == ["diverged", "diverged", "ok"]
    assert (work / "results/smoke/report/probe.html").stat().st_size > 1000


# ----------------------------------------------------------------------------- README commands
def readme_commands(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.strip().split("  #")[0].strip() for b in blocks for line in b.splitlines()
            if line.strip().startswith("snakemake")]


def test_the_readme_data_and_config_commands_work(tmp_path):
    work = copy_project(tmp_path / "readme")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (work / "my-settings.yaml").write_text("preset: smoke\noverrides: {precision: bf16}\n")
    data_cmds, config_cmds = readme_commands("Data"), readme_commands("Settings on the command line")
    assert len(data_cmds) == 1 and "data='{source: mirror, mirror: /path/to/mirror}'" in data_cmds[0]
    assert len(config_cmds) == 4
    for cmd in data_cmds + config_cmds:
        args = shlex.split(cmd.replace("/path/to/mirror", str(mirror)))[1:]
        if "-n" not in args:
            args.insert(0, "-n")
        p = run(work, *args, timeout=300)
        assert "This was a dry-run" in p.stdout, cmd
        if "mirror" in cmd:  # the raw files come from the mirror: data/real, no synthetic data
            assert "data/real/kmnist.manifest.json" in p.stdout and "data/synthetic" not in p.stdout
    # what the README says Snakemake 9 refuses, or reports itself before the workflow is read
    p = run(work, "-n", "--config", "data.source=mirror", check=False, timeout=300)
    assert p.returncode != 0 and "Config entry must start with a valid identifier" in p.stdout + p.stderr
    p = run(work, "-n", "--configfile", "no-such-settings.yaml", check=False, timeout=300)
    # Snakemake's own last word (on stdout; stderr has only the profile notice)
    last = p.stdout.strip().splitlines()[-1]
    assert p.returncode != 0 and last.startswith("FileNotFoundError") and "'no-such-settings.yaml'" in last


# ----------------------------------------------------------------------------- killed and resumed
PROBE = {
    "presets": {"smoke": {"scale": None}},   # the probe's own epochs, not the smoke preset's 2
    "data": {"synthetic": {"n_train": 3000, "n_test": 300, "seed": 0}},
    "studies": {"probe": {
        "title": "kill-and-resume probe", "engine": "torch", "resources": {"gpu": False},
        "defaults": {"dataset": "kmnist", "model": "kmnist_mlp", "model_args": {"arch": "both"},
                     "init": "kaiming_uniform", "optimizer": {"name": "adamw", "lr": 0.001, "weight_decay": 0.01},
                     "clip_grad_norm": 1.0, "batch_size": 16, "epochs": 6, "seed": 1,
                     "loop": {"logged_train_loss": "sum", "train_acc": "eval_full"}},
        "experiments": {"e": {"cases": [{"name": "r"}]}},
    }},
}
TARGET = "results/smoke/probe/runs/e/r/metrics.csv"
CKPT = "results/smoke/.checkpoints/probe/e/r"
LOG = "results/smoke/logs/probe/train/e/r.log"


def _project(tmp_path, name):
    work = copy_project(tmp_path / name)
    (work / "probe.yaml").write_text(yaml.safe_dump(PROBE))
    return work


def _job_pids(work: Path) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if ".snakemake/scripts" in cmd and "train.py" in cmd and os.readlink(p / "cwd") == str(work):
                pids.append(int(p.name))
        except (OSError, ValueError):
            continue
    return pids


def _start_and_wait(work: Path, args: list[str], epochs: int = 2) -> subprocess.Popen:
    """Start Snakemake (its own process group) and return once the job checkpointed `epochs`."""
    proc = subprocess.Popen([SNAKEMAKE, *args], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    partial, deadline = work / CKPT / "metrics.partial.csv", time.time() + 900
    while time.time() < deadline and proc.poll() is None:
        if partial.exists() and len(pd.read_csv(partial)) >= epochs:
            return proc
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint after {epochs} epochs: {proc.communicate(timeout=60)[0][-3000:]}")


def _metrics(work: Path) -> pd.DataFrame:
    return pd.read_csv(work / TARGET).drop(columns="seconds")


def test_snakemake_killed_then_unlock_and_the_same_command_resumes(tmp_path):
    unlock, same = readme_commands("Outputs")   # the README's two commands, in its order
    assert unlock.startswith("snakemake --unlock") and same.startswith("snakemake --cores")
    extra = ["--configfile", "probe.yaml", "--", TARGET]
    cmd, unlock_cmd = shlex.split(same)[1:] + extra, shlex.split(unlock)[1:] + ["--configfile", "probe.yaml"]
    ref = _project(tmp_path, "ref")
    run(ref, *cmd)

    work = _project(tmp_path, "killed")
    proc = _start_and_wait(work, cmd)
    os.killpg(proc.pid, signal.SIGKILL)          # power loss: Snakemake and its job at once
    proc.wait(timeout=60)
    for pid in _job_pids(work):                   # a job outside the group would be a bug of the test
        os.kill(pid, signal.SIGKILL)
    killed_at = len(pd.read_csv(work / CKPT / "metrics.partial.csv"))
    locked = run(work, *cmd, check=False)
    assert locked.returncode != 0 and "cannot be locked" in locked.stdout + locked.stderr
    run(work, *unlock_cmd)
    run(work, *cmd)
    assert f"resumed probe/e/r from its checkpoint after epoch {killed_at}" in (work / LOG).read_text()
    pd.testing.assert_frame_equal(_metrics(ref), _metrics(work), check_exact=True)


def test_a_resume_after_the_data_changed_starts_fresh(tmp_path):
    base = ["--cores", "1", "--config", "preset=smoke"]
    new_seed = ["data={synthetic: {seed: 7}}"]             # a nested --config value, as README shows
    extra = ["--configfile", "probe.yaml", "--", TARGET]
    ref = _project(tmp_path, "ref")
    run(ref, *base, *new_seed, *extra)

    work = _project(tmp_path, "changed")
    proc = _start_and_wait(work, base + extra)            # seed 0
    for pid in _job_pids(work):
        os.kill(pid, signal.SIGKILL)                      # the training job only
    proc.communicate(timeout=300)
    assert (work / CKPT / "checkpoint.pt").exists() and not (work / TARGET).exists()
    run(work, *base, *new_seed, *extra)                   # re-fetched, re-prepared, retrained
    log = (work / LOG).read_text()
    assert "starting probe/e/r fresh" in log and "the prepared data (content hash)" in log, log[-2000:]
    assert "resumed" not in log.split("starting probe/e/r fresh", 1)[1]
    pd.testing.assert_frame_equal(_metrics(ref), _metrics(work), check_exact=True)
    final = json.loads((work / "results/smoke/probe/runs/e/r/final.json").read_text())
    assert final["resumed_from_epoch"] is None and final["inputs"]["data"] == json.loads(
        (ref / "results/smoke/probe/runs/e/r/final.json").read_text())["inputs"]["data"]
