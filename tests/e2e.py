"""Shared helpers for the end-to-end tests: a copy of the project and Snakemake runs in it."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def project_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return [f for f in out if (ROOT / f).is_file()]


def copy_project(dest: Path) -> Path:
    for f in project_files():
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f)
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 3600) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "--cores", "2", "--config", "preset=smoke", *args]
    p = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-8000:]}")
    return p


def planned_jobs(workdir: Path, *args: str) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job a dry run plans."""
    p = snakemake(workdir, "-n", *args)
    jobs, rule = [], None
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            rule = line.split()[1].rstrip(":")
            jobs.append((rule, {}))
        elif line.startswith("wildcards:") and jobs:
            for kv in line[len("wildcards:"):].split(","):
                k, _, v = kv.strip().partition("=")
                jobs[-1][1][k] = v
    return jobs


def drop_run_numbers(ledger: dict, run: str) -> None:
    """Remove a run's numbers from a parsed ledger, and the claims that name them."""
    from dlrepro.config.ledger import expand_number

    ledger["numbers"] = [n for n in ledger["numbers"] if n.get("run") != run]
    ids = {x["id"] for n in ledger["numbers"] for x in expand_number(n)}
    ledger["claims"] = [c for c in ledger.get("claims", [])
                        if all(not isinstance(o, str) or o in ids
                               for o in [c.get("subject"), c.get("left"), c.get("right"), *c.get("among", [])])]


def edit_ledger(workdir: Path, study: str, fn) -> str:
    """Apply ``fn`` to the parsed ledger file of a study in a project copy; returns the old
    text, to restore it."""
    import yaml

    f = workdir / "studies" / f"{study}.printed.yaml"
    old = f.read_text()
    led = yaml.safe_load(old)
    fn(led)
    f.write_text(yaml.safe_dump(led, sort_keys=False))
    return old
