"""The training engine: determinism, kill-and-resume bit-identity, divergence, loop options."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from dlrepro.data.prepare import save_prepared
from dlrepro.training.run import train_run
from dlrepro.training.trainer import METRIC_COLUMNS, Trainer

ROOT = Path(__file__).resolve().parents[2]
DETERMINISTIC = [c for c in METRIC_COLUMNS if c != "seconds"]  # wall-clock is not


def make_data(n_train=1200, n_test=300, seed=0, channels=1, size=28, dataset="kmnist"):
    g = torch.Generator().manual_seed(seed)
    protos = torch.rand(10, channels, size, size, generator=g) * 255
    y = torch.randint(0, 10, (n_train + n_test,), generator=g)
    x = (protos[y] * 0.5 + torch.rand(len(y), channels, size, size, generator=g) * 128).clamp(0, 255)
    x = x.to(torch.uint8)
    return {"train_x": x[:n_train], "train_y": y[:n_train], "test_x": x[n_train:], "test_y": y[n_train:],
            "classes": [str(i) for i in range(10)], "mean": [0.4] * channels, "std": [0.3] * channels,
            "synthetic": True, "dataset": dataset, "source": "synthetic", "manifest_md5s": {}}


def settings(**over):
    s = {"dataset": "kmnist", "model": "kmnist_mlp", "model_args": {"arch": "both"}, "init": "kaiming_uniform",
         "optimizer": {"name": "adamw", "lr": 0.001, "weight_decay": 0.01}, "clip_grad_norm": 1.0,
         "batch_size": 64, "epochs": 4, "seed": 3, "preprocess": {"scale": True, "normalize": "none"},
         "loop": {"logged_train_loss": "sum", "train_acc": "eval_full"}}
    s.update(over)
    return s


@pytest.fixture
def data_file(tmp_path):
    p = tmp_path / "data.pt"
    save_prepared(make_data(), p)  # with its integrity record, as prepare_data writes it
    return p


def _run(tmp, data_file, s, name="run"):
    out = tmp / name
    final = train_run(s, str(data_file), str(out / "metrics.csv"), str(out / "final.json"),
                      str(out / "model.pt"), str(tmp / "ckpt" / name), log=lambda m: None)
    return pd.read_csv(out / "metrics.csv"), final


def test_learns_and_writes_outputs(tmp_path, data_file):
    df, final = _run(tmp_path, data_file, settings())
    assert list(df.columns) == METRIC_COLUMNS and len(df) == 4
    assert df["val_acc"].iloc[-1] > 0.5  # 10 classes: chance is 0.1
    assert final["status"] == "ok" and final["synthetic"] is True
    assert final["provenance"]["torch"] == torch.__version__
    assert not (tmp_path / "ckpt" / "run" / "checkpoint.pt").exists()  # removed once complete


def test_rerun_is_bit_identical_on_cpu(tmp_path, data_file):
    a, _ = _run(tmp_path, data_file, settings(), "a")
    b, _ = _run(tmp_path, data_file, settings(), "b")
    pd.testing.assert_frame_equal(a[DETERMINISTIC], b[DETERMINISTIC], check_exact=True)


def test_summed_vs_mean_loss_and_running_accuracy():
    data = make_data()
    tr = Trainer(settings(loop={"logged_train_loss": "sum", "train_acc": "running"}), data, torch.device("cpu"))
    row, status = tr.run_epoch(0)
    n_batches = -(-1200 // 64)
    assert status == "ok"
    assert row["train_loss"] == pytest.approx(row["train_loss_mean"] * n_batches)


def test_train_subset_and_eval_full():
    """seed 001 quirk: a 64-sample run reports accuracy over the whole training set."""
    data = make_data()
    tr = Trainer(settings(train_subset=64), data, torch.device("cpu"))
    assert len(tr.splits["train"]) == 64 and len(tr.splits["train_full"]) == 1200


def test_val_split_is_seeded_and_disjoint():
    data = make_data()
    s = settings(val_split={"size": 200, "seed": 5}, eval_test=True)
    a, b = Trainer(s, data, torch.device("cpu")), Trainer(s, data, torch.device("cpu"))
    assert torch.equal(a.splits["val"].y, b.splits["val"].y)
    assert len(a.splits["train"]) == 1000 and len(a.splits["val"]) == 200 and len(a.splits["test"]) == 300


def test_divergence_is_recorded(tmp_path, data_file):
    s = settings(model_args={"arch": "plain"}, optimizer={"name": "sgd", "lr": 1.0e6}, clip_grad_norm=None,
                 preprocess={"scale": False, "normalize": "none"}, epochs=5)
    df, final = _run(tmp_path, data_file, s)
    assert final["status"] == "diverged"
    assert final["diverged_epoch"] == len(df) < 5
    assert (tmp_path / "run" / "final.json").exists()


def test_gradient_accumulation_matches_large_batch():
    """micro-batches of 16 accumulate to the same update as one batch of 64 (no BN/dropout)."""
    data = make_data()
    s = settings(model_args={"arch": "plain"}, clip_grad_norm=None, optimizer={"name": "sgd", "lr": 0.1})
    a = Trainer(s, data, torch.device("cpu"))
    b = Trainer({**s, "micro_batch": 16}, data, torch.device("cpu"))
    a.train_epoch(0)
    b.train_epoch(0)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


KILL_SCRIPT = """
import sys, time, torch
from dlrepro.training import run, trainer
orig = trainer.Trainer.run_epoch
def slow(self, epoch):
    time.sleep(0.4)  # give the killer time to strike mid-run
    return orig(self, epoch)
trainer.Trainer.run_epoch = slow
import json
s = json.loads(sys.argv[1]); out = sys.argv[2]
run.train_run(s, sys.argv[3], out + "/metrics.csv", out + "/final.json", out + "/model.pt",
                 sys.argv[4], log=lambda m: print(m, flush=True))
"""


@pytest.mark.parametrize("kill_after", [1, 3, 5])
def test_sigkill_and_resume_is_bit_identical(tmp_path, data_file, kill_after):
    s = settings(epochs=7)
    ref, _ = _run(tmp_path, data_file, s, "ref")
    out, ckpt = tmp_path / "killed", tmp_path / "ckpt" / "killed"
    out.mkdir()
    cmd = [sys.executable, "-c", KILL_SCRIPT, json.dumps(s), str(out), str(data_file), str(ckpt)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    for line in proc.stdout:
        if line.startswith(f"epoch {kill_after}/") or time.time() > deadline:
            break
    # the checkpoint write follows the log line: strike once it is on disk, inside the next
    # epoch's 0.4 s pause (a fixed sleep loses this race on a loaded machine)
    while time.time() < deadline:
        try:
            if len(pd.read_csv(ckpt / "metrics.partial.csv")) >= kill_after:
                break
        except (OSError, pd.errors.EmptyDataError):
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.csv").exists()  # nothing half written
    partial = pd.read_csv(ckpt / "metrics.partial.csv")
    assert kill_after <= len(partial) < 7
    df, final = _run(tmp_path, data_file, s, "killed")
    assert final["resumed_from_epoch"] == len(partial)
    pd.testing.assert_frame_equal(ref[DETERMINISTIC], df[DETERMINISTIC], check_exact=True)
    assert not ckpt.joinpath("checkpoint.pt").exists()


def test_stale_checkpoint_of_other_settings_is_ignored(tmp_path, data_file):
    s = settings(epochs=2)
    _run(tmp_path, data_file, s, "x")
    ckpt = tmp_path / "ckpt" / "x"
    ckpt.mkdir(parents=True, exist_ok=True)
    torch.save({"hash": "other", "epoch": 1, "rows": [], "status": "ok", "trainer": {}}, ckpt / "checkpoint.pt")
    df, final = _run(tmp_path, data_file, s, "x")
    assert final["resumed_from_epoch"] is None and len(df) == 2


def test_diverged_run_still_renders_figures_and_tables(tmp_path, data_file):
    from PIL import Image

    from dlrepro.outputs.figures import overlay, run_curves
    from dlrepro.outputs.tables import run_table

    s = settings(model_args={"arch": "plain"}, optimizer={"name": "sgd", "lr": 1.0e6}, clip_grad_norm=None,
                 preprocess={"scale": False, "normalize": "none"}, epochs=5)
    _run(tmp_path, data_file, s)
    ok_df, _ = _run(tmp_path, data_file, settings(epochs=2), "ok")
    m, f = [str(tmp_path / r / "metrics.csv") for r in ("run", "ok")], [str(tmp_path / r / "final.json") for r in ("run", "ok")]
    for finals in f:  # the table code reads study/experiment/run keys
        d = json.loads(Path(finals).read_text())
        d["run"] = f"study/exp/{Path(finals).parent.name}"
        Path(finals).write_text(json.dumps(d))
    run_curves(m[0], f[0], str(tmp_path / "curves.png"), title="diverged")
    overlay(m, f, str(tmp_path / "overlay.png"), spec={"y": "val_acc"}, title="overlay")
    table = run_table(f, m, {"kind": "final", "metrics": ["train_acc", "val_acc"]}, {})
    assert list(table["status"]) == ["diverged", "ok"]
    for png in ("curves.png", "overlay.png"):
        Image.open(tmp_path / png).verify()


def test_torch_uses_exactly_the_jobs_threads(tmp_path, data_file):
    out = tmp_path / "t"
    final = train_run(settings(epochs=1), str(data_file), str(out / "m.csv"), str(out / "f.json"),
                      str(out / "w.pt"), str(tmp_path / "c"), threads=2, log=lambda m: None)
    assert final["provenance"]["torch_threads"] == 2


def test_channels_last_matches_the_default_layout():
    """`channels_last: true` (a speed switch for the CNNs) changes the memory layout only."""
    data = make_data(n_train=96, n_test=32, channels=3, size=32)
    s = {"dataset": "cifar10", "model": "resnet_like", "model_args": {"variant": "batchnorm"},
         "optimizer": {"name": "sgd", "lr": 0.001}, "batch_size": 32, "epochs": 2, "seed": 0,
         "preprocess": {"scale": True, "normalize": "dataset"}}
    cpu = torch.device("cpu")
    a, b = Trainer({**s, "channels_last": False}, data, cpu), Trainer({**s, "channels_last": True}, data, cpu)
    assert not a.prep(data["train_x"][:4]).is_contiguous(memory_format=torch.channels_last)
    assert b.prep(data["train_x"][:4]).is_contiguous(memory_format=torch.channels_last)
    ra, rb = a.run_epoch(0)[0], b.run_epoch(0)[0]
    for k in ("train_loss", "val_loss", "val_acc"):  # convolutions sum in another order
        assert ra[k] == pytest.approx(rb[k], rel=1e-3, abs=1e-4)


def test_compile_switch_trains_the_same_model():
    """`compile: true` runs the loops through torch.compile (CPU: inductor with gcc); the
    weights saved are the plain module's."""
    data = make_data(n_train=128, n_test=64)
    s = settings(epochs=1, model_args={"arch": "plain"}, clip_grad_norm=None, batch_size=64)
    a, b = Trainer(s, data, torch.device("cpu")), Trainer({**s, "compile": True}, data, torch.device("cpu"))
    ra, rb = a.run_epoch(0)[0], b.run_epoch(0)[0]
    for k in ("train_loss", "val_loss", "train_acc", "val_acc"):
        assert ra[k] == pytest.approx(rb[k], rel=1e-4, abs=1e-5)
    assert set(b.model_state()) == set(a.model_state())  # no "_orig_mod." prefixes


def test_channels_last_unset_means_conv_nets_on_the_cpu():
    """Unset, a conv net on the CPU trains channels-last (oneDNN's faster layout), an MLP
    and a GPU run keep the default layout; set, the setting wins."""
    from dlrepro.training.trainer import uses_channels_last

    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert uses_channels_last({}, conv, cpu) and uses_channels_last({"channels_last": None}, conv, cpu)
    assert not uses_channels_last({}, mlp, cpu) and not uses_channels_last({}, conv, gpu)
    assert not uses_channels_last({"channels_last": False}, conv, cpu)
    assert uses_channels_last({"channels_last": True}, mlp, cpu) and uses_channels_last({"channels_last": True}, conv, gpu)
    data = make_data(n_train=64, n_test=32, channels=3, size=32)
    s = {"dataset": "cifar10", "model": "resnet_like", "model_args": {"variant": "batchnorm"},
         "optimizer": {"name": "sgd", "lr": 0.001}, "batch_size": 32, "epochs": 1, "seed": 0,
         "preprocess": {"scale": True, "normalize": "dataset"}}
    assert Trainer(s, data, cpu).prep(data["train_x"][:4]).is_contiguous(memory_format=torch.channels_last)
