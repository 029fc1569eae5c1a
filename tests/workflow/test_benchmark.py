"""The benchmark script runs (quick mode, CPU); it prints figures and asserts no timing."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_vs_seed_benchmark_quick():
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks/engine_vs_seed.py"), "--quick", "--threads", "1",
                        "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = [line for line in p.stdout.splitlines()
             if line.startswith("| ") and "---" not in line and not line.startswith("| case |")]  # rows, no header
    loops = [line for line in lines if "seed " in line or "MLP" in line or "CNN" in line or "ResNet" in line]
    main = [line for line in loops if line.count("|") == 10]
    assert len(main) == 4, p.stdout                              # one row per case: times, ratio, GFLOP/s
    assert all("%" in line.split("|")[-2] for line in main)      # the share of the measured peak
    switches = [line for line in lines if line.count("|") == 6 and ("bf16" in line or "fp32" in line)]
    assert len(switches) >= 2 * 3, p.stdout                       # conv nets: fp32, bf16, channels_last, both
    assert "measured matmul peak: fp32" in p.stdout
    print(p.stdout)


def test_engine_vs_seed_pools_fresh_processes():
    """--processes 2: two child processes, one after another, their rounds pooled into one
    table (2 processes x 2 rounds per row); asserts no timing."""
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks/engine_vs_seed.py"), "--quick", "--processes", "2",
                        "--cases", "Fashion", "--no-switches", "--threads", "1", "--device", "cpu"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("process 1 of 2") == 1 and p.stdout.count("process 2 of 2") == 1, p.stdout
    assert p.stdout.count("measured matmul peak: fp32") == 2                   # one probe per process
    rows = [line for line in p.stdout.splitlines() if line.startswith("| Fashion-MNIST")]
    assert len(rows) == 1, p.stdout                                             # one pooled row
    assert "over 2 process(es) x 2 interleaved rounds" in p.stdout
    assert "fp32 matmul peak measured in each process:" in p.stdout


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


def test_interleaved_rounds_time_several_short_calls():
    """A round of a short function is several consecutive calls (at least min_time seconds)
    and yields seconds per call; a slow function is called once per round. Counts calls,
    asserts no speed."""
    import time

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from timing import interleaved

    calls = {"short": 0, "long": 0}

    def short():
        calls["short"] += 1
        time.sleep(0.002)

    def long():
        calls["long"] += 1
        time.sleep(0.06)

    import torch

    times = interleaved({"short": short, "long": long}, torch.device("cpu"), repeats=3, min_time=0.05)
    assert calls["long"] == 1 + 1 + 3                   # warm-up, calibration, one call per round
    assert calls["short"] > 1 + 1 + 3 * 2               # several calls per round
    assert (calls["short"] - 2) % 3 == 0                # the same count in every round
    assert all(len(v) == 3 for v in times.values())
    assert max(times["short"]) < min(times["long"])     # per call, not per round
    plain = interleaved({"short": short}, torch.device("cpu"), repeats=2)
    assert len(plain["short"]) == 2
