"""Issue 17: a checkpoint is keyed on everything the run depends on. Interrupted after
epoch 1, a run whose inputs then change (its settings, the prepared data, the init_from
model, the LR bounds) starts fresh, says why, and ends exactly as a clean run on the new
inputs; with nothing changed it resumes, bit-identical."""
import json

import pandas as pd
import pytest
import torch

from dlrepro.data.prepare import save_prepared
from dlrepro.models import build
from dlrepro.training.run import train_run
from test_engine import DETERMINISTIC, make_data, settings


class Interrupted(Exception):
    pass


def _interrupt_after_first_epoch(msg):
    if msg.startswith("epoch 2/"):  # logged before epoch 2's checkpoint: epoch 1's stays
        raise Interrupted


def _base(tmp_path):
    files = {}
    for name, seed in (("data_a", 0), ("data_b", 1)):
        files[name] = tmp_path / f"{name}.pt"
        save_prepared(make_data(n_train=256, n_test=64, seed=seed), files[name])
    for name, seed in (("init_a", 10), ("init_b", 11)):
        torch.manual_seed(seed)
        files[name] = tmp_path / f"{name}.pt"
        torch.save(build("kmnist_mlp", arch="plain").state_dict(), files[name])
    for name, lo in (("bounds_a", 1e-3), ("bounds_b", 2e-3)):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps({"lr_min": lo, "lr_max": 1e-2}))
    s = settings(epochs=3, model_args={"arch": "plain"}, optimizer={"name": "sgd", "lr": 0.01},
                 schedule={"name": "clr", "mode": "triangular", "step_size": 5, "bounds_from": "e/range"},
                 loop={"logged_train_loss": "mean", "train_acc": "running"})
    return files, s


def _train(tmp_path, name, s, data, init, bounds, ckpt, log=lambda m: None):
    out = tmp_path / name
    final = train_run(s, str(data), str(out / "metrics.csv"), str(out / "final.json"), str(out / "model.pt"),
                      str(ckpt), log=log, run_key="s/e/r", init_path=str(init), lr_bounds_path=str(bounds))
    return pd.read_csv(out / "metrics.csv"), final


# (what changes between the interrupted run and the rerun, the log names it as)
CHANGES = [
    ("nothing", None),
    ("settings", "the run's settings"),
    ("data", "the prepared data"),
    ("init_from", "the init_from model"),
    ("lr_bounds", "the LR bounds"),
]


@pytest.mark.parametrize("change,words", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_resume_after_a_change_of_inputs_starts_fresh(tmp_path, change, words):
    files, s = _base(tmp_path)
    before = {"s": s, "data": files["data_a"], "init": files["init_a"], "bounds": files["bounds_a"]}
    after = dict(before)
    if change == "settings":
        after["s"] = {**s, "seed": s["seed"] + 1}
    elif change == "data":
        after["data"] = files["data_b"]
    elif change == "init_from":
        after["init"] = files["init_b"]
    elif change == "lr_bounds":
        after["bounds"] = files["bounds_b"]
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Interrupted):
        _train(tmp_path, "killed", before["s"], before["data"], before["init"], before["bounds"], ckpt,
               log=_interrupt_after_first_epoch)
    assert (ckpt / "checkpoint.pt").exists()

    lines = []
    df, final = _train(tmp_path, "rerun", after["s"], after["data"], after["init"], after["bounds"], ckpt,
                       log=lines.append)
    clean, _ = _train(tmp_path, "clean", after["s"], after["data"], after["init"], after["bounds"],
                      tmp_path / "ckpt_clean")
    pd.testing.assert_frame_equal(clean[DETERMINISTIC], df[DETERMINISTIC], check_exact=True)
    if change == "nothing":
        assert final["resumed_from_epoch"] == 1
        assert "resumed s/e/r from its checkpoint after epoch 1" in lines
    else:
        assert final["resumed_from_epoch"] is None
        fresh = [m for m in lines if m.startswith("starting s/e/r fresh")]
        assert len(fresh) == 1 and words in fresh[0], lines[:3]
        assert all(w not in fresh[0] for c, w in CHANGES if w and c != change)  # only what changed
    assert final["inputs"]["data"] == json.loads((tmp_path / "clean" / "final.json").read_text())["inputs"]["data"]
    assert not (ckpt / "checkpoint.pt").exists()
