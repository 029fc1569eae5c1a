"""Each training job's runtime and mem_mb come from its run's cost estimate (a full-preset
dry run; dlrepro.training.cost, benchmarks/costs.yaml); small CPU runs are grouped only
where Snakemake submits jobs; a new estimate retrains nothing."""
import math
import re

import pytest

from dlrepro.config import load_config, resolve
from dlrepro.training import cost
from e2e import ROOT, planned_jobs, snakemake

pytestmark = pytest.mark.slow

SHORT = "kmnist_tricks/debug/plain"             # 4 epochs of 64 samples: minutes at most
LONG = "optim_clr_cutout/p4_bataug/m-16"        # ResNet-44, 16 augmented copies: the longest


def _full_dry_run() -> dict[str, dict]:
    """run key -> {runtime, mem_mb, gpu, grouped} of every train job of the full preset."""
    p = snakemake(ROOT, "-n", "--config", "preset=full")
    jobs, job, grouped = {}, None, False
    for line in p.stdout.splitlines():
        if "Group job train_small" in line:
            grouped = True
        elif re.match(r"^\s*(local)?rule \w+:$", line):
            job = {"rule": line.split()[-1].rstrip(":"), "grouped": grouped and line.startswith("    ")}
            grouped = grouped and line.startswith("    ")
        elif job and line.strip().startswith("wildcards:") and job["rule"] == "train":
            w = dict(kv.split("=", 1) for kv in line.strip()[len("wildcards: "):].split(", "))
            jobs[f"{w['study']}/{w['experiment']}/{w['run']}"] = job
        elif job and line.strip().startswith("resources:") and job["rule"] == "train":
            res = dict(kv.split("=", 1) for kv in line.strip()[len("resources: "):].split(", "))
            job.update(runtime=int(res["runtime"]), mem_mb=int(res["mem_mb"]), gpu=int(res["gpu"]))
    return jobs


@pytest.fixture(scope="module")
def full():
    raw = load_config(ROOT / "config.yaml")
    cfg = resolve(raw)
    return cfg, cost.load_costs(ROOT / cfg.cluster["costs"]), _full_dry_run()


def _expected(cfg, costs, key):
    run = cfg.runs[key]
    device = "cuda" if cfg.studies[run.study].get("resources", {}).get("gpu", True) else "cpu"
    est = cost.estimate(run.settings, costs, device)
    return est, cost.job_request(est, cfg.cluster, costs.startup_s.get(device, costs.startup_s["cpu"]))


def test_runtime_follows_each_runs_estimate(full):
    cfg, costs, jobs = full
    assert set(jobs) == set(cfg.runs)
    for key in (SHORT, LONG):
        est, job = _expected(cfg, costs, key)
        startup = costs.startup_s.get(est.device, costs.startup_s["cpu"])
        assert jobs[key]["runtime"] == max(cfg.cluster["min_runtime"],
                                           math.ceil((est.seconds + startup) * cfg.cluster["safety"] / 60))
        assert jobs[key]["mem_mb"] == job["mem_mb"]
    assert jobs[SHORT]["runtime"] == cfg.cluster["min_runtime"] and jobs[SHORT]["gpu"] == 0
    assert jobs[LONG]["runtime"] > 50 * jobs[SHORT]["runtime"] and jobs[LONG]["gpu"] == 1
    # every run: its own estimate; longer estimates never ask for less time
    by_est = sorted(cfg.runs, key=lambda k: _expected(cfg, costs, k)[0].seconds)
    asked = {k: jobs[k]["runtime"] for k in cfg.runs}
    assert all(asked[k] == _expected(cfg, costs, k)[1]["runtime"] for k in cfg.runs)
    assert len(set(asked.values())) > 30, sorted(set(asked.values()))
    assert [asked[k] for k in by_est] == sorted(asked[k] for k in by_est)


def test_small_cpu_runs_and_only_they_are_grouped(full):
    cfg, costs, jobs = full
    small = {k for k in cfg.runs if _expected(cfg, costs, k)[1]["small"]}
    assert {k for k, j in jobs.items() if j["grouped"]} == small
    assert all(jobs[k]["gpu"] == 0 and jobs[k]["runtime"] < cfg.cluster["group_below"] for k in small)
    studies = {k.split("/")[0] for k in small}
    assert {"kmnist_tricks", "fashion_mlp"} <= studies and len(small) > 60, (studies, len(small))


def test_local_runs_form_no_groups(smoke_build):
    """Snakemake 9 uses `group` only where it submits jobs (Rule.group is None in a local,
    non-dry run): the smoke build ran every training job on its own."""
    logs = sorted((smoke_build / ".snakemake" / "log").glob("*.snakemake.log"))
    text = "\n".join(p.read_text() for p in logs)
    assert "rule train:" in text and "Group job" not in text


def _asked(work, run="kmnist_tricks/runs/debug/plain") -> int:
    """The runtime a forced dry run of one smoke training job shows."""
    p = snakemake(work, "-n", "--forcerun", "train", "--", f"results/smoke/{run}/metrics.csv")
    return int(re.search(r"resources: .*gpu=\d, runtime=(\d+),", p.stdout).group(1))


def test_a_new_estimate_retrains_nothing(smoke_build):
    """Resources are not params: costs a million times higher change what a job asks for,
    and replan no job. (The factor is large because a smoke run's estimate is far below
    the 10-minute floor: 10,000 times an idle machine's costs still asked for the floor.)"""
    path = smoke_build / "benchmarks" / "costs.yaml"
    text = path.read_text()
    before = _asked(smoke_build)
    scaled = re.sub(r"train_s: ([0-9.e-]+)", lambda m: f"train_s: {1e6 * float(m.group(1)):.4g}", text)
    assert scaled != text
    path.write_text(scaled)
    try:
        assert _asked(smoke_build) > before
        assert planned_jobs(smoke_build) == []
    finally:
        path.write_text(text)


def test_a_resubmitted_job_asks_for_twice_the_time(full):
    """After a time-out the profile's `retries` resubmit a job (attempt 2), which resumes
    from its checkpoint: it asks for twice its estimate's time, the same memory."""
    cfg, costs, jobs = full
    targets = [f"results/full/{k.split('/')[0]}/runs/{'/'.join(k.split('/')[1:])}/metrics.csv" for k in (SHORT, LONG)]
    p = snakemake(ROOT, "-n", "--attempt", "2", "--config", "preset=full", "--", *targets)
    asked = [int(m) for m in re.findall(r"resources: .*gpu=\d, runtime=(\d+),", p.stdout)]
    assert sorted(asked) == sorted(2 * jobs[k]["runtime"] for k in (SHORT, LONG)), asked
