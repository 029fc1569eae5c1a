"""The one training engine of every torch run.

Data sit on the device as uint8 tensors; each epoch draws a ``randperm`` and slices
batches from them; scaling, normalisation, resizing and augmentation happen on the
device, batch by batch. The write-ups' training loops differ in details (summed or
mean epoch loss, validation before training, train accuracy on the fly or recomputed
over the whole set, timing with or without evaluation): those are the run's ``loop``
options, not copies of the loop.

A trainer's ``state_dict`` holds the optimizer, schedule, RNG and data-order state, so
that a whole run (:func:`dlrepro.training.run.train_run`: checkpoints per epoch, resume,
provenance, outputs) resumes a killed job where it stopped: a resumed CPU run gives the
same metrics, bit for bit, as an uninterrupted one.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlrepro import models as model_zoo
from dlrepro.config import metrics
from dlrepro.training import augment
from dlrepro.training.loop_defaults import EVAL_CHUNK, LOOP_DEFAULTS
from dlrepro.training.optimizers import build_optimizer
from dlrepro.training.schedules import build_schedule

METRIC_COLUMNS = list(metrics.EPOCH_COLUMNS)  # metrics.csv (dlrepro.config.metrics: what figures may name)
#: columns a run logs besides METRIC_COLUMNS, as the write-ups computed them (see Trainer.columns)
BATCH_MEAN_COLUMNS = list(metrics.BATCH_MEAN_COLUMNS)
STD_COLUMNS = list(metrics.STD_COLUMNS)  # also logged as <column>_std by replicates
LOSS_ACC_COLUMNS = metrics.LOSS_ACC_COLUMNS


# ----------------------------------------------------------------------------- set-up
def pick_device(pref: str = "auto") -> torch.device:
    if pref == "cuda" or (pref == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' requested but torch sees no CUDA device")
        return torch.device("cuda")
    return torch.device("cpu")


def set_threads(n: int) -> None:
    """Use exactly the job's threads (no oversubscription when jobs run in parallel)."""
    n = max(1, int(n))
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # already set in this process
        pass


@dataclass
class Split:
    x: torch.Tensor  # uint8 [N, C, H, W] on the device
    y: torch.Tensor  # int64 [N]

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int | None) -> "Split":
        return self if n is None or n >= len(self) else Split(self.x[:n], self.y[:n])


def make_splits(data: dict, s: dict) -> dict[str, Split | None]:
    """train / val / test / train_full (the set the seed-001 quirk evaluates) for a run."""
    train = Split(data["train_x"], data["train_y"])
    test = Split(data["test_x"], data["test_y"])
    if s.get("val_split"):
        vs = s["val_split"]
        if vs["size"] >= len(train):
            raise ValueError(f"val_split.size {vs['size']} leaves no training data ({len(train)} samples)")
        g = torch.Generator().manual_seed(vs["seed"])
        perm = torch.randperm(len(train), generator=g).to(train.x.device)
        val = Split(train.x[perm[:vs["size"]]], train.y[perm[:vs["size"]]])
        train = Split(train.x[perm[vs["size"]:]], train.y[perm[vs["size"]:]])
    else:
        val, test = test, None  # the write-ups validate on the test split
    ev = s.get("eval_subset")
    return {"train": train.head(s.get("train_subset")), "train_full": train.head(ev),
            "val": val.head(ev), "test": test.head(ev) if test is not None and s.get("eval_test") else None}


class Preprocess:
    """uint8 batch → float model input, on the device (scale, resize, normalise)."""

    def __init__(self, spec: dict, data: dict, train: Split):
        self.scale = 1 / 255 if spec.get("scale", True) else 1.0
        self.resize = spec.get("resize")
        self.channels_last = False  # set by the trainer for a channels_last run
        mode = spec.get("normalize", "none")
        dev = train.x.device
        self.mean = self.std = None
        if mode == "dataset":
            self.mean, self.std = data["mean"], data["std"]
        elif mode == "fixed":
            self.mean, self.std = spec["mean"], spec["std"]
        if self.mean is not None:
            c = train.x.shape[1]
            self.mean = torch.tensor(self.mean, device=dev).view(1, c, 1, 1) * (255 * self.scale)
            self.std = torch.tensor(self.std, device=dev).view(1, c, 1, 1) * (255 * self.scale)
        if mode == "mean_image":  # seed 003 P2: subtract the training set's mean image
            acc = torch.zeros((1, *self._base(train.x[:1]).shape[1:]), device=dev, dtype=torch.float64)
            for i in range(0, len(train), EVAL_CHUNK):
                acc += self._base(train.x[i:i + EVAL_CHUNK]).double().sum(0, keepdim=True)
            self.mean, self.std = (acc / len(train)).float(), None

    def _base(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() * self.scale
        if self.resize and x.shape[-1] != self.resize:
            x = F.interpolate(x, size=(self.resize, self.resize), mode="bilinear", align_corners=False)
        return x

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self._base(x)
        if self.mean is not None:
            x = x - self.mean
        if self.std is not None:
            x = x / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def init_weights(model: nn.Module, scheme: str) -> None:
    if scheme == "default":
        return
    fn = {"kaiming_uniform": nn.init.kaiming_uniform_, "kaiming_normal": nn.init.kaiming_normal_}[scheme]
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            fn(m.weight)


def build_model(s: dict, in_shape: tuple[int, ...], classes: int) -> nn.Module:
    args = dict(s.get("model_args", {}))
    model = model_zoo.build(s["model"], **args)
    init_weights(model, s.get("init", "default"))
    return model


def uses_channels_last(s: dict, model: nn.Module, device: torch.device) -> bool:
    """The run's memory layout: ``channels_last`` as set; unset, channels-last for a conv
    net on the CPU, where oneDNN's convolutions run faster in it (ResNet-44 1.2x, the
    CIFAR-10 CNN P1a 1.5x, measured side by side: benchmarks/engine_vs_seed.py). Only the
    layout changes: the same fp32 maths, summed in another order."""
    if s.get("channels_last") is not None:
        return bool(s["channels_last"])
    return device.type == "cpu" and any(isinstance(m, nn.Conv2d) for m in model.modules())


def l2_penalty(model: nn.Module, spec: dict | None) -> torch.Tensor | None:
    if not spec or not spec.get("coef"):
        return None
    params = model.l2_params() if spec.get("params", "all") == "kernels" else list(model.parameters())
    return spec["coef"] * sum(p.pow(2).sum() for p in params)


def run_schedule(s: dict, base_lr: float, steps_per_epoch: int, lr_bounds: dict | None = None):
    """The run's LR schedule (None without one), lr_min / lr_max filled in from
    ``lr_bounds`` where ``schedule.bounds_from`` names a range-test run. Also used to
    redraw a finished run's learning rate per iteration (dlrepro.studies.optim_clr_cutout.analyses)."""
    if not s.get("schedule"):
        return None
    spec = {k: v for k, v in s["schedule"].items() if k != "bounds_from"}
    if s["schedule"].get("bounds_from"):
        if lr_bounds is None:
            raise ValueError("schedule.bounds_from is set but no lr bounds file was given")
        spec.update(min_lr=lr_bounds["lr_min"], max_lr=lr_bounds["lr_max"])
        if s["schedule"].get("as_run_constant"):  # seed 003 quirk: max_lr=min_lr passed
            spec["max_lr"] = spec["min_lr"]
    spec.pop("as_run_constant", None)
    return build_schedule(spec, base_lr, steps_per_epoch, s["epochs"])


# ----------------------------------------------------------------------------- loops
@torch.no_grad()
def evaluate(model: nn.Module, split: Split, prep: Preprocess, autocast) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split, in eval mode."""
    model.eval()
    loss = torch.zeros((), device=split.x.device, dtype=torch.float64)
    correct = torch.zeros((), device=split.x.device, dtype=torch.int64)
    for i in range(0, len(split), EVAL_CHUNK):
        x, y = prep(split.x[i:i + EVAL_CHUNK]), split.y[i:i + EVAL_CHUNK]
        with autocast():
            out = model(x)
        loss += F.cross_entropy(out.float(), y, reduction="sum").double()
        correct += (out.argmax(1) == y).sum()
    n = max(1, len(split))
    return loss.item() / n, correct.item() / n


@torch.no_grad()
def evaluate_batch_means(model: nn.Module, split: Split, prep: Preprocess, autocast,
                         batch_size: int) -> tuple[float, float]:
    """Cross-entropy and accuracy as a write-up's loop averages them: the unweighted mean of
    per-batch means over batches of ``batch_size`` in order (a DataLoader without
    shuffling), so a smaller last batch weighs as much as a full one."""
    model.eval()
    losses, accs = [], []
    for i in range(0, len(split), batch_size):
        x, y = prep(split.x[i:i + batch_size]), split.y[i:i + batch_size]
        with autocast():
            out = model(x)
        losses.append(F.cross_entropy(out.float(), y).double())
        accs.append((out.argmax(1) == y).double().mean())
    if not losses:
        return float("nan"), float("nan")
    return torch.stack(losses).mean().item(), torch.stack(accs).mean().item()


class Trainer:
    def __init__(self, s: dict, data: dict, device: torch.device, init_state: dict | None = None,
                 lr_bounds: dict | None = None):
        self.s, self.device = s, device
        self.loop = {**LOOP_DEFAULTS, **s.get("loop", {})}
        torch.manual_seed(s["seed"])
        self.splits = make_splits(data, s)
        self.prep = Preprocess(s.get("preprocess", {}), data, self.splits["train"])
        self.classes = len(data["classes"])
        self.n_rep, self.replica_rows = 1, []
        self.model = build_model(s, tuple(self.splits["train"].x.shape[1:]), self.classes).to(device)
        if init_state is not None:
            self.model.load_state_dict(init_state)
        if uses_channels_last(s, self.model, device):
            self.model = self.model.to(memory_format=torch.channels_last)
            self.prep.channels_last = True
        self.net = torch.compile(self.model) if s.get("compile") else self.model  # what the loops call
        self.opt = build_optimizer(self.model.parameters(), s["optimizer"])
        self.base_lr = s["optimizer"].get("lr", self.opt.param_groups[0]["lr"])
        n = len(self.splits["train"])
        self.steps_per_epoch = math.ceil(n / s["batch_size"])
        self.schedule = run_schedule(s, self.base_lr, self.steps_per_epoch, lr_bounds)
        self.shuffle_gen = torch.Generator().manual_seed(s["seed"])
        self.aug_gen = torch.Generator(device=device).manual_seed(s["seed"] + 1)
        self.repeat, self.layout, self.static_centres = _batch_augmentation(s, self.splits["train"], self.prep,
                                                                          self.aug_gen)
        self.step = 0
        self.batches: list[dict] = []
        self.columns = self._columns()
        bf16 = s.get("precision", "fp32") == "bf16"
        self.autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 else \
            (lambda: torch.autocast(device.type, enabled=False))

    def _columns(self) -> list[str]:
        """metrics.csv columns of this run: the common ones, then what the write-up computed
        that the common ones do not hold (batch means with ``loop.eval_batch_size``;
        ``val_loss_reg``, Keras's validation loss with the L2 term, with ``l2``; the
        plateau callback's logged lr with schedule keras_step_plateau)."""
        cols = list(METRIC_COLUMNS)
        if self.loop["eval_batch_size"]:
            cols += BATCH_MEAN_COLUMNS
        if (self.s.get("l2") or {}).get("coef"):
            cols.append("val_loss_reg")
        if self.schedule is not None and self.schedule.name == "keras_step_plateau":
            cols += ["lr_logged", "plateau_reduced", "plateau_reductions"]
        return cols

    # -- state for checkpoints
    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                "schedule": self.schedule.state_dict() if self.schedule else None,
                "torch_rng": torch.get_rng_state(), "shuffle_gen": self.shuffle_gen.get_state(),
                "aug_gen": self.aug_gen.get_state(), "batches": self.batches,
                "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None}

    def load_state_dict(self, st: dict) -> None:
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["opt"])
        self.step = st["step"]
        if self.schedule and st["schedule"] is not None:
            self.schedule.load_state_dict(st["schedule"])
        torch.set_rng_state(st["torch_rng"])
        self.shuffle_gen.set_state(st["shuffle_gen"])
        self.aug_gen.set_state(st["aug_gen"])
        self.batches = st["batches"]
        if st.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(st["cuda_rng"])

    # -- one epoch
    def _set_lr(self, epoch: int) -> float:
        lr = self.schedule.lr(epoch, self.step) if self.schedule else self.opt.param_groups[0]["lr"]
        for g in self.opt.param_groups:
            g["lr"] = lr
        return lr

    def _augment(self, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor | None = None):
        """Augment one (micro-)batch. ``ids``: the copies' ids in the M x N training set
        (copy k of image i is k N + i; with ``repeat_layout: batch`` the images' indices,
        their M copies added here): they pick the static masks of ``cutout_draw: once``."""
        spec = self.s.get("augment")
        if not spec:
            return x, y
        m = spec.get("repeat", 1)
        if m > 1 and self.layout == "batch":
            x, y = augment.repeat_batch(x, y, m)
            if ids is not None:
                n = len(self.splits["train"])
                ids = (ids[:, None] + torch.arange(m, device=ids.device) * n).flatten()
        centres = None
        if self.static_centres is not None:
            if ids is None:
                raise ValueError("augment.cutout_draw 'once' needs the copies' ids")
            centres = tuple(c[ids.to(c.device)] for c in self.static_centres)
        spec = {k: v for k, v in spec.items() if k in augment.APPLY_ORDER}
        return augment.apply(x, spec, self.aug_gen, cutout_centres=centres), y

    def train_epoch(self, epoch: int) -> dict:
        s, train = self.s, self.splits["train"]
        self.model.train()
        bs, micro = s["batch_size"], s.get("micro_batch") or s["batch_size"]
        n = len(train)
        if self.layout == "spread":  # the M x N copies are one training set: B x M of them per step
            bs, micro = bs * self.repeat, micro * self.repeat
            perm = torch.randperm(n * self.repeat, generator=self.shuffle_gen).to(self.device)
        else:
            perm = torch.randperm(n, generator=self.shuffle_gen).to(self.device)
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        acc_sum = torch.zeros((), device=self.device, dtype=torch.float64)  # sum of per-batch accuracies
        batch_loss = torch.zeros((), device=self.device)
        seen, n_batches, lr = 0, 0, self.opt.param_groups[0]["lr"]
        explode = self.loop["stop_on_loss_explosion"]
        for start in range(0, len(perm), bs):
            idx = perm[start:start + bs]
            lr = self._set_lr(epoch)
            self.opt.zero_grad(set_to_none=True)
            batch_loss = torch.zeros((), device=self.device)
            batch_correct = torch.zeros((), device=self.device, dtype=torch.int64)
            batch_seen = 0
            for m0 in range(0, len(idx), micro):  # gradient accumulation over micro-batches
                mi = idx[m0:m0 + micro]
                img = mi % n if self.layout == "spread" else mi  # spread: copy ids -> their images
                x, y = self._augment(self.prep(train.x[img]), train.y[img], mi)
                with self.autocast():
                    out = self.net(x)
                loss = F.cross_entropy(out.float(), y)
                pen = l2_penalty(self.model, s.get("l2"))
                if pen is not None:
                    loss = loss + pen
                (loss * (len(mi) / len(idx))).backward()
                batch_loss += loss.detach() * (len(mi) / len(idx))
                batch_correct += (out.argmax(1) == y).sum()
                batch_seen += len(y)
            seen += batch_seen
            correct += batch_correct
            acc_sum += batch_correct.double() / batch_seen
            if s.get("clip_grad_norm"):
                nn.utils.clip_grad_norm_(self.model.parameters(), s["clip_grad_norm"])
            self.opt.step()
            loss_sum += batch_loss
            n_batches += 1
            self.step += 1
            if self.loop["record_batches"]:
                rec = {"epoch": epoch + 1, "step": self.step, "lr": lr, "loss": batch_loss.item()}
                self.batches.append(rec)
                if explode and _exploded(self.batches, explode):
                    return self._epoch_result(loss_sum, n_batches, correct, acc_sum, seen, lr, batch_loss, True)
        return self._epoch_result(loss_sum, n_batches, correct, acc_sum, seen, lr, batch_loss, False)

    @staticmethod
    def _epoch_result(loss_sum, n_batches, correct, acc_sum, seen, lr, batch_loss, exploded) -> dict:
        return {"loss_sum": loss_sum.item(), "n_batches": n_batches, "correct": correct.item(),
                "acc_sum": acc_sum.item(), "seen": seen, "lr": lr, "last_batch_loss": batch_loss.item(),
                "exploded": exploded}

    def _eval(self, split: str) -> tuple[list[float], list[float]]:
        """(losses, accuracies) over a split, one entry per replicate (one here)."""
        loss, acc = evaluate(self.net, self.splits[split], self.prep, self.autocast)
        return [loss], [acc]

    def _batch_mean_eval(self, split: str) -> tuple[list[float], list[float]]:
        """:func:`evaluate_batch_means` with the write-up's ``loop.eval_batch_size``."""
        loss, acc = evaluate_batch_means(self.net, self.splits[split], self.prep, self.autocast,
                                         self.loop["eval_batch_size"])
        return [loss], [acc]

    def _l2_terms(self) -> list[float]:
        """The L2 term of the loss with the current weights, per replicate (Keras adds it
        to the validation loss it logs and its callbacks monitor)."""
        pen = l2_penalty(self.model, self.s.get("l2"))
        return [0.0 if pen is None else pen.item()]

    def _validation_extras(self) -> dict:
        """What the write-up's validation measured besides our ``val_loss``/``val_acc``, with
        the current weights: the batch means (``loop.eval_batch_size``) and the L2 term
        (``val_loss_reg``). Taken where the validation is: before the epoch's training with
        ``loop.eval_before_train``, else after it."""
        out: dict = {}
        if self.loop["eval_batch_size"]:
            out["batch_means"] = self._batch_mean_eval("val")
        if "val_loss_reg" in self.columns:
            out["l2_terms"] = self._l2_terms()
        return out

    def _writeup_columns(self, tr: dict, val_loss: list[float], measured: dict | None = None) -> list[dict]:
        """Per replicate, the columns of :meth:`_columns` beyond METRIC_COLUMNS (``measured``:
        :meth:`_validation_extras` taken before the epoch's training; None: now)."""
        measured = self._validation_extras() if measured is None else measured
        extra: list[dict] = [{} for _ in range(self.n_rep)]
        if self.loop["eval_batch_size"]:
            bl, ba = measured["batch_means"]
            acc_sum = _as_list(tr["acc_sum"])
            for r in range(self.n_rep):
                extra[r].update(train_acc_batchmean=acc_sum[r] / max(1, tr["n_batches"]),
                                val_loss_batchmean=bl[r], val_acc_batchmean=ba[r])
        if "val_loss_reg" in self.columns:
            for r, pen in enumerate(measured["l2_terms"]):
                extra[r]["val_loss_reg"] = val_loss[r] + pen
        return extra

    def final_eval(self) -> dict:
        """``loop.final_eval``: a separate evaluation pass after training, in eval mode, over
        the training set trained on, the validation set and the test set (where the run has
        one), as a write-up's evaluation cell computes it (batch means with
        ``loop.eval_batch_size``; ``loop.final_eval_batch_sizes`` gives a split its own
        loader batch size, e.g. ``{test: 2048}`` where the write-up's test loader kept the
        default batch size while the others changed)."""
        sizes = self.loop.get("final_eval_batch_sizes") or {}
        out = {}
        for split in ("train", "val", "test"):
            if self.splits.get(split) is None:
                continue
            bs = sizes.get(split, self.loop["eval_batch_size"])
            if bs:
                loss, acc = evaluate_batch_means(self.net, self.splits[split], self.prep, self.autocast, bs)
            else:
                (loss,), (acc,) = self._eval(split)
            out[f"{split}_loss"], out[f"{split}_acc"] = loss, acc
        return out

    def run_epoch(self, epoch: int) -> tuple[dict, str]:
        """Train one epoch and evaluate as the run's loop options say; return (row, status).
        With replicates, ``row`` is the mean over them with ``<metric>_std`` columns and
        ``self.replica_rows`` gets one row per replicate."""
        # the write-up's extra validation quantities, where its validation is (not timed: the
        # write-up's loop did not run these passes besides its own)
        measured = self._validation_extras() if self.loop["eval_before_train"] else None
        t0 = time.perf_counter()
        if self.loop["eval_before_train"]:
            val_loss, val_acc = self._eval("val")
        tr = self.train_epoch(epoch)
        t_train = time.perf_counter() - t0
        if not self.loop["eval_before_train"]:
            val_loss, val_acc = self._eval("val")
        mode = self.loop["train_acc"]
        loss_sum, correct, seen = (_as_list(tr[k]) for k in ("loss_sum", "correct", "seen"))
        if mode == "running":
            train_acc = [c / max(1, n) for c, n in zip(correct, seen)]
        else:
            train_acc = self._eval("train_full" if mode == "eval_full" else "train")[1]
        seconds = time.perf_counter() - t0 if self.loop["time_includes_eval"] else t_train
        extra = self._writeup_columns(tr, val_loss, measured)  # not timed: the write-up's loop did not run these
        rows = []
        last = _as_list(tr["last_batch_loss"])
        for r in range(self.n_rep):
            mean_loss = loss_sum[r] / max(1, tr["n_batches"])
            rows.append({"epoch": epoch + 1,
                         "train_loss": loss_sum[r] if self.loop["logged_train_loss"] == "sum" else mean_loss,
                         "train_loss_mean": mean_loss, "train_acc": train_acc[r], "val_loss": val_loss[r],
                         "val_acc": val_acc[r], "lr": tr["lr"], "seconds": seconds, "last_batch_loss": last[r],
                         **extra[r]})
        row = rows[0] if self.n_rep == 1 else mean_row(rows)
        if self.n_rep > 1:
            self.replica_rows.append(rows)
        if self.schedule:
            self.schedule.on_epoch_end(epoch, row)
            row.update(self.schedule.last_log)  # e.g. the plateau callback's logged lr
        status = "ok"
        if diverged(rows):
            status = "diverged"
        elif tr["exploded"]:
            status = "stopped_loss_explosion"
        return row, status

    # -- what train_run (dlrepro.training.run) reads
    def n_params(self) -> int:
        """Parameters of one model (of one replicate)."""
        return sum(p.numel() for p in self.model.parameters())

    def test_metrics(self) -> dict:
        loss, acc = self._eval("test")
        return {"loss": loss[0], "acc": acc[0]}

    def model_state(self) -> dict:
        return self.model.state_dict()


def _batch_augmentation(s: dict, train: Split, prep: Preprocess, gen: torch.Generator):
    """(M, repeat_layout, static centres) of a run's ``augment`` (see
    :mod:`dlrepro.training.augment`): with ``cutout_draw: once`` every one of the M x N
    copies gets its square centre here, before training, from the augmentation generator
    (a resumed run draws the same ones again, then restores the generator's state)."""
    spec = s.get("augment") or {}
    unknown = set(spec) - set(augment.APPLY_ORDER) - set(augment.BATCH_AUG_KEYS)
    if unknown:
        raise ValueError(f"unknown augmentation keys {sorted(unknown)}; known: "
                         f"{list(augment.APPLY_ORDER + augment.BATCH_AUG_KEYS)}")
    m, layout, draw = int(spec.get("repeat", 1)), spec.get("repeat_layout", "batch"), spec.get("cutout_draw", "step")
    if layout not in augment.REPEAT_LAYOUTS:
        raise ValueError(f"augment.repeat_layout must be one of {augment.REPEAT_LAYOUTS}, got {layout!r}")
    if draw not in augment.CUTOUT_DRAWS:
        raise ValueError(f"augment.cutout_draw must be one of {augment.CUTOUT_DRAWS}, got {draw!r}")
    if draw == "once" and not spec.get("cutout"):
        raise ValueError("augment.cutout_draw 'once' needs augment.cutout")
    if draw == "once" and (spec.get("shift") or spec.get("hflip")):
        raise ValueError("augment.cutout_draw 'once' fixes the copies before training: it does not combine "
                         "with shift/hflip (redrawn every step)")
    centres = None
    if draw == "once":
        h, w = prep(train.x[:1]).shape[-2:]
        centres = augment.cutout_centres(len(train) * m, h, w, gen, train.x.device)
    return m, layout, centres


def diverged(rows: list[dict]) -> bool:
    """Whether any loss or accuracy of one epoch's rows (one per replicate) is non-finite:
    a finite 6e34 train loss beside an infinite validation loss is a blown-up run, not an
    ``ok`` one (LOSS_ACC_COLUMNS)."""
    return any(not math.isfinite(r[c]) for r in rows for c in LOSS_ACC_COLUMNS)


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def mean_row(rows: list[dict]) -> dict:
    """One epoch's row over replicates: the mean of each metric plus ``<metric>_std``
    (sample standard deviation, ddof 1) for the curves' bands; the write-up's extra
    columns (``val_loss_reg``, batch means) as means."""
    out = dict(rows[0])
    for c in STD_COLUMNS:
        v = torch.tensor([r[c] for r in rows], dtype=torch.float64)
        out[c], out[f"{c}_std"] = v.mean().item(), v.std().item()
    for c in ["val_loss_reg", *BATCH_MEAN_COLUMNS]:
        if c in out:
            out[c] = sum(r[c] for r in rows) / len(rows)
    return out


def _exploded(batches: list[dict], factor: float, beta: float = 0.98) -> bool:
    """Smoothed (bias-corrected) loss above ``factor`` x its best so far, or not finite."""
    avg, best = 0.0, math.inf
    for i, b in enumerate(batches, 1):
        if not math.isfinite(b["loss"]):
            return True
        avg = beta * avg + (1 - beta) * b["loss"]
        sm = avg / (1 - beta ** i)
        best = min(best, sm)
    return i > 10 and sm > factor * best
