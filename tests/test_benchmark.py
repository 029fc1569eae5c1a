"""The benchmark script runs (quick mode, CPU); it prints figures and asserts no timing."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_engine_vs_seed_benchmark_quick():
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks/engine_vs_seed.py"), "--quick", "--threads", "1",
                        "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    table = [l for l in p.stdout.splitlines() if l.startswith("| ") and "x |" in l]
    assert len(table) == 4, p.stdout
    print(p.stdout)
