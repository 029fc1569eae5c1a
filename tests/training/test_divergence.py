"""Issue 17: a run is `diverged` at the first epoch where any loss or accuracy column is
non-finite (not only the mean train loss), for single runs and replicates alike, and its
final.json is strict JSON (null where a number is not finite)."""
import json
import math

import pandas as pd
import pytest
import torch

from dlrepro.ioutil import dumps_json, strict_json, write_json
from dlrepro.training import trainer as trainer_mod
from dlrepro.training.run import train_run
from dlrepro.training.trainer import LOSS_ACC_COLUMNS
from dlrepro.data.prepare import save_prepared
from test_engine import make_data, settings


def _strict_load(path):
    """json.loads that refuses NaN / Infinity, as a strict parser does."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token} in {path}")
    return json.loads(open(path).read(), parse_constant=refuse)


@pytest.fixture
def data_file(tmp_path):
    p = tmp_path / "data.pt"
    save_prepared(make_data(n_train=256, n_test=64), p)
    return p


def _blow_up(monkeypatch, column, at_epoch, replicate=0, n_rep=1):
    """Make one metric of one replicate non-finite from epoch ``at_epoch`` (1-based) on:
    evaluation results are rigged, the rest trains for real."""
    real_evaluate, real_run_epoch = trainer_mod.evaluate, trainer_mod.Trainer.run_epoch
    state = {"epoch": 0, "call": 0}

    def run_epoch(self, epoch):
        state["epoch"] = epoch + 1
        return real_run_epoch(self, epoch)

    def evaluate(model, split, prep, autocast):
        loss, acc = real_evaluate(model, split, prep, autocast)
        state["call"] += 1
        this_rep = (state["call"] - 1) % n_rep
        if state["epoch"] >= at_epoch and this_rep == replicate:
            if column == "val_loss":
                loss = math.inf
            elif column == "val_acc":
                acc = math.nan
        return loss, acc

    monkeypatch.setattr(trainer_mod, "evaluate", evaluate)
    monkeypatch.setattr(trainer_mod.Trainer, "run_epoch", run_epoch)


@pytest.mark.parametrize("column", ["val_loss", "val_acc"])
def test_any_non_finite_column_marks_the_run_diverged(tmp_path, data_file, monkeypatch, column):
    """The issue's case: a finite train loss beside an infinite validation loss was `ok`."""
    s = settings(epochs=4, loop={"logged_train_loss": "mean", "train_acc": "running"})
    _blow_up(monkeypatch, column, at_epoch=2)
    out = tmp_path / "run"
    final = train_run(s, str(data_file), str(out / "metrics.csv"), str(out / "final.json"), str(out / "model.pt"),
                      str(tmp_path / "ckpt"), log=lambda m: None)
    assert final["status"] == "diverged" and final["diverged_epoch"] == 2 == final["epochs_completed"]
    assert math.isfinite(final["final"]["train_loss_mean"])   # the train loss alone looked fine
    written = _strict_load(out / "final.json")
    assert written["status"] == "diverged" and written["final"][column] is None
    assert written["best_val_acc"] is None or math.isfinite(written["best_val_acc"])
    assert len(pd.read_csv(out / "metrics.csv")) == 2


@pytest.mark.parametrize("mode", ["loop", "vmap"])
def test_one_replicate_blowing_up_marks_the_run_diverged(tmp_path, data_file, monkeypatch, mode):
    monkeypatch.setenv("DLREPRO_REPLICATES", mode)
    s = settings(epochs=3, replicates=2, model_args={"arch": "plain"}, clip_grad_norm=None,
                 loop={"logged_train_loss": "mean", "train_acc": "running"})
    _blow_up(monkeypatch, "val_loss", at_epoch=2, replicate=1, n_rep=2)
    if mode == "vmap":  # the stacked trainer evaluates every replicate in one call: rig its _eval
        from dlrepro.training.replicates import ReplicaTrainer

        real = ReplicaTrainer._eval

        def _eval(self, split):
            loss, acc = real(self, split)
            if split == "val" and len(self.replica_rows) >= 1:
                loss = [loss[0], math.inf]
            return loss, acc
        monkeypatch.setattr(ReplicaTrainer, "_eval", _eval)
    out = tmp_path / "rep"
    final = train_run(s, str(data_file), str(out / "metrics.csv"), str(out / "final.json"), str(out / "model.pt"),
                      str(tmp_path / "ckpt"), log=lambda m: None)
    assert final["status"] == "diverged" and final["diverged_epoch"] == 2
    written = _strict_load(out / "final.json")
    assert written["replicates"]["final"][1]["val_loss"] is None
    assert math.isfinite(written["replicates"]["final"][0]["val_loss"])


def test_blown_up_training_for_real_is_diverged_and_strict_json(tmp_path, data_file):
    """No rigging: SGD at lr 1e6 on raw pixels overflows; every JSON value stays strict."""
    s = settings(model_args={"arch": "plain"}, optimizer={"name": "sgd", "lr": 1.0e6}, clip_grad_norm=None,
                 preprocess={"scale": False, "normalize": "none"}, epochs=5)
    out = tmp_path / "run"
    final = train_run(s, str(data_file), str(out / "metrics.csv"), str(out / "final.json"), str(out / "model.pt"),
                      str(tmp_path / "ckpt"), log=lambda m: None)
    assert final["status"] == "diverged"
    row = final["final"]
    first_bad = [c for c in LOSS_ACC_COLUMNS if not math.isfinite(row[c])]
    assert first_bad, row
    written = _strict_load(out / "final.json")
    assert all(written["final"][c] is None for c in first_bad)


def test_strict_json_writes_null_for_every_non_finite_number(tmp_path):
    import numpy as np

    obj = {"a": math.inf, "b": [math.nan, 1.5, -math.inf], "c": {"d": np.float32("nan"), "e": np.float64(2.0)},
           "f": np.array([1.0, np.inf]), "g": (np.int64(3), "x"), "h": None}
    assert strict_json(obj) == {"a": None, "b": [None, 1.5, None], "c": {"d": None, "e": 2.0},
                                "f": [1.0, None], "g": [3, "x"], "h": None}
    write_json(tmp_path / "x.json", obj)
    assert _strict_load(tmp_path / "x.json")["f"] == [1.0, None]
    assert "NaN" not in dumps_json(obj) and "Infinity" not in dumps_json(obj)
