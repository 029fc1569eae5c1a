"""The benchmark script runs (quick mode, CPU); it prints figures and asserts no timing."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_vs_seed_benchmark_quick():
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks/engine_vs_seed.py"), "--quick", "--threads", "1",
                        "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = [line for line in p.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    loops = [line for line in lines if "seed " in line or "MLP" in line or "CNN" in line or "ResNet" in line]
    main = [line for line in loops if line.count("|") == 10]
    assert len(main) == 4, p.stdout                              # one row per case: times, ratio, GFLOP/s
    assert all("%" in line.split("|")[-2] for line in main)      # the share of the measured peak
    switches = [line for line in lines if line.count("|") == 6 and ("bf16" in line or "fp32" in line)]
    assert len(switches) >= 2 * 3, p.stdout                       # conv nets: fp32, bf16, channels_last, both
    assert "measured matmul peak: fp32" in p.stdout
    print(p.stdout)


def _budget_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("budget", ROOT / "benchmarks/budget.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_budget_sample_counts(base_config):
    """Samples per run of the full preset, counted by hand from the real dataset sizes."""
    from dlrepro.config import resolve

    runs = resolve(base_config).runs
    count = _budget_module().run_samples
    # 10k-sample subset; the seed-001 quirk evaluates all 60k training images + the 10k test split
    assert count(runs["kmnist_tricks/lr_sweep/lr-0.001"].settings) == \
        {"epochs": 16, "train": 10000, "eval": 10000 + 60000, "test": 0}
    assert count(runs["kmnist_tricks/debug/plain"].settings) == \
        {"epochs": 4, "train": 64, "eval": 70000, "test": 0}
    # 50k / 10k seeded split, running train accuracy, the test split once at the end
    assert count(runs["fashion_mlp/best/adam_softmax-true"].settings) == \
        {"epochs": 200, "train": 50000, "eval": 10000, "test": 10000}
    # CIFAR-10: 50k train, validated on the 10k test split (before training: same count)
    assert count(runs["cifar_cnn/p1/p1a_cnn"].settings) == \
        {"epochs": 300, "train": 50000, "eval": 10000, "test": 0}


def test_budget_quick_prints_tables(base_config, tmp_path):
    """--quick on one study: a row per run in the per-run table (and the CSV), the study's
    row and the total in the summary; no timing is asserted."""
    import csv

    from dlrepro.config import resolve

    study = "kmnist_tricks"
    n_runs = len(resolve(base_config).study_runs(study))
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks/budget.py"), "--quick", "--threads", "1",
                        "--device", "cpu", "--study", study, "--csv", str(tmp_path / "runs.csv")],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    out = p.stdout
    assert "ESTIMATES" in out and "extrapolated" in out, out
    assert len([l for l in out.splitlines() if l.startswith(f"| {study}/")]) == n_runs, out
    summary = out.split("## Per study")[1].splitlines()
    assert any(l.startswith(f"| {study} | {n_runs} | ") for l in summary), out
    assert any(l.startswith(f"| **total** | {n_runs} | ") for l in summary), out
    with open(tmp_path / "runs.csv") as fh:
        assert len(list(csv.DictReader(fh))) == n_runs
    print(out)


def test_replicates_benchmark_quick():
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks/replicates.py"), "--quick", "--threads", "1",
                        "--device", "cpu", "-n", "2"], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    table = [l for l in p.stdout.splitlines() if l.startswith("| ") and l.endswith("x |")]
    assert len(table) == 4, p.stdout
    print(p.stdout)
