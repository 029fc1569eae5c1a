"""With ``loop.eval_before_train`` (write-up 004: every epoch validates, then trains) the
write-up's extra validation columns are measured where its validation is: before the epoch's
training, with the same weights as ``val_loss``/``val_acc``. Epoch 1 is the untrained net."""
import pytest
import torch

from dlrepro.training.trainer import Trainer, evaluate_batch_means, l2_penalty

from test_engine import make_data, settings

CPU = torch.device("cpu")


def _trainer(before: bool, **over) -> Trainer:
    s = settings(epochs=2, batch_size=64, loop={"eval_before_train": before, "eval_batch_size": 100,
                                                "train_acc": "running", "logged_train_loss": "mean"},
                 model_args={"arch": "plain"}, l2={"coef": 1e-3, "params": "all"}, **over)
    return Trainer(s, make_data(n_train=300, n_test=250), CPU)


def _measure(tr: Trainer) -> tuple[float, float, float]:
    """(batch-mean val loss, batch-mean val acc, L2 term) with the trainer's current weights."""
    loss, acc = evaluate_batch_means(tr.model, tr.splits["val"], tr.prep, tr.autocast, 100)
    return loss, acc, l2_penalty(tr.model, tr.s["l2"]).item()


@pytest.mark.parametrize("before", [True, False])
def test_batch_means_and_l2_term_are_taken_with_the_validated_weights(before):
    tr = _trainer(before)
    for epoch in range(2):
        pre = _measure(tr)
        row, _ = tr.run_epoch(epoch)
        post = _measure(tr)
        want = pre if before else post
        assert row["val_loss_batchmean"] == pytest.approx(want[0], rel=1e-6)
        assert row["val_acc_batchmean"] == pytest.approx(want[1])
        assert row["val_loss_reg"] == pytest.approx(row["val_loss"] + want[2], rel=1e-6)
        # the per-sample validation loss beside it saw the same weights: with 100 + 100 + 50
        # samples the two means differ only by the weight of the last batch
        assert abs(row["val_loss_batchmean"] - row["val_loss"]) < 0.2 * row["val_loss"]
        assert pre[0] != pytest.approx(post[0], rel=1e-6)      # training moved the weights


def test_the_extra_pass_changes_nothing_else():
    """The batch-mean pass runs in eval mode without gradients: the run's other columns are
    those of the same run without it (it neither draws random numbers nor updates batch norm)."""
    a = _trainer(True)
    s = dict(a.s, loop={k: v for k, v in a.s["loop"].items() if k != "eval_batch_size"})
    b = Trainer(s, make_data(n_train=300, n_test=250), CPU)
    for epoch in range(2):
        ra, _ = a.run_epoch(epoch)
        rb, _ = b.run_epoch(epoch)
        for k in ("train_loss", "train_acc", "val_loss", "val_acc", "val_loss_reg"):
            assert ra[k] == rb[k], k
