"""The Slurm profile against a REAL single-node Slurm 22.05 cluster started by the test.

A session fixture installs Slurm if needed (.ci/install-slurm.sh), starts munged, a private
MariaDB + slurmdbd, slurmctld and slurmd with tests/workflow/slurm/start.sh in a temp dir (free
ports, one fake GPU on /dev/null), and stops them by PID with tests/workflow/slurm/stop.sh at the
end, also when a test fails. Tests:

  (a) sinfo shows the node idle, with its gpu gres
  (b) a self-contained workflow through `--workflow-profile profiles/slurm-test`: every
      non-local job goes through sbatch (job ids in the log, in the outputs, in sacct);
      then a small target of the real pipeline's smoke preset, whose outputs equal those
      of a local run (metrics CSVs bit-identical except the wall-clock `seconds` column)
  (c) what a GPU rule submits: `gpu=1` -> `sbatch ... --gpus=1`; the gres switch
      documented in profiles/slurm/config.yaml (run verbatim) -> `--gres=gpu:1`
  (d) a training job killed with scancel mid-training is resubmitted (profile
      `retries: 1`) and resumes from its checkpoint in R/.checkpoints/..., with the
      same metrics as an uninterrupted local run
  (e) each training job asks for its own time limit (`sbatch -t` from the run's cost
      estimate, dlrepro.training.cost), and small CPU runs go to Slurm bundled: one group
      job (group-components) for several runs, each with its own outputs and log, equal
      to a local build

Run:  .venv/bin/pytest -m slurm -s tests/workflow/test_slurm.py     (root; ~4-5 min on 2 cores)
The sbatch lines, timings and Snakemake logs go to logs/slurm-test/ (or
$DLREPRO_SLURM_TEST_OUT). DLREPRO_KEEP_SLURM=1 keeps the cluster's state dir (logs, DB).
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / ".ci" / "install-slurm.sh"
START = ROOT / "tests" / "workflow" / "slurm" / "start.sh"
STOP = ROOT / "tests" / "workflow" / "slurm" / "stop.sh"
OUT = Path(os.environ.get("DLREPRO_SLURM_TEST_OUT", ROOT / "logs" / "slurm-test"))
NEEDED = ["munged", "slurmctld", "slurmd", "slurmdbd", "sbatch", "sinfo", "sacct", "mariadbd"]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# a job's Snakemake id is a number, a group job's a UUID
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
SBATCH = re.compile(r"^sbatch call: (sbatch .*)$", re.M)


# ----------------------------------------------------------------------------- helpers
def _have_slurm() -> bool:
    return all(shutil.which(b) or Path("/usr/sbin", b).exists() for b in NEEDED)


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _record(name: str, text: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    p = OUT / name
    p.write_text(text)
    return p


@dataclass
class Cluster:
    state: Path
    env: dict
    start_s: float
    timings: dict = field(default_factory=dict)
    sbatch: dict = field(default_factory=dict)  # sbatch lines seen so far, by label

    def run(self, *cmd, check=True, timeout=60, **kw) -> subprocess.CompletedProcess:
        p = subprocess.run([str(c) for c in cmd], env=self.env, capture_output=True, text=True,
                           timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def snakemake(self, workdir: Path, args: list, log_name: str, timeout=600, background=False):
        """Run snakemake in `workdir` (targets first: --config takes every word after it)."""
        cmd = SNAKEMAKE + [str(a) for a in args]
        log = OUT / f"{log_name}.log"
        OUT.mkdir(parents=True, exist_ok=True)
        fh = open(log, "w")
        fh.write(f"$ cd {workdir} && {' '.join(cmd)}\n")
        fh.flush()
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, cwd=workdir, env=self.env, stdout=fh, stderr=subprocess.STDOUT, text=True)
        if background:
            return p, log, t0, fh
        return self.finish(p, log, t0, fh, log_name, timeout)

    def finish(self, p, log, t0, fh, log_name, timeout=600):
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
            raise AssertionError(f"snakemake ({log_name}) did not finish in {timeout}s; see {log}")
        finally:
            fh.close()
        text = log.read_text()
        # Snakemake's own "Elapsed time" (also right for runs that went on in the background)
        m = re.findall(r"^Elapsed time: (\d+):(\d+):([\d.]+)", text, re.M)
        self.timings[log_name] = (int(m[-1][0]) * 3600 + int(m[-1][1]) * 60 + float(m[-1][2])) if m \
            else time.monotonic() - t0
        return rc, text

    def sacct(self, *args) -> list[list[str]]:
        # freshly finished jobs can reach slurmdbd a second late
        out = self.run("sacct", "-X", "-n", "-P", *args).stdout
        return [line.split("|") for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def slurm_cluster():
    if os.geteuid() != 0:
        pytest.skip("the Slurm tests start slurmctld/slurmd/slurmdbd/MariaDB and need root")
    if not _have_slurm():
        p = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=900)
        if p.returncode != 0 or not _have_slurm():
            tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-8:])
            pytest.skip(f"Slurm could not be installed by .ci/install-slurm.sh (rc {p.returncode}):\n{tail}")
    # not under tmp_path: MariaDB runs as user `mysql`, which cannot enter
    # /tmp/pytest-of-root (mode 700)
    state = Path(tempfile.mkdtemp(prefix="dlrepro-slurm-", dir="/tmp"))
    state.chmod(0o755)
    ctld, slurmd, dbd, db = _free_ports(4)
    env = dict(os.environ, SLURM_CTLD_PORT=str(ctld), SLURM_SLURMD_PORT=str(slurmd),
               SLURM_DBD_PORT=str(dbd), SLURM_DB_PORT=str(db), SLURM_FAKE_GPUS="1")
    t0 = time.monotonic()
    cl = None
    try:
        p = subprocess.run(["bash", str(START), str(state)], env=env, capture_output=True, text=True, timeout=300)
        start_s = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError(f"tests/workflow/slurm/start.sh failed ({p.returncode}):\n{p.stdout}\n{p.stderr[-4000:]}")
        # what env.sh sets: SLURM_CONF, and STATE/bin (srun shim) first in PATH
        cenv = dict(os.environ, SLURM_CONF=str(state / "etc" / "slurm.conf"),
                    PATH=f"{state / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}")
        cenv.pop("SLURM_JOB_ID", None)
        cl = Cluster(state=state, env=cenv, start_s=start_s)
        print(f"\n[slurm] cluster up in {start_s:.1f}s (state {state}, ports {ctld}/{slurmd}/{dbd}/{db})")
        yield cl
    finally:
        t1 = time.monotonic()
        # keep the daemons' logs with the test artifacts before the state dir is purged
        if (state / "log").is_dir():
            shutil.copytree(state / "log", OUT / "daemon-logs", dirs_exist_ok=True)
        keep = os.environ.get("DLREPRO_KEEP_SLURM") == "1"
        s = subprocess.run(["bash", str(STOP), str(state)] + ([] if keep else ["--purge"]),
                           capture_output=True, text=True, timeout=180)
        stop_s = time.monotonic() - t1
        print(f"\n[slurm] stopped in {stop_s:.1f}s (rc {s.returncode})\n{s.stderr.strip()}")
        if cl is not None:
            lines = [f"cluster start        {cl.start_s:7.1f} s"]
            lines += [f"snakemake {k:<12} {v:7.1f} s" for k, v in cl.timings.items()]
            lines += [f"cluster stop         {stop_s:7.1f} s",
                      f"whole session        {time.monotonic() - t0:7.1f} s (fixture set-up to tear-down)"]
            _record("timings.txt", "\n".join(lines) + "\n")
            print("[slurm] timings:\n" + "\n".join(lines))


# ----------------------------------------------------------------------------- (a)
def test_sinfo_node_idle(slurm_cluster):
    out = slurm_cluster.run("sinfo", "-h", "-o", "%P %T %c %G").stdout.split()
    assert out[:2] == ["debug*", "idle"], out
    assert "gpu:1" in out[3], out


def test_cancelled_state_sacct_vs_squeue(slurm_cluster, tmp_path):
    """Why the profiles poll with squeue: sacct names a scancel'd job "CANCELLED by <uid>",
    which snakemake-executor-plugin-slurm 2.8.0 does not recognise as failed (it waits for
    the job forever); squeue says "CANCELLED". If a plugin update matches the prefix, the
    profiles can go back to the default (sacct)."""
    jid = slurm_cluster.run("sbatch", "--parsable", "-o", "/dev/null", "--wrap", "sleep 60", cwd=tmp_path).stdout.strip()
    time.sleep(1)
    slurm_cluster.run("scancel", jid)
    for _ in range(50):
        rows = slurm_cluster.sacct("-j", jid, "-o", "JobIDRaw,State")
        if rows and rows[0][1] != "RUNNING":
            break
        time.sleep(0.2)
    sq = slurm_cluster.run("squeue", "-h", "--states=all", "-o", "%i|%T", "-j", jid).stdout.strip()
    assert rows[0][1].startswith("CANCELLED by "), rows
    assert sq == f"{jid}|CANCELLED", sq


# ----------------------------------------------------------------------------- (b) tiny
TINY = r'''
localrules: all, download

rule all:
    input: "results/agg.txt"

rule download:   # like the pipeline's fetch_data: a localrule, runs without sbatch
    output: "data/raw.txt"
    shell: "echo local job=${{SLURM_JOB_ID:-none}} > {output}"

rule make:
    input: "data/raw.txt"
    output: "results/{x}.txt"
    threads: 1
    resources: mem_mb=200, runtime=2
    shell: "echo {wildcards.x} job=$SLURM_JOB_ID > {output}"

rule agg:
    input: expand("results/{x}.txt", x=["a", "b"])
    output: "results/agg.txt"
    shell: "cat {input} > {output}; echo agg job=$SLURM_JOB_ID >> {output}"

rule train:      # named like the pipeline's GPU rule, so the profile's gres switch applies
    output: "gpu.txt"
    threads: 1
    resources: gpu=1, mem_mb=200, runtime=2
    shell: "echo job=$SLURM_JOB_ID CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-unset}} > {output}"
'''


@pytest.fixture(scope="session")
def tiny_workflow(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    (d / "Snakefile").write_text(TINY)
    return d


def test_tiny_workflow_every_job_through_sbatch(slurm_cluster, tiny_workflow):
    d = tiny_workflow
    rc, log = slurm_cluster.snakemake(
        d, ["all", "gpu.txt", "--workflow-profile", ROOT / "profiles" / "slurm-test", "--verbose"], "tiny")
    assert rc == 0, log[-3000:]
    subs = [s for s, _ in _submissions(log)]
    # 4 remote jobs (make a, make b, agg, train), each submitted once; download and all are local
    assert len(subs) == len(set(subs)) == 4, subs
    assert "localrule download:" in log
    sbatch = SBATCH.findall(log)
    assert len(sbatch) == 4 and all("-p debug" in c and "-A root" in c for c in sbatch), sbatch
    # the outputs were written inside those Slurm jobs ...
    ids = set(subs)
    seen = {int(m) for f in ["results/a.txt", "results/b.txt", "results/agg.txt", "gpu.txt"]
            for m in re.findall(r"job=(\d+)", (d / f).read_text())}
    assert seen == ids, (seen, ids)
    assert (d / "data/raw.txt").read_text().strip() == "local job=none"
    # ... and slurmdbd has them all, COMPLETED, under the plugin's run id (the job name)
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    rows = slurm_cluster.sacct("--name", run_id, "-o", "JobIDRaw,State,Comment%80")
    assert {int(r[0]) for r in rows} == ids and {r[1] for r in rows} == {"COMPLETED"}, rows
    cpu = next(c for c in sbatch if "rule_make" in c)
    gpu = next(c for c in sbatch if "rule_train" in c)
    assert "--gpus=1" in gpu and "--ntasks" not in gpu and "--gpus" not in cpu and "--ntasks=1" in cpu
    assert "CUDA_VISIBLE_DEVICES=0" in (d / "gpu.txt").read_text()
    slurm_cluster.sbatch["gpus"] = gpu
    _record("sbatch_tiny.txt", f"# CPU rule (make)\n{cpu}\n\n# GPU rule (train, gpu=1)\n{gpu}\n")
    print(f"\n[slurm] tiny workflow ({len(subs)} Slurm jobs) in {slurm_cluster.timings['tiny']:.1f}s")
    print(f"[slurm] CPU sbatch: {cpu.split(' --wrap=')[0]}")
    print(f"[slurm] GPU sbatch: {gpu.split(' --wrap=')[0]}")


# ----------------------------------------------------------------------------- (c)
def _gres_switch_profile(dest: Path) -> Path:
    """The commented `set-resources` block of profiles/slurm/config.yaml, uncommented."""
    text = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    start = text.index("# set-resources:")
    block = [re.sub(r"^# ?", "", ln) for ln in text[start:].splitlines() if ln.startswith("#")]
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.yaml").write_text("\n".join(block) + "\n")
    return dest


def test_gpu_rule_gpus_and_gres_switch(slurm_cluster, tiny_workflow, tmp_path):
    d = tiny_workflow
    prof = ROOT / "profiles" / "slurm-test"
    lines = {}
    modes = [("gres", ["--profile", _gres_switch_profile(tmp_path / "gres")])]
    if "gpus" in slurm_cluster.sbatch:   # the default (gpus) line: seen by the tiny workflow test
        lines["gpus"] = slurm_cluster.sbatch["gpus"]
    else:
        modes.insert(0, ("gpus", []))
    for mode, extra in modes:
        (d / "gpu.txt").unlink(missing_ok=True)
        rc, log = slurm_cluster.snakemake(d, ["gpu.txt", "--workflow-profile", prof, "--verbose", *extra],
                                          f"gpu-{mode}")
        assert rc == 0, log[-3000:]
        (call,) = SBATCH.findall(log)
        lines[mode] = call
        # the job got the (fake) GPU: Slurm set CUDA_VISIBLE_DEVICES, sacct counts gres/gpu
        assert "CUDA_VISIBLE_DEVICES=0" in (d / "gpu.txt").read_text()
        jid = SUBMITTED.search(log).group(2)
        rows = slurm_cluster.sacct("-j", jid, "-o", "JobIDRaw,State,AllocTRES%80")
        assert rows and rows[0][1] == "COMPLETED" and "gres/gpu=1" in rows[0][2], rows
    assert "--gpus=1" in lines["gpus"] and "--gres" not in lines["gpus"]
    assert "--gres=gpu:1" in lines["gres"] and "--gpus" not in lines["gres"]
    p = _record("sbatch_gpu.txt", "".join(f"# train rule, gpu=1, mode {m}\n{c}\n\n" for m, c in lines.items()))
    for m, c in lines.items():
        print(f"\n[slurm] {m}: {c.split(' --wrap=')[0]}")
    print(f"[slurm] full lines in {p}")


# ----------------------------------------------------------------------------- real pipeline
# a CPU run (kmnist MLP: gpu=0) with its figure, and a GPU run (CIFAR CNN: gpu=1)
SMOKE_TARGETS = ["{R}/kmnist_tricks/figures/curves/debug/plain.png",
                 "{R}/cifar_cnn/runs/p1/p1a_cnn/metrics.csv"]
SMOKE_RUNS = ["kmnist_tricks/runs/debug/plain", "cifar_cnn/runs/p1/p1a_cnn"]
# the run killed mid-training: ResNet-10 at 4 epochs (~3 s an epoch on one CPU thread)
LONG_RUN = "cifar_cnn/runs/p2/p2a_resnet10"
LONG_CKPT = ".checkpoints/cifar_cnn/p2/p2a_resnet10/checkpoint.pt"
LONG_EPOCHS = 4


@pytest.fixture(scope="session")
def pipeline_copy(tmp_path_factory):
    """A copy of the repository (sources only), where the smoke targets resolve."""
    if not (ROOT / "Snakefile").exists() or not (ROOT / "rules" / "train.smk").exists():
        pytest.skip("the real pipeline (Snakefile, rules/train.smk) is not there yet")
    d = tmp_path_factory.mktemp("pipeline")
    skip = {".venv", "results", "data", ".snakemake", ".git", "logs", ".pytest_cache", "dev"}
    for item in ROOT.iterdir():
        if item.name in skip:
            continue
        if item.is_dir():
            shutil.copytree(item, d / item.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, d / item.name)
    # the smoke preset trains on the CPU and asks for no GPU; here the CNN runs must ask
    # for one, as on a GPU cluster (device auto), to show the GPU submission
    (d / "gpu_requests.yaml").write_text("presets:\n  smoke:\n    device: auto\n")
    targets = [t.format(R="results/smoke") for t in SMOKE_TARGETS]
    p = subprocess.run(SNAKEMAKE + targets + ["-n", "--cores", "1", "--config", "preset=smoke"],
                       cwd=d, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        pytest.skip("the real pipeline's smoke preset does not resolve yet "
                    f"(snakemake -n failed):\n{(p.stdout + p.stderr)[-1500:]}")
    # fetch the (synthetic) raw data once, up front: fetch_data is a localrule, and the
    # local reference runs below go on beside the Slurm runs (--nolock), so they must
    # not both try to create it
    raw = ["data/synthetic/kmnist.manifest.json", "data/synthetic/cifar10.manifest.json"]
    p = subprocess.run(SNAKEMAKE + raw + ["--cores", "1", "--workflow-profile", "none", "--config", "preset=smoke"],
                       cwd=d, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    return d


def _metrics(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows, path
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _final(path: Path) -> dict:
    return json.loads(path.read_text())


def _submissions(log: str) -> list[tuple[int, str]]:
    """(Slurm job id, Slurm log) of every submission, in order (a retry is a new one)."""
    return [(int(s), lg) for _, s, lg in SUBMITTED.findall(log)]


def test_smoke_target_through_slurm_equals_local(slurm_cluster, pipeline_copy):
    d = pipeline_copy
    prof = d / "profiles" / "slurm-test"
    tl = [t.format(R="local/smoke") for t in SMOKE_TARGETS]
    ts = [t.format(R="slurm/smoke") for t in SMOKE_TARGETS]
    # the local reference runs beside the Slurm run (which mostly waits for status polls)
    local = slurm_cluster.snakemake(d, tl + ["--cores", "1", "--nolock", "--workflow-profile", "none",
                                             "--configfile", "gpu_requests.yaml",
                                             "--config", "preset=smoke", "results=local"], "smoke-local",
                                    background=True)
    try:
        rc, slog = slurm_cluster.snakemake(d, ts + ["--workflow-profile", prof, "--verbose",
                                                    "--configfile", "gpu_requests.yaml",
                                                    "--config", "preset=smoke", "results=slurm"], "smoke-slurm")
    finally:
        lrc, llog = slurm_cluster.finish(*local, "smoke-local", timeout=600)
    assert lrc == 0, llog[-3000:]
    assert rc == 0, slog[-3000:]
    # every job except the localrule fetch_data went through sbatch, and sacct has them
    remote = re.findall(r"^\s*rule (\w+):", slog, re.M)
    local_jobs = re.findall(r"^\s*localrule (\w+):", slog, re.M)
    subs = _submissions(slog)
    assert len(subs) == len(remote) > 0, (remote, subs)
    assert "fetch_data" not in remote and set(local_jobs) <= {"fetch_data"}, (remote, local_jobs)
    run_id = re.search(r"SLURM run ID: (\S+)", slog).group(1)
    rows = slurm_cluster.sacct("--name", run_id, "-o", "JobIDRaw,State")
    assert {int(r[0]) for r in rows} == {s for s, _ in subs}, rows
    assert {r[1] for r in rows} == {"COMPLETED"}, rows
    # outputs equal the local run's: metrics bit-identical except wall-clock seconds
    for run in SMOKE_RUNS:
        assert _metrics(d / "slurm/smoke" / run / "metrics.csv") == _metrics(d / "local/smoke" / run / "metrics.csv"), run
        fs, fl = _final(d / "slurm/smoke" / run / "final.json"), _final(d / "local/smoke" / run / "final.json")
        for k in ("settings_hash", "status", "epochs_completed", "final", "best_val_acc", "test", "n_params"):
            if k == "final":
                assert {a: b for a, b in fs[k].items() if a != "seconds"} == \
                       {a: b for a, b in fl[k].items() if a != "seconds"}, run
            else:
                assert fs.get(k) == fl.get(k), (run, k)
        assert fs["provenance"]["slurm_job_id"] and not fl["provenance"]["slurm_job_id"]
    assert (d / ts[0]).stat().st_size > 0
    # the sbatch lines of the real pipeline's CPU and GPU training jobs
    sb = SBATCH.findall(slog)
    cpu = next(c for c in sb if "rule_train" in c and "kmnist" in c)
    gpu = next(c for c in sb if "rule_train" in c and "cifar" in c)
    assert "--gpus=1" in gpu and "--gpus" not in cpu
    _record("sbatch_pipeline.txt", f"# train, kmnist MLP (gpu=0)\n{cpu}\n\n# train, CIFAR CNN (gpu=1)\n{gpu}\n\n"
            + "".join(f"# all\n{c}\n" for c in sb))
    print(f"\n[slurm] smoke target: local {slurm_cluster.timings['smoke-local']:.1f}s, "
          f"Slurm {slurm_cluster.timings['smoke-slurm']:.1f}s ({len(subs)} Slurm jobs)")
    print(f"[slurm] pipeline CPU train sbatch: {cpu.split(' --wrap=')[0]}")
    print(f"[slurm] pipeline GPU train sbatch: {gpu.split(' --wrap=')[0]}")


# ----------------------------------------------------------------------------- (d)
def test_scancel_mid_training_resumes_from_checkpoint(slurm_cluster, pipeline_copy):
    d = pipeline_copy
    if "ckpt_dir" not in (ROOT / "workflow_scripts" / "train.py").read_text():
        pytest.skip("the training engine does not write checkpoints yet (workflow_scripts/train.py has no ckpt_dir)")
    for name in ("long_local", "long_slurm"):
        # group_below 0: a job of its own, not in a group of small runs (the test kills this one job)
        (d / f"{name}.yaml").write_text(
            f"results: {name}\npresets:\n  smoke:\n    scale: {{epochs: {LONG_EPOCHS}}}\n"
            "cluster: {group_below: 0}\n")
    target = f"{LONG_RUN}/metrics.csv"
    # the uninterrupted reference, run locally beside the Slurm run
    local = slurm_cluster.snakemake(d, [f"long_local/smoke/{target}", "--cores", "1", "--nolock",
                                        "--workflow-profile", "none", "--configfile", "long_local.yaml",
                                        "--config", "preset=smoke"], "scancel-local", background=True)
    ckpt = d / "long_slurm/smoke" / LONG_CKPT
    p, log, t0, fh = slurm_cluster.snakemake(
        d, [f"long_slurm/smoke/{target}", "--workflow-profile", d / "profiles" / "slurm-test", "--verbose",
            "--configfile", "long_slurm.yaml", "--config", "preset=smoke"], "scancel-slurm", background=True)
    killed = None
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and p.poll() is None:
            if ckpt.exists():  # at least one epoch done and checkpointed
                q = slurm_cluster.run("squeue", "-h", "-o", "%i %k %T").stdout.split("\n")
                train = [ln.split() for ln in q if "rule_train" in ln and "p2a_resnet10" in ln]
                if train:
                    killed = train[0][0]
                    slurm_cluster.run("scancel", killed)
                    break
            time.sleep(0.2)
        assert killed, f"never saw the training job with a checkpoint; see {log}"
        epochs_at_kill = sum(1 for _ in open(ckpt.parent / "metrics.partial.csv")) - 1 \
            if (ckpt.parent / "metrics.partial.csv").exists() else None
    finally:
        try:
            rc, slog = slurm_cluster.finish(p, log, t0, fh, "scancel-slurm", timeout=300)
        finally:
            lrc, llog = slurm_cluster.finish(*local, "scancel-local", timeout=300)
    assert lrc == 0, llog[-3000:]
    assert rc == 0, slog[-3000:]
    assert "SLURM status is: 'CANCELLED'" in slog, "snakemake did not see the cancelled job"
    trains = [(s, lg) for s, lg in _submissions(slog) if "rule_train" in lg]
    assert len(trains) == 2 and str(trains[0][0]) == killed, trains
    states = {r[0]: r[1] for r in slurm_cluster.sacct("-j", ",".join(str(s) for s, _ in trains), "-o", "JobIDRaw,State")}
    assert states[killed].startswith("CANCELLED") and states[str(trains[1][0])] == "COMPLETED", states
    final = _final(d / "long_slurm/smoke" / LONG_RUN / "final.json")
    assert final["resumed_from_epoch"] and 1 <= final["resumed_from_epoch"] < LONG_EPOCHS, final["resumed_from_epoch"]
    assert final["epochs_completed"] == LONG_EPOCHS
    assert not ckpt.exists(), "the checkpoint is removed once the run is complete"
    train_log = (d / "long_slurm/smoke/logs" / LONG_RUN.replace("/runs/", "/train/")).with_suffix(".log")
    assert "from its checkpoint after epoch" in train_log.read_text()
    # the resumed run's metrics equal an uninterrupted run's, bit for bit (CPU)
    assert _metrics(d / "long_slurm/smoke" / LONG_RUN / "metrics.csv") == \
        _metrics(d / "long_local/smoke" / LONG_RUN / "metrics.csv")
    summary = (f"scancel'd Slurm job {killed} after epoch {epochs_at_kill}; resubmitted as job {trains[1][0]}, "
               f"resumed from epoch {final['resumed_from_epoch']}; Slurm run "
               f"{slurm_cluster.timings['scancel-slurm']:.1f}s, local reference "
               f"{slurm_cluster.timings['scancel-local']:.1f}s")
    _record("scancel.txt", summary + "\n")
    print(f"\n[slurm] {summary}")


# ----------------------------------------------------------------------------- (e)
# four small KMNIST MLP runs (CPU: grouped) and two CIFAR CNN runs (GPU requests: a job each)
GROUPED_RUNS = ["kmnist_tricks/runs/debug/plain", "kmnist_tricks/runs/debug/drop",
                "kmnist_tricks/runs/debug/bn", "kmnist_tricks/runs/debug/both"]
OWN_RUNS = ["cifar_cnn/runs/p1/p1a_cnn", "cifar_cnn/runs/p2/p2a_resnet10"]
# smoke runs take seconds: a large safety factor and a 1-minute floor make their estimates
# differ by whole minutes; the KMNIST runs (CPU) are small, the CIFAR runs (GPU) never are
COST = {"safety": 1000, "min_runtime": 1, "group_below": 1000}
COST_CONFIG = ("presets:\n  smoke:\n    device: auto\n"
               f"cluster: {{{', '.join(f'{k}: {v}' for k, v in COST.items())}}}\n")


def _expected_requests(d: Path) -> dict:
    """What the cost model asks for each run under COST_CONFIG (the rules' own computation)."""
    from dlrepro.config import load_config, resolve
    from dlrepro.training import cost

    raw = load_config(d / "config.yaml")
    smoke = {**raw["presets"]["smoke"], "device": "auto"}
    raw = {**raw, "preset": "smoke", "presets": {**raw["presets"], "smoke": smoke},
           "cluster": {**raw.get("cluster", {}), **COST}}
    cfg = resolve(raw)
    costs = cost.load_costs(d / cfg.cluster["costs"])
    syn = cfg.data["synthetic"]
    out = {}
    for run in GROUPED_RUNS + OWN_RUNS:
        r = cfg.runs[run.replace("/runs/", "/")]
        device = "cpu" if cfg.studies[r.study].get("resources", {}).get("gpu") is False else "cuda"
        est = cost.estimate(r.settings, costs, device, (syn["n_train"], syn["n_test"]))
        out[run] = cost.job_request(est, cfg.cluster, costs.startup_s.get(device, costs.startup_s["cpu"]))
    return out


def test_runtime_per_job_and_small_runs_grouped(slurm_cluster, pipeline_copy):
    d = pipeline_copy
    (d / "cost_requests.yaml").write_text(COST_CONFIG)
    prof = d / "profiles" / "slurm-test"
    runs = GROUPED_RUNS + OWN_RUNS
    local = slurm_cluster.snakemake(d, [f"group_local/smoke/{r}/metrics.csv" for r in runs]
                                    + ["--cores", "1", "--nolock", "--workflow-profile", "none",
                                       "--configfile", "cost_requests.yaml", "--config", "preset=smoke",
                                       "results=group_local"], "group-local", background=True)
    try:
        rc, slog = slurm_cluster.snakemake(d, [f"group_slurm/smoke/{r}/metrics.csv" for r in runs]
                                           + ["--workflow-profile", prof, "--verbose", "--configfile",
                                              "cost_requests.yaml", "--config", "preset=smoke",
                                              "results=group_slurm"], "group-slurm")
    finally:
        lrc, llog = slurm_cluster.finish(*local, "group-local", timeout=600)
    assert lrc == 0, llog[-3000:]
    assert rc == 0, slog[-3000:]
    assert "Group job" not in llog, "a local run forms no group jobs"
    expected = _expected_requests(d)
    assert all(expected[r]["small"] for r in GROUPED_RUNS) and not any(expected[r]["small"] for r in OWN_RUNS)
    sb = [c for c in SBATCH.findall(slog) if "rule_train" in c]
    group = [c for c in sb if "group_train_small" in c]
    own = {r: [c for c in sb if "rule_train_wildcards_" + r.replace("/runs/", "_").replace("/", "_") in c]
           for r in OWN_RUNS}
    # fewer submissions than runs: the four small runs went as ONE Slurm job
    assert len(sb) == 1 + len(OWN_RUNS) < len(runs), sb
    assert len(group) == 1 and all(len(v) == 1 for v in own.values()), (group, own)
    assert all(f"run={r.split('/')[-1]}" in group[0] for r in GROUPED_RUNS), group[0]
    # the time limits: each own job its own estimate; the group the runs that share it
    t = {r: int(re.search(r" -t (\d+) ", v[0]).group(1)) for r, v in own.items()}
    assert t == {r: expected[r]["runtime"] for r in OWN_RUNS}, (t, expected)
    assert len(set(t.values())) == len(OWN_RUNS), f"the time limits do not differ: {t}"
    t_group = int(re.search(r" -t (\d+) ", group[0]).group(1))
    small = sorted((expected[r]["runtime"] for r in GROUPED_RUNS), reverse=True)
    # 2 side by side (profile cores: 2), so two after another: the longest of each pair
    assert t_group == small[0] + small[2], (t_group, small)
    assert "--cpus-per-task=2" in group[0] and "--gpus" not in group[0]
    mems = [expected[r]["mem_mb"] for r in GROUPED_RUNS]     # two side by side: the sum of a pair
    assert max(mems) < int(re.search(r" --mem (\d+) ", group[0]).group(1)) <= 2 * max(mems), (group[0], mems)
    assert all(f"--mem {expected[r]['mem_mb']}" in own[r][0] for r in OWN_RUNS), own
    # each grouped run: its own outputs and log, written inside the one Slurm job, and
    # equal to the local build's
    jobs = set()
    for run in runs:
        s_dir, l_dir = d / "group_slurm/smoke" / run, d / "group_local/smoke" / run
        assert _metrics(s_dir / "metrics.csv") == _metrics(l_dir / "metrics.csv"), run
        fs, fl = _final(s_dir / "final.json"), _final(l_dir / "final.json")
        assert fs["settings_hash"] == fl["settings_hash"] and fs["test"] == fl["test"], run
        log = (d / "group_slurm/smoke/logs" / run.replace("/runs/", "/train/")).with_suffix(".log")
        assert "done: status" in log.read_text(), log
        if run in GROUPED_RUNS:
            jobs.add(fs["provenance"]["slurm_job_id"])
    (group_job,) = jobs
    states = {r[0]: r[1] for r in slurm_cluster.sacct("-j", group_job, "-o", "JobIDRaw,State")}
    assert states == {group_job: "COMPLETED"}, states
    # one run of the group redone alone: only its job is planned again
    (d / "group_slurm/smoke" / GROUPED_RUNS[1] / "metrics.csv").unlink()
    p = subprocess.run(SNAKEMAKE + [f"group_slurm/smoke/{r}/metrics.csv" for r in runs]
                       + ["-n", "--workflow-profile", "none", "--configfile", "cost_requests.yaml",
                          "--config", "preset=smoke", "results=group_slurm"],
                       cwd=d, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    planned = re.findall(r"wildcards: (study=\S+, experiment=\S+, run=\S+)", p.stdout)
    assert planned == ["study=kmnist_tricks, experiment=debug, run=drop"], planned
    _record("sbatch_grouped.txt", f"# the group of {len(GROUPED_RUNS)} small runs\n{group[0]}\n\n"
            + "".join(f"# {r}\n{c[0]}\n\n" for r, c in own.items()))
    print(f"\n[slurm] {len(runs)} runs in {len(sb)} training submissions; -t: group {t_group}, "
          + ", ".join(f"{r.split('/')[-1]} {v}" for r, v in t.items()))
