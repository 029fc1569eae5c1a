"""`snakemake --lint` is clean (conda env, logs, no mixed rules/functions, no hard-coded prefixes)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_snakemake_lint_is_clean():
    p = subprocess.run([str(Path(sys.executable).with_name("snakemake")), "--lint"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "Lints for" not in out, out[-4000:]
