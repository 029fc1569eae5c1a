"""Snakemake's own overhead: DAG build of the full preset and a no-op rerun of a built smoke project.

(a) DAG build: `snakemake -n --quiet` of the full preset in the project (no data there,
    so every job is planned);
(b) no-op rerun: `snakemake --cores 2 --config preset=smoke` in a project where the smoke
    preset is already built; the output must say that nothing was done;
(c) `snakemake -n` of the smoke preset in that built project;
(d) with a build or --breakdown: the smoke DAG per rule: jobs, median and total job wall
    time (each job's benchmark file), and the start-up floor of the rule's script without
    the job server (a fresh interpreter running only the script's imports), as a share of
    the median job (with the job server, a job forks from a process that has them);
then a breakdown of one start-up: interpreter, Snakemake's import, Snakemake reading
config.yaml, the project imports that rules/*.smk make, and the config resolution of
rules/common.smk (the rest of a no-op is Snakemake parsing the rules, building the DAG
and checking outputs).

    python benchmarks/snakemake_overhead.py --built /tmp/smokebuild   # a built smoke copy
    python benchmarks/snakemake_overhead.py --build                   # build one first (5-10 min)
    python benchmarks/snakemake_overhead.py --build --jobserver off   # each job in a fresh Python
    python benchmarks/snakemake_overhead.py --built DIR --repeat 1    # quick (the test)
    python benchmarks/snakemake_overhead.py --built DIR --breakdown   # + the per-rule table

Prints markdown tables (min and median of --repeat runs); asserts nothing about speed.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
SMOKE = ["--cores", "2", "--config", "preset=smoke"]
NOTHING = "Nothing to be done"

# Run in a fresh interpreter: in-process timings of one start-up's project-side steps.
BREAKDOWN = r"""
import json, re, sys, time
from pathlib import Path
t = {}
t0 = time.perf_counter(); from snakemake.cli import main; t["snakemake"] = time.perf_counter() - t0
from snakemake.common.configfile import load_configfile
t0 = time.perf_counter(); load_configfile("config.yaml"); t["configfile"] = time.perf_counter() - t0
sys.path.insert(0, ".")
lines = [l.strip() for f in ["Snakefile", *sorted(Path("rules").glob("*.smk"))]
         for l in Path(f).read_text().splitlines() if re.match(r"\s*(from|import) dlrepro\b", l)]
t0 = time.perf_counter(); exec("\n".join(lines)); t["dlrepro"] = time.perf_counter() - t0
from dlrepro.config import load_yaml, resolve
raw = {**load_yaml("config.yaml"), "preset": "smoke"}
t0 = time.perf_counter(); resolve(raw, root="."); t["resolve"] = time.perf_counter() - t0
t["heavy"] = [m for m in ("torch", "torchvision", "scipy", "matplotlib", "sklearn") if m in sys.modules]
t["imports"] = lines
print(json.dumps(t))
"""


def timed(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}) in {cwd}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return dt, p


def repeat(cmd: list[str], cwd: Path, n: int, must_say: str | None = None) -> list[float]:
    times = []
    for _ in range(n):
        dt, p = timed(cmd, cwd)
        out = p.stdout + p.stderr
        if must_say and (must_say not in out or re.search(r"^(local)?rule \w+:$", out, re.M)):
            sys.exit(f"{' '.join(cmd)} in {cwd} did not say {must_say!r}:\n{out[-3000:]}")
        times.append(dt)
    return times


def copy_project(src: Path, dest: Path) -> Path:
    """Tracked and untracked, not ignored files (as tests/e2e.py copies the project)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=src, check=True,
                           capture_output=True, text=True).stdout.split()
    for f in files:
        if (src / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / f, dest / f)
    return dest


def job_benchmarks(built: Path) -> dict[str, list[Path]]:
    """Rule -> the benchmark files of its jobs, from a forced dry run of the built project."""
    _, p = timed([SNAKEMAKE, "-n", "--forceall", *SMOKE], built)
    rules: dict[str, list[Path]] = {}
    rule = None
    for line in p.stdout.splitlines():
        m = re.match(r"(?:local)?rule (\w+):$", line.strip())
        if m:
            rule = m.group(1)
        elif line.strip().startswith("benchmark:") and rule:
            rules.setdefault(rule, []).append(built / line.split(":", 1)[1].strip())
    return rules


def rule_scripts(project: Path) -> dict[str, Path]:
    """Rule -> its workflow script (``script:`` in rules/*.smk, else workflow_scripts/<rule>.py)."""
    found = {}
    for f in sorted((project / "rules").glob("*.smk")):
        chunks = re.split(r"^\s*(?:local)?rule (\w+):", f.read_text(), flags=re.M)
        for rule, body in zip(chunks[1::2], chunks[2::2]):
            m = re.search(r"\bscript:\s*\n\s+\"\.\./(workflow_scripts/\w+\.py)\"", body)
            if m:
                found[rule] = project / m.group(1)
    return found


def startup_floor(script: Path, cwd: Path, n: int = 3) -> float:
    """Median wall time of a fresh interpreter running only the script's imports."""
    imports = [l for l in script.read_text().splitlines() if re.match(r"(from|import) \w", l)]
    code = "import sys; sys.path.insert(0, '.')\n" + "\n".join(imports)
    return statistics.median(timed([sys.executable, "-c", code], cwd)[0] for _ in range(n))


def breakdown(built: Path, project: Path) -> None:
    rules = job_benchmarks(built)
    scripts = rule_scripts(project)
    print("\nThe smoke DAG per rule (job wall times from each job's benchmark file; start-up: what\n"
          "a job pays without the job server, a fresh interpreter importing what the rule's script\n"
          "imports, median of 3)\n")
    print("| rule | jobs | median job s | total job s | start-up s | start-up share |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: |")
    total = 0.0
    for rule, files in sorted(rules.items(), key=lambda kv: -len(kv[1])):
        secs = [float(f.read_text().splitlines()[1].split("\t")[0]) for f in files if f.is_file()]
        if not secs:
            continue
        total += sum(secs)
        med = statistics.median(secs)
        script = scripts.get(rule) or project / "workflow_scripts" / f"{rule}.py"
        if script.is_file():
            st = startup_floor(script, built)
            start_cols = f"{st:.2f} | {min(st / med, 1.0):.0%}" if med > 0 else f"{st:.2f} | -"
        else:
            start_cols = "- | -"
        print(f"| {rule} | {len(secs)} | {med:.2f} | {sum(secs):.0f} | {start_cols} |", flush=True)
    print(f"\nall jobs: {total:.0f} s of job wall time")


def compare_jobserver(project: Path, rounds: int, studies: list[str] | None) -> None:
    """The same smoke build from nothing, with the job server and without, interleaved."""
    extra = [f"studies=[{', '.join(studies)}]"] if studies else []
    times: dict[str, list[float]] = {"auto": [], "off": []}
    jobs = None
    for r in range(rounds):
        for mode in times:
            work = copy_project(project, Path(tempfile.mkdtemp(prefix=f"smoke-{mode}-")))
            dt, p = timed([SNAKEMAKE, *SMOKE, f"jobserver={mode}", *extra], work)
            jobs = re.findall(r"(\d+) of (\d+) steps \(100%\) done", p.stdout + p.stderr) or jobs
            times[mode].append(dt)
            print(f"round {r + 1}: jobserver={mode}: {dt:.0f} s", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    n = jobs[-1][1] if jobs else "?"
    print(f"\nsmoke build from nothing ({'studies ' + ', '.join(studies) if studies else 'all studies'}, "
          f"{n} jobs, --cores 2), {rounds} interleaved round(s)\n")
    print("| jobserver | min s | median s |\n| --- | ---: | ---: |")
    for mode, t in times.items():
        print(f"| {mode} | {min(t):.0f} | {statistics.median(t):.0f} |")
    print(f"\nratio off / auto (medians): {statistics.median(times['off']) / statistics.median(times['auto']):.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", type=Path, default=ROOT, help="project for the full-preset DAG build")
    ap.add_argument("--built", type=Path, help="a project where the smoke preset is built completely")
    ap.add_argument("--build", action="store_true", help="without --built: build the smoke preset in a temp copy")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--breakdown", action="store_true", help="the per-rule table (always after --build)")
    ap.add_argument("--compare-jobserver", type=int, default=0, metavar="ROUNDS",
                    help="only: build from nothing with jobserver=auto and =off, interleaved, ROUNDS times")
    ap.add_argument("--studies", nargs="+", default=None, help="with --compare-jobserver: these studies only")
    ap.add_argument("--jobserver", choices=["auto", "off"], default="auto",
                    help="the build's config `jobserver` (off: every job in a fresh Python)")
    args = ap.parse_args()

    if args.compare_jobserver:
        compare_jobserver(args.project, args.compare_jobserver, args.studies)
        return
    built = args.built
    if built is None:
        if not args.build:
            ap.error("give --built DIR (a built smoke project) or --build")
        built = copy_project(args.project, Path(tempfile.mkdtemp(prefix="smokebuild-")))
        print(f"building the smoke preset in {built} ...", flush=True)
        dt, _ = timed([SNAKEMAKE, *SMOKE, f"jobserver={args.jobserver}"], built)
        print(f"smoke DAG built from nothing in {dt:.0f} s (wall; jobserver={args.jobserver})", flush=True)

    rows = [
        ("(a) DAG build, full preset", [SNAKEMAKE, "-n", "--quiet"], args.project, None),
        ("(b) no-op rerun, built smoke", [SNAKEMAKE, *SMOKE], built, NOTHING),
        ("(c) dry run, built smoke", [SNAKEMAKE, "-n", *SMOKE], built, NOTHING),
    ]
    print(f"\nSnakemake overhead ({args.repeat} run(s) each; {SNAKEMAKE})\n")
    print("| what | command | dir | min s | median s |\n| --- | --- | --- | ---: | ---: |")
    for label, cmd, cwd, must_say in rows:
        t = repeat(cmd, cwd, args.repeat, must_say)
        shown = "snakemake " + " ".join(cmd[1:])
        print(f"| {label} | `{shown}` | {cwd} | {min(t):.2f} | {statistics.median(t):.2f} |", flush=True)
    print(f"\nno-op rerun: {NOTHING.lower()} (no job planned or run)")

    start, _ = timed([sys.executable, "-c", "pass"], built)
    _, p = timed([sys.executable, "-c", BREAKDOWN], built)
    b = json.loads(p.stdout)
    print("\nOne start-up, in a fresh interpreter (one run each)\n")
    print("| step | s |\n| --- | ---: |")
    print(f"| interpreter start (`python -c pass`) | {start:.2f} |")
    print(f"| `from snakemake.cli import main` | {b['snakemake']:.2f} |")
    print(f"| Snakemake reads config.yaml (`configfile:`; yte, pure-Python YAML) | {b['configfile']:.2f} |")
    print(f"| project imports of Snakefile and rules/*.smk (after Snakemake's) | {b['dlrepro']:.2f} |")
    print(f"| config resolution (`dlrepro.config.resolve`, smoke) | {b['resolve']:.2f} |")
    print(f"\nproject imports: {'; '.join(b['imports'])}")
    print(f"heavy modules loaded by then: {', '.join(b['heavy']) or 'none'}")
    if args.breakdown or args.built is None:
        breakdown(built, args.project)


if __name__ == "__main__":
    main()
