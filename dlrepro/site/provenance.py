"""Where a page's numbers come from: the git state, package versions, the compute time
of the jobs (Snakemake benchmark files) and the devices/commits the runs recorded."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Iterable

PACKAGES = ("dlrepro", "snakemake", "torch", "torchvision", "numpy", "scipy", "scikit-learn",
            "pandas", "matplotlib", "seaborn", "jsonschema", "pyyaml")


def canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): canonical(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    return obj


def config_hash(obj: Any) -> str:
    """sha256 (16 hex digits) of a mapping, independent of key order."""
    return hashlib.sha256(json.dumps(canonical(obj), sort_keys=True, default=str).encode()).hexdigest()[:16]


def git_state(cwd: str | os.PathLike = ".") -> dict:
    """Commit and dirty flag of the working tree (read-only git calls)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        st = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
                            cwd=cwd, capture_output=True, text=True, timeout=10)
        dirty = bool(st.stdout.strip()) if st.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


def package_versions(names: Iterable[str] = PACKAGES) -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            pass
    return out


def read_benchmark(path: str) -> float:
    """Wall seconds of one Snakemake benchmark TSV (summed over repeats)."""
    try:
        with open(path) as fh:
            header, *rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
        col = header.index("s")
        return float(sum(float(r[col]) for r in rows))
    except (OSError, ValueError, IndexError):
        return 0.0


def all_benchmarks(declared: list[str], bench_dir: str | None) -> list[str]:
    """The declared benchmark files (the page's inputs) plus any other TSV under the
    study's benchmark folder: jobs that feed the study's outputs only indirectly (e.g. a
    NumPy study's runs) keep their benchmarks there too. All of them ran before the page."""
    found = set(declared)
    if bench_dir and os.path.isdir(bench_dir):
        found.update(str(p) for p in Path(bench_dir).rglob("*.tsv"))
    return sorted(found)


def compute_time(benchmarks: list[str], bench_dir: str) -> dict:
    """Total seconds over a study's benchmark files, and per stage (the first folder under
    ``{R}/benchmarks/{study}/``: train, figures, tables, analysis, ...)."""
    by_stage: dict[str, float] = {}
    jobs: dict[str, int] = {}
    total = 0.0
    for p in benchmarks:
        s = read_benchmark(p)
        rel = os.path.relpath(p, bench_dir).replace(os.sep, "/")
        stage = rel.split("/")[0] if "/" in rel and not rel.startswith("..") else "other"
        by_stage[stage] = by_stage.get(stage, 0.0) + s
        jobs[stage] = jobs.get(stage, 0) + 1
        total += s
    return {"total_s": total, "n_jobs": len(benchmarks), "by_stage": by_stage, "jobs": jobs}


def run_provenance(finals: list[str]) -> dict:
    """Devices, torch versions and commits recorded by the training runs."""
    devices: dict[str, int] = {}
    commits: dict[str, int] = {}
    torch_versions: dict[str, int] = {}
    train_s = 0.0
    for p in finals:
        try:
            with open(p) as fh:
                f = json.load(fh)
        except (OSError, ValueError):
            continue
        prov = f.get("provenance") or {}
        dev = prov.get("device", "unknown")
        if prov.get("device_name") and prov.get("device_name") != dev:
            dev = f"{dev} ({prov['device_name']})"
        devices[dev] = devices.get(dev, 0) + 1
        c = str(prov.get("git_commit", "unknown"))[:12] + (" (dirty)" if prov.get("git_dirty") else "")
        commits[c] = commits.get(c, 0) + 1
        if prov.get("torch"):
            torch_versions[prov["torch"]] = torch_versions.get(prov["torch"], 0) + 1
        train_s += float(f.get("train_seconds") or 0.0)
    return {"devices": devices, "commits": commits, "torch": torch_versions, "train_seconds": train_s,
            "n_runs": len(finals)}
