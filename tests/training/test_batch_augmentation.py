"""Batch augmentation options of the engine (write-up 003 P4): ``augment.repeat_layout``
(``batch``: an image's M copies in one step; ``spread``: the M x N copies shuffled through
the epoch), ``augment.cutout_draw`` (``step``: masks redrawn; ``once``: drawn before
training), the no-op mask variant (plain M-fold repetition), and the linear LR sweep of
the printed P2 Q1 cell (a triangular CyclicLR)."""
from collections import Counter

import pytest
import torch

from dlrepro.config import replicates_problem
from dlrepro.training import augment as A
from dlrepro.training.trainer import Trainer, run_schedule

N, M, B = 12, 4, 3


def identity_data(n=N, size=28):
    """Image i is constant (i + 1) * 10: a batch tells which image each copy is, and
    where its cutout square (zeros) sits."""
    x = torch.stack([torch.full((1, size, size), (i + 1) * 10, dtype=torch.uint8) for i in range(n)])
    y = torch.arange(n) % 10
    return {"train_x": x, "train_y": y, "test_x": x[:4], "test_y": y[:4], "classes": [str(i) for i in range(10)],
            "mean": [0.4], "std": [0.3], "synthetic": True, "dataset": "test", "source": "synthetic",
            "manifest_md5s": {}}


def settings(augment, **over):
    s = {"dataset": "kmnist", "model": "kmnist_mlp", "model_args": {"arch": "both"},
         "optimizer": {"name": "sgd", "lr": 0.01}, "batch_size": B, "epochs": 2, "seed": 5,
         "preprocess": {"scale": True, "normalize": "none"}, "augment": augment}
    s.update(over)
    return s


class Recorder(torch.nn.Module):
    """Wraps the model: keeps every training batch the trainer feeds it."""

    def __init__(self, model):
        super().__init__()
        self.model, self.batches = model, []

    def forward(self, x):
        if self.model.training:
            self.batches.append(x.detach().clone())
        return self.model(x)


def record_epochs(s, epochs=2):
    tr = Trainer(s, identity_data(), torch.device("cpu"))
    tr.net = Recorder(tr.model)
    per_epoch, outs = [], []
    for e in range(epochs):
        tr.net.batches = []
        outs.append(tr.train_epoch(e))
        per_epoch.append(list(tr.net.batches))
    return tr, per_epoch, outs


def image_ids(x):
    """Which image each copy of a batch is (its largest pixel: cutout only adds zeros)."""
    return [round(v) // 10 - 1 for v in (x.flatten(1).amax(1) * 255).tolist()]


def zero_masks(x):
    return [tuple((img[0] == 0).flatten().nonzero().flatten().tolist()) for img in x]


def masks_by_image(batches):
    out: dict[int, list] = {}
    for x in batches:
        for i, mk in zip(image_ids(x), zero_masks(x)):
            out.setdefault(i, []).append(mk)
    return {i: sorted(v) for i, v in out.items()}


# ----------------------------------------------------------------------------- layouts
def test_batch_layout_keeps_an_images_copies_in_one_step():
    tr, epochs, outs = record_epochs(settings({"repeat": M, "cutout": 12}))
    for batch in epochs[0]:
        ids = image_ids(batch)
        assert len(ids) == B * M and len(set(ids)) == B                 # B images, M copies each
        assert all(ids[k * M:(k + 1) * M] == [ids[k * M]] * M for k in range(B))   # side by side
    assert outs[0]["n_batches"] == N // B and outs[0]["seen"] == N * M


def test_spread_layout_shuffles_the_m_fold_set_through_the_epoch():
    tr, epochs, outs = record_epochs(settings({"repeat": M, "cutout": 12, "repeat_layout": "spread"}))
    for batches, out in zip(epochs, outs):
        assert out["n_batches"] == N // B and out["seen"] == N * M          # B x M per step, same steps
        assert all(len(b) == B * M for b in batches)
        counts = Counter(i for b in batches for i in image_ids(b))
        assert counts == {i: M for i in range(N)}                          # every copy once per epoch
        # the copies of one image are spread over the epoch's steps, not kept together
        assert max(len(set(image_ids(b))) for b in batches) > B
        assert any(len({k for k, b in enumerate(batches) if i in image_ids(b)}) > 1 for i in range(N))
    assert tr.steps_per_epoch == N // B


# ----------------------------------------------------------------------------- mask draws
def test_static_masks_are_drawn_once_before_training():
    s = settings({"repeat": M, "cutout": 12, "repeat_layout": "spread", "cutout_draw": "once"})
    tr, epochs, _ = record_epochs(s, epochs=3)
    assert tr.static_centres is not None and all(len(c) == N * M for c in tr.static_centres)
    first = masks_by_image(epochs[0])
    assert all(len(v) == M and all(v) for v in first.values())              # each copy cut out
    assert masks_by_image(epochs[1]) == masks_by_image(epochs[2]) == first  # the same M masks every epoch
    # they are the squares of the centres drawn before training: copy k of image i has id k N + i
    cy, cx = tr.static_centres
    want = A.mask_from_centres(cy, cx, 28, 28, 12)
    for i in range(N):
        assert first[i] == sorted(tuple(want[k * N + i].flatten().nonzero().flatten().tolist()) for k in range(M))
    # drawn from the augmentation generator at construction: the same for the same seed
    again = Trainer(s, identity_data(), torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(again.static_centres, tr.static_centres))


def test_static_masks_in_the_batch_layout_follow_the_copy():
    s = settings({"repeat": M, "cutout": 12, "cutout_draw": "once"})
    _, epochs, _ = record_epochs(s)
    assert masks_by_image(epochs[0]) == masks_by_image(epochs[1])


def test_masks_redrawn_every_step_by_default():
    _, epochs, _ = record_epochs(settings({"repeat": M, "cutout": 12, "repeat_layout": "spread"}))
    assert masks_by_image(epochs[0]) != masks_by_image(epochs[1])


def test_no_op_mask_variant_is_plain_m_fold_repetition():
    """The write-up's apply_mask as rendered returns the image unchanged: its runs train on
    M untouched copies of every image (the study's p4_bataug_noop runs: no cutout key)."""
    _, epochs, outs = record_epochs(settings({"repeat": M, "repeat_layout": "spread"}))
    for batches in epochs:
        assert all(not any(zero_masks(b)[k]) for b in batches for k in range(len(b)))   # no zeroed pixel
        assert Counter(i for b in batches for i in image_ids(b)) == {i: M for i in range(N)}
        for b in batches:   # and exactly the original pixels
            for img, i in zip(b, image_ids(b)):
                assert torch.allclose(img, torch.full_like(img, (i + 1) * 10 / 255))


def test_options_are_checked_and_refused_for_replicates():
    data = identity_data()
    with pytest.raises(ValueError, match="needs augment.cutout"):
        Trainer(settings({"repeat": 2, "cutout_draw": "once"}), data, torch.device("cpu"))
    with pytest.raises(ValueError, match="shift/hflip"):
        Trainer(settings({"repeat": 2, "cutout": 4, "hflip": True, "cutout_draw": "once"}), data, torch.device("cpu"))
    with pytest.raises(ValueError, match="unknown augmentation keys"):
        Trainer(settings({"repeat": 2, "mixup": 0.2}), data, torch.device("cpu"))
    with pytest.raises(ValueError, match="repeat_layout"):
        Trainer(settings({"repeat": 2, "repeat_layout": "mixed"}), data, torch.device("cpu"))
    for aug in ({"repeat": 2, "repeat_layout": "spread"}, {"repeat": 2, "cutout": 4, "cutout_draw": "once"}):
        assert "single-run" in replicates_problem(settings(aug, replicates=3))
    assert replicates_problem(settings({"repeat": 2, "cutout": 4}, replicates=3)) is None


def test_cutout_with_given_centres():
    x = torch.ones(2, 1, 8, 8)
    out = A.cutout(x, 4, gen=None, centres=(torch.tensor([0, 4]), torch.tensor([0, 4])))
    assert out[0, 0, :2, :2].eq(0).all() and out[0].eq(0).sum() == 4     # clipped at the corner
    assert out[1, 0, 2:6, 2:6].eq(0).all() and out[1].eq(0).sum() == 16
    with pytest.raises(ValueError, match="centres"):
        A.cutout(x, 4, gen=None, centres=(torch.tensor([0]), torch.tensor([0])))


# ----------------------------------------------------------------------------- linear sweep
def test_linear_sweep_is_a_triangular_clr_rising_to_its_max_over_the_run():
    """The printed P2 Q1 cell: CyclicLR(triangular, base 1e-9, max 10), step size = the
    run's length: the learning rate rises linearly from 1e-9 to 10 over the 5 epochs."""
    spe, epochs = 938, 5
    s = {"schedule": {"name": "clr", "mode": "triangular", "min_lr": 1.0e-9, "max_lr": 10.0,
                      "step_size_epochs": 5}, "epochs": epochs}
    sched = run_schedule(s, 1.0e-9, spe)
    lrs = [sched.lr(i // spe, i) for i in range(spe * epochs)]
    assert lrs[0] == pytest.approx(1e-9)
    steps = [b - a for a, b in zip(lrs, lrs[1:])]
    assert max(steps) == pytest.approx(min(steps), rel=1e-6)               # linear, not exponential
    assert lrs[-1] == pytest.approx(10.0 * (spe * epochs - 1) / (spe * epochs))
    assert lrs[spe - 1] == pytest.approx(10.0 * (spe - 1) / (spe * epochs))  # ~2 at the end of epoch 1


def test_linear_sweep_records_every_batch():
    s = settings(None, schedule={"name": "clr", "mode": "triangular", "min_lr": 1.0e-9, "max_lr": 10.0,
                                 "step_size_epochs": 2}, loop={"record_batches": True})
    tr = Trainer(s, identity_data(), torch.device("cpu"))
    for e in range(2):
        tr.train_epoch(e)
    lrs = [b["lr"] for b in tr.batches]
    assert len(lrs) == 2 * N // B and lrs[0] == pytest.approx(1e-9)
    assert lrs[1] == pytest.approx(10.0 / (2 * N // B), rel=1e-6) and lrs[-1] == pytest.approx(10.0 * 7 / 8)


def test_resume_keeps_the_static_masks_and_the_order():
    """A resumed run (a fresh trainer + the checkpoint's state) trains on the same copies with
    the same masks as an uninterrupted one."""
    s = settings({"repeat": M, "cutout": 12, "repeat_layout": "spread", "cutout_draw": "once"})
    a = Trainer(s, identity_data(), torch.device("cpu"))
    a.train_epoch(0)
    b = Trainer(s, identity_data(), torch.device("cpu"))
    b.load_state_dict(a.state_dict())
    seen = []
    for tr in (a, b):
        tr.net = Recorder(tr.model)
        tr.train_epoch(1)
        seen.append(tr.net.batches)
    assert len(seen[0]) == len(seen[1]) and all(torch.equal(x, y) for x, y in zip(*seen))
