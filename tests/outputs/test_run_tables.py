"""Run tables: epochs to a target loss with a learning rate tuned per batch size (write-up
000's BGD / SGD / mini-batch comparison), final.json key paths as table metrics, and learning
curves drawn with a write-up's batch means."""
import json

import pandas as pd
import pytest

from dlrepro.outputs.figures import run_curves
from dlrepro.outputs.tables import epochs_to_target_table, final_table, pick_tuned


def _final(run, bs, lr, losses, status="ok"):
    return ({"run": f"s/gd/{run}", "settings": {"batch_size": bs, "optimizer": {"name": "sgd", "lr": lr}},
             "train_samples": 100, "epochs_completed": len(losses), "status": status,
             "provenance": {"device": "cpu"}, "synthetic": True},
            pd.DataFrame({"epoch": range(1, len(losses) + 1), "train_loss_mean": losses,
                          "seconds": [1.0] * len(losses)}))


def test_tuned_pick_per_batch_size():
    runs = [_final("a", 100, 0.1, [2.0, 1.0, 0.5, 0.4]),     # target at epoch 3, loss 0.5
            _final("b", 100, 0.3, [2.0, 0.9, 0.45, 0.3]),    # epoch 3 too, lower loss there: chosen
            _final("c", 100, 1.0, [2.0, float("nan")], "diverged"),
            _final("d", 1, 0.001, [0.9, 0.7]),               # nothing reaches 0.6: lowest final loss
            _final("e", 1, 0.003, [0.8, 0.65]),
            _final("f", 1, 0.01, [1.0, float("nan")], "diverged")]
    t = epochs_to_target_table([f for f, _ in runs], [m for _, m in runs], 0.6,
                               {"per": "batch_size", "over": "optimizer.lr"})
    t = t.set_index("run")
    assert list(t.index[t["chosen"]]) == ["b", "e"]
    assert t.loc["b", "epochs_to_target"] == 3 and t.loc["b", "loss_at_target"] == 0.45
    assert t.loc["b", "lr"] == 0.3 and t.loc["b", "grid_edge"] is False   # 0.3 is inside 0.1 .. 1.0
    assert t.loc["e", "grid_edge"] is False and pd.isna(t.loc["e", "epochs_to_target"])
    assert t.loc["a", "seconds_to_target"] == 3.0 and t.loc["c", "status"] == "diverged"
    untuned = epochs_to_target_table([f for f, _ in runs], [m for _, m in runs], 0.6)
    assert "chosen" not in untuned and len(untuned) == 6


def test_a_pick_at_the_edge_of_its_grid_says_so():
    t = pd.DataFrame({"batch_size": [1, 1], "lr": [0.1, 0.3], "status": ["ok", "ok"],
                      "epochs_to_target": [None, 2], "loss_at_target": [None, 0.5], "final_train_loss": [0.7, 0.4]})
    t = pick_tuned(t, "batch_size", "lr")
    assert list(t["chosen"]) == [False, True] and t.loc[1, "grid_edge"] is True


def test_final_table_reads_final_json_key_paths():
    f = {"run": "s/best/adam", "status": "ok", "epochs_completed": 2, "synthetic": False,
         "final": {"train_acc": 0.9}, "test": {"acc": 0.87}, "final_eval": {"train_acc": 0.9016}}
    t = final_table([f], ["final_eval.train_acc", "train_acc"],
                    {"s/best/adam": {"final_eval_train_acc": 0.9, "train_acc": 0.91}}, {})
    row = t.iloc[0]
    assert row["final_eval.train_acc"] == 0.9016 and row["final_eval.train_acc_writeup"] == 0.9
    assert row["final_eval.train_acc_diff"] == pytest.approx(0.0016) and row["train_acc_writeup"] == 0.91


def test_learning_curves_of_a_batch_mean_run(tmp_path):
    df = pd.DataFrame({"epoch": [1, 2], "train_loss": [2.0, 1.9], "val_loss": [2.1, 2.0], "train_acc": [0.3, 0.4],
                       "val_acc": [0.2, 0.3], "train_acc_batchmean": [0.31, 0.41],
                       "val_acc_batchmean": [0.21, 0.31], "val_loss_batchmean": [2.1, 2.0]})
    df.to_csv(tmp_path / "m.csv", index=False)
    (tmp_path / "f.json").write_text(json.dumps({"settings": {"loop": {}}, "status": "ok", "synthetic": True,
                                                 "epochs_completed": 2}))
    run_curves(str(tmp_path / "m.csv"), str(tmp_path / "f.json"), str(tmp_path / "c.png"), "best/adam")
    assert (tmp_path / "c.png").stat().st_size > 1000
