"""Quantities the engine logs as the write-ups computed them (issue: reproduction you can
trust): Keras's validation loss with the L2 term, unweighted batch means with an uneven last
batch, an evaluation pass after training, the plateau callback's logged lr, the loss of the
last batch of each epoch."""
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from dlrepro.training.run import train_run
from dlrepro.training.trainer import BATCH_MEAN_COLUMNS, METRIC_COLUMNS, Trainer, evaluate, l2_penalty

from test_engine import make_data, settings

CPU = torch.device("cpu")


def _run(tmp_path, s, name="run"):
    data = tmp_path / "data.pt"
    if not data.exists():
        torch.save(make_data(n_train=700, n_test=250), data)
    out = tmp_path / name
    final = train_run(s, str(data), str(out / "metrics.csv"), str(out / "final.json"), str(out / "model.pt"),
                      str(tmp_path / "ckpt" / name), log=lambda m: None)
    return pd.read_csv(out / "metrics.csv"), final


def test_keras_validation_loss_is_cross_entropy_plus_the_l2_term():
    s = settings(epochs=1, l2={"coef": 1e-3, "params": "all"}, model_args={"arch": "plain"})
    tr = Trainer(s, make_data(n_train=300, n_test=100), CPU)
    row, _ = tr.run_epoch(0)
    assert "val_loss_reg" in tr.columns
    with torch.no_grad():   # recompute both parts by hand with the weights after the epoch
        tr.model.eval()
        val = tr.splits["val"]
        ce = F.cross_entropy(tr.model(tr.prep(val.x)), val.y).item()
        pen = 1e-3 * sum(p.pow(2).sum() for p in tr.model.parameters()).item()
    assert row["val_loss"] == pytest.approx(ce, rel=1e-5)
    assert row["val_loss_reg"] == pytest.approx(ce + pen, rel=1e-5)
    assert pen == pytest.approx(l2_penalty(tr.model, s["l2"]).item())


def test_batch_means_weigh_every_batch_alike():
    """250 validation samples in batches of 100: the last batch of 50 weighs as much as a full one."""
    s = settings(epochs=1, loop={"eval_batch_size": 100}, model_args={"arch": "plain"})
    tr = Trainer(s, make_data(n_train=300, n_test=250), CPU)
    row, _ = tr.run_epoch(0)
    assert tr.columns == METRIC_COLUMNS + BATCH_MEAN_COLUMNS
    with torch.no_grad():
        tr.model.eval()
        val = tr.splits["val"]
        losses, accs = [], []
        for i in (0, 100, 200):
            out = tr.model(tr.prep(val.x[i:i + 100]))
            losses.append(F.cross_entropy(out, val.y[i:i + 100]).item())
            accs.append((out.argmax(1) == val.y[i:i + 100]).float().mean().item())
    assert row["val_loss_batchmean"] == pytest.approx(sum(losses) / 3, rel=1e-5)
    assert row["val_acc_batchmean"] == pytest.approx(sum(accs) / 3)
    weighted = (accs[0] * 100 + accs[1] * 100 + accs[2] * 50) / 250
    assert row["val_acc"] == pytest.approx(weighted)             # the usual per-sample mean beside it


def test_running_batch_mean_train_accuracy_by_hand():
    """train_acc_batchmean is the unweighted mean of the per-batch accuracies the loop saw."""
    s = settings(epochs=1, batch_size=128, loop={"eval_batch_size": 128, "train_acc": "running"},
                 model_args={"arch": "plain"}, clip_grad_norm=None, optimizer={"name": "sgd", "lr": 0.0})
    data = make_data(n_train=300, n_test=100)
    tr = Trainer(s, data, CPU)
    perm = torch.randperm(300, generator=torch.Generator().manual_seed(s["seed"]))  # the epoch's order
    with torch.no_grad():   # lr 0: the weights the loop trains stay the ones measured here
        tr.model.train()
        torch.manual_seed(0)
        accs, correct = [], 0
        for i in (0, 128, 256):
            idx = perm[i:i + 128]
            out = tr.model(tr.prep(data["train_x"][idx]))
            hit = (out.argmax(1) == data["train_y"][idx])
            accs.append(hit.float().mean().item())
            correct += hit.sum().item()
    row, _ = tr.run_epoch(0)
    assert row["train_acc_batchmean"] == pytest.approx(sum(accs) / 3)
    assert row["train_acc"] == pytest.approx(correct / 300)


def test_final_evaluation_pass_and_last_batch_loss(tmp_path):
    s = settings(epochs=2, loop={"final_eval": True, "eval_batch_size": 100}, model_args={"arch": "plain"},
                 val_split={"size": 200, "seed": 1}, eval_test=True)
    df, final = _run(tmp_path, s)
    fe = final["final_eval"]
    assert set(fe) == {"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"}
    # the last epoch's validation (after training) and the separate pass see the same weights
    assert fe["val_acc"] == pytest.approx(df["val_acc_batchmean"].iloc[-1])
    assert df["last_batch_loss"].notna().all() and (df["last_batch_loss"] > 0).all()
    plain, final2 = _run(tmp_path, settings(epochs=1), "plain")
    assert final2["final_eval"] is None and list(plain.columns) == METRIC_COLUMNS


def test_final_evaluation_with_a_split_of_its_own_batch_size(tmp_path):
    """loop.final_eval_batch_sizes: the test split in batches of 200 (250 samples: the last
    batch of 50 weighs as much as the full one), train and validation in batches of 100
    (seed 000: its test loader kept the default batch 2048, the others had 1024)."""
    from dlrepro.training.trainer import evaluate_batch_means

    s = settings(epochs=1, loop={"final_eval": True, "eval_batch_size": 100, "final_eval_batch_sizes": {"test": 200}},
                 model_args={"arch": "plain"}, val_split={"size": 200, "seed": 1}, eval_test=True)
    data = make_data(n_train=700, n_test=250)
    tr = Trainer(s, data, CPU)
    tr.run_epoch(0)
    fe = tr.final_eval()
    test = tr.splits["test"]
    with torch.no_grad():
        tr.model.eval()
        accs = [(tr.model(tr.prep(test.x[i:i + 200])).argmax(1) == test.y[i:i + 200]).float().mean().item()
                for i in (0, 200)]
    assert fe["test_acc"] == pytest.approx(sum(accs) / 2)
    assert fe["test_acc"] == pytest.approx(evaluate_batch_means(tr.model, test, tr.prep, tr.autocast, 200)[1])
    for split in ("train", "val"):   # the others keep eval_batch_size
        loss, acc = evaluate_batch_means(tr.model, tr.splits[split], tr.prep, tr.autocast, 100)
        assert (fe[f"{split}_loss"], fe[f"{split}_acc"]) == pytest.approx((loss, acc))
    # without eval_batch_size, a split not named is the per-sample mean over the whole split
    s2 = {**s, "loop": {"final_eval": True, "final_eval_batch_sizes": {"test": 200}}}
    tr2 = Trainer(s2, data, CPU)
    tr2.run_epoch(0)
    fe2 = tr2.final_eval()
    assert fe2["test_acc"] == pytest.approx(evaluate_batch_means(tr2.model, test, tr2.prep, tr2.autocast, 200)[1])
    val_loss, val_acc = evaluate(tr2.model, tr2.splits["val"], tr2.prep, tr2.autocast)
    assert (fe2["val_loss"], fe2["val_acc"]) == pytest.approx((val_loss, val_acc))


def test_plateau_callbacks_logged_lr_is_a_column(tmp_path):
    s = settings(epochs=3, model="resnet_v1", model_args={"depth": 8}, dataset="cifar10",
                 optimizer={"name": "keras_adam", "lr": 0.001}, clip_grad_norm=None,
                 l2={"coef": 1e-4, "params": "kernels"}, loop={},
                 schedule={"name": "keras_step_plateau", "patience": 1, "monitor": "val_loss_reg"})
    data = tmp_path / "data.pt"
    torch.save(make_data(n_train=200, n_test=100, channels=3, size=32), data)
    df, _ = _run(tmp_path, s)
    assert {"lr_logged", "plateau_reduced", "plateau_reductions", "val_loss_reg"} <= set(df.columns)
    assert (df["lr"] == 0.001).all()            # the step schedule overwrites every reduction (as run)
    reduced = df[df["plateau_reduced"]]
    assert (reduced["lr_logged"] < reduced["lr"]).all()
    assert (df[~df["plateau_reduced"]]["lr_logged"] == df[~df["plateau_reduced"]]["lr"]).all()
