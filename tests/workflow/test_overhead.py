"""benchmarks/snakemake_overhead.py runs against the built smoke project (one repeat, no
timing assertions: these machines are shared and noisy)."""
import subprocess
import sys

import pytest

from e2e import ROOT

pytestmark = pytest.mark.slow


def test_overhead_benchmark_runs_and_the_rerun_does_nothing(smoke_build):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks/snakemake_overhead.py"),
                        "--built", str(smoke_build), "--repeat", "1"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    out = p.stdout
    assert "no-op rerun: nothing to be done (no job planned or run)" in out
    for row in ("| (a) DAG build, full preset |", "| (b) no-op rerun, built smoke |",
                "| (c) dry run, built smoke |", "| config resolution"):
        assert row in out, out
