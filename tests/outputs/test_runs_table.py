"""One tidy table of all runs (dlrepro.outputs.runs_table): a row per final.json."""
import json

import pandas as pd
import pytest

from dlrepro.outputs.runs_table import flatten, run_row, runs_table


def _final(key, settings, **kw):
    f = {"run": key, "settings": settings, "status": "ok", "epochs_completed": 2, "synthetic": True,
         "final": {"epoch": 2, "train_loss": 0.5, "train_loss_mean": 0.55, "train_acc": 0.8, "val_loss": 0.6,
                   "val_acc": 0.75, "lr": 0.01, "seconds": 1.5},
         "best_val_acc": 0.76, "test": None, "n_params": 1234, "train_seconds": 3.0, "wall_seconds": 4.5,
         "provenance": {"device": "cpu", "device_name": "x86_64"}}
    f.update(kw)
    return f


S = {"dataset": "kmnist", "model": "kmnist_mlp", "model_args": {"arch": "plain", "hidden": [256, 256]},
     "optimizer": {"name": "adamw", "lr": 0.001}, "batch_size": 64, "epochs": 2, "seed": 0, "loop": {}}


def test_flatten_dots_nested_settings_and_writes_lists_as_json():
    assert flatten(S) == {"dataset": "kmnist", "model": "kmnist_mlp", "model_args.arch": "plain",
                          "model_args.hidden": "[256, 256]", "optimizer.name": "adamw", "optimizer.lr": 0.001,
                          "batch_size": 64, "epochs": 2, "seed": 0, "loop": None}


def test_a_row_holds_identity_status_metrics_and_every_setting():
    row = run_row(_final("kmnist_tricks/debug/plain", S, test={"loss": 0.7, "acc": 0.7}))
    assert (row["study"], row["experiment"], row["run"], row["status"]) == ("kmnist_tricks", "debug", "plain", "ok")
    assert row["val_acc"] == 0.75 and row["test_acc"] == 0.7 and row["test_loss"] == 0.7
    assert row["optimizer.lr"] == 0.001 and row["model_args.arch"] == "plain"
    assert row["device"] == "cpu" and row["synthetic"] is True and row["train_seconds"] == 3.0
    assert not any(c.endswith("_std") for c in row), "no spread without replicates"


def test_replicates_give_the_spread_over_seeds():
    final = _final("kmnist_tricks/lr_sweep_seeds/lr-0.001", {**S, "replicates": 3},
                   test={"loss": 0.7, "acc": 0.7, "per_replicate": {"loss": [0.6, 0.7, 0.8], "acc": [0.6, 0.7, 0.8]}})
    final["final"]["val_acc_std"] = 0.02
    final["replicates"] = {"n": 3, "best_val_acc": [0.7, 0.75, 0.8], "test": {"loss": [0.6, 0.7, 0.8],
                                                                               "acc": [0.6, 0.7, 0.8]}}
    row = run_row(final)
    assert row["replicates"] == 3 and row["val_acc_std"] == 0.02
    assert row["test_acc_std"] == pytest.approx(0.1) and row["best_val_acc_std"] == pytest.approx(0.05)


def test_a_setting_named_like_a_column_is_refused():
    with pytest.raises(ValueError, match="clash"):
        run_row(_final("a/b/c", {**S, "status": "x"}))


def test_the_table_reads_back_with_pandas(tmp_path):
    paths = []
    for i, (key, s) in enumerate([("a/e/r1", S), ("a/e/r2", {**S, "optimizer": {"name": "sgd", "lr": 0.1,
                                                                               "momentum": 0.9}})]):
        p = tmp_path / f"{i}.json"
        p.write_text(json.dumps(_final(key, s)))
        paths.append(str(p))
    runs_table(paths).to_csv(tmp_path / "runs.csv", index=False)
    df = pd.read_csv(tmp_path / "runs.csv")
    assert list(df["run"]) == ["r1", "r2"] and list(df.columns[:4]) == ["study", "experiment", "run", "status"]
    assert list(df["optimizer.lr"]) == [0.001, 0.1] and df["optimizer.momentum"].isna().tolist() == [True, False]
