"""benchmarks/snakemake_overhead.py runs against the built smoke project (one repeat, no
timing assertions: these machines are shared and noisy)."""
import subprocess
import sys

import pytest

from dlrepro.config import load_config, resolve
from e2e import ROOT

pytestmark = pytest.mark.slow


def test_overhead_benchmark_runs_and_the_rerun_does_nothing(smoke_build):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks/snakemake_overhead.py"),
                        "--built", str(smoke_build), "--repeat", "1", "--breakdown"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    out = p.stdout
    assert "no-op rerun: nothing to be done (no job planned or run)" in out
    for row in ("| (a) DAG build, full preset |", "| (b) no-op rerun, built smoke |",
                "| (c) dry run, built smoke |", "| config resolution"):
        assert row in out, out
    # the per-rule table: one row per rule that ran, its jobs counted from the build
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in out.splitlines()
            if line.startswith("| ") and len(line.split("|")) == 8}
    # (not the benchmark files on disk: a test that edits a sweep value leaves its run's behind)
    raw = load_config(smoke_build / "config.yaml")
    raw["preset"] = "smoke"
    trained = len(resolve(raw).runs)
    assert trained > 100 and int(rows["train"][0]) == trained, out
    for rule in ("run_curves", "overlay_figure", "prepare_data", "reproduction", "report_page"):
        assert rule in rows and float(rows[rule][1]) > 0, (rule, out)
