"""Replicate seeds of one run, trained together in one job (``replicates: N``).

Replicate ``r`` is the run with seed ``seed + r``: its own initial weights (the model is
built under ``torch.manual_seed(seed + r)``), its own data order and its own dropout
draws. The N models are stacked into one set of parameters with
``torch.func.stack_module_state`` and called through ``vmap(functional_call(...))``, so
one kernel launch serves all N. Every optimizer of the registry updates parameters
element by element, so one optimizer over the stacked tensors is N independent
optimizers; the loss summed over replicates gives each replicate its own gradient.
Gradient-norm clipping and the L2 penalty are computed per replicate.

That is the GPU path (:class:`ReplicaTrainer`), where small models leave the device
mostly idle and N seeds fill it. On a CPU the models are compute-bound and batched
kernels are slower than N plain ones (benchmarks/replicates.py measures both), so there
:class:`SeedLoopTrainer` steps N ordinary single-seed trainers one after another in the
one process, each with its own RNG stream: every replicate is then bit for bit the run
with its own seed. ``trainer_class`` picks by device; the environment variable
``DLREPRO_REPLICATES=vmap|loop`` overrides the choice.

What cannot be shared is refused with a clear error: a schedule that reacts to the
run's own metrics (``keras_step_plateau``: each replicate would need its own learning
rate) and per-batch loss recording (``loop.record_batches``, the LR range test).
"""
from __future__ import annotations

import copy
import math
import os

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from dlrepro.config import replicates_problem
from dlrepro.training.optimizers import build_optimizer
from dlrepro.training.trainer import EVAL_CHUNK, Split, Trainer, build_model


def check_replicable(s: dict) -> None:
    """Raise ValueError naming the setting that N replicates in one job cannot share."""
    problem = replicates_problem(s)
    if problem:
        raise ValueError(problem)


class StackedModel:
    """N models of one architecture as stacked parameters and buffers."""

    def __init__(self, models: list[torch.nn.Module]):
        self.template = models[0]  # keeps the layout (names, l2_params) on its device
        self.params, self.buffers = stack_module_state(models)
        self.base = copy.deepcopy(models[0]).to("meta")
        self.n = len(models)

    def train(self, mode: bool = True) -> None:
        self.base.train(mode)

    def __call__(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        """Logits [N, B, classes]; ``x`` is [N, B, ...] or, when ``shared``, one [B, ...] batch."""
        def f(p, b, xi):
            return functional_call(self.base, (p, b), (xi,))
        return vmap(f, in_dims=(0, 0, None if shared else 0), randomness="different")(self.params, self.buffers, x)

    def state_dict(self) -> dict:
        return {"params": self.params, "buffers": self.buffers}

    def load_state_dict(self, st: dict) -> None:
        with torch.no_grad():
            for k, v in st["params"].items():
                self.params[k].copy_(v)
            for k, v in st["buffers"].items():
                self.buffers[k].copy_(v)

    def replica_state(self, r: int) -> dict:
        """Replicate ``r`` as an ordinary state dict of the architecture."""
        return {k: v[r].detach().clone() for k, v in {**self.params, **self.buffers}.items()}

    def per_replica(self, fn, tensors) -> torch.Tensor:
        """Sum over ``tensors`` of ``fn(t)`` reduced over every dimension but the first: [N]."""
        return sum(fn(t).flatten(1).sum(1) for t in tensors)


class _Replicas:
    """What train_run reads from a replicate trainer besides the mean rows."""

    def test_metrics(self) -> dict:
        loss, acc = self._eval("test")
        return {"loss": sum(loss) / self.n_rep, "acc": sum(acc) / self.n_rep,
                "per_replicate": {"loss": loss, "acc": acc}}

    def replicates_summary(self, test: dict | None) -> dict:
        rows = self.replica_rows
        return {"n": self.n_rep, "seeds": self.seeds, "model_pt": f"replicate 0 (seed {self.seeds[0]})",
                "final": rows[-1] if rows else [],
                "best_val_acc": [max((ep[r]["val_acc"] for ep in rows if math.isfinite(ep[r]["val_acc"])),
                                     default=None) for r in range(self.n_rep)] if rows else [],
                "test": test.get("per_replicate") if test else None,
                "metrics": [[ep[r] for ep in rows] for r in range(self.n_rep)]}


class ReplicaTrainer(_Replicas, Trainer):
    """N seeds as one stacked model through ``torch.func`` (the GPU path)."""

    def __init__(self, s: dict, data: dict, device: torch.device, init_state: dict | None = None,
                 lr_bounds: dict | None = None):
        check_replicable(s)
        super().__init__({**s, "replicates": 1}, data, device, init_state, lr_bounds)
        self.s = s
        self.n_rep = s["replicates"]
        self.seeds = [s["seed"] + r for r in range(self.n_rep)]
        models = []
        for seed in self.seeds:
            torch.manual_seed(seed)
            m = build_model(s, tuple(self.splits["train"].x.shape[1:]), self.classes).to(device)
            if init_state is not None:
                m.load_state_dict(init_state)
            models.append(m)
        torch.manual_seed(s["seed"])
        self.stack = StackedModel(models)
        self.model = self.stack.template
        names = {id(p): n for n, p in self.model.named_parameters()}
        l2 = s.get("l2") or {}
        kernels = l2.get("params", "all") == "kernels"
        self.l2_names = [names[id(p)] for p in (self.model.l2_params() if kernels else self.model.parameters())]
        self.opt = build_optimizer(list(self.stack.params.values()), s["optimizer"])
        self.shuffle_gens = [torch.Generator().manual_seed(seed) for seed in self.seeds]

    # -- state for checkpoints
    def state_dict(self) -> dict:
        st = super().state_dict()
        st.update(model=self.stack.state_dict(), shuffle_gens=[g.get_state() for g in self.shuffle_gens],
                  replica_rows=self.replica_rows)
        return st

    def load_state_dict(self, st: dict) -> None:
        self.stack.load_state_dict(st["model"])
        self.opt.load_state_dict(st["opt"])
        self.step = st["step"]
        if self.schedule and st["schedule"] is not None:
            self.schedule.load_state_dict(st["schedule"])
        torch.set_rng_state(st["torch_rng"])
        for g, gs in zip(self.shuffle_gens, st["shuffle_gens"]):
            g.set_state(gs)
        self.aug_gen.set_state(st["aug_gen"])
        self.replica_rows = st["replica_rows"]
        if st.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(st["cuda_rng"])

    # -- one epoch
    def _penalty(self) -> torch.Tensor | None:
        spec = self.s.get("l2")
        if not spec or not spec.get("coef"):
            return None
        return spec["coef"] * self.stack.per_replica(lambda p: p.pow(2), [self.stack.params[n] for n in self.l2_names])

    def _clip(self, max_norm: float) -> None:
        """``clip_grad_norm_`` of each replicate on its own (torch's formula, per replicate)."""
        grads = [p.grad for p in self.stack.params.values() if p.grad is not None]
        norm = self.stack.per_replica(lambda g: g.pow(2), grads).sqrt()
        coef = (max_norm / (norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))

    def train_epoch(self, epoch: int) -> dict:
        s, train, n = self.s, self.splits["train"], self.n_rep
        self.stack.train(True)
        bs, micro = s["batch_size"], s.get("micro_batch") or s["batch_size"]
        perms = torch.stack([torch.randperm(len(train), generator=g) for g in self.shuffle_gens]).to(self.device)
        loss_sum = torch.zeros(n, device=self.device, dtype=torch.float64)
        correct = torch.zeros(n, device=self.device, dtype=torch.int64)
        seen, n_batches, lr = 0, 0, self.opt.param_groups[0]["lr"]
        for start in range(0, len(train), bs):
            idx = perms[:, start:start + bs]  # [N, B]: each replicate's own batch
            lr = self._set_lr(epoch)
            self.opt.zero_grad(set_to_none=True)
            batch_loss = torch.zeros(n, device=self.device)
            for m0 in range(0, idx.shape[1], micro):
                mi = idx[:, m0:m0 + micro]
                x = self.prep(train.x[mi.flatten()])
                x, y = self._augment(x, train.y[mi.flatten()])
                x, y = x.reshape(n, -1, *x.shape[1:]), y.view(n, -1)  # copies stay with their replicate
                with self.autocast():
                    out = self.stack(x)
                loss = F.cross_entropy(out.float().flatten(0, 1), y.flatten(), reduction="none").view(n, -1).mean(1)
                pen = self._penalty()
                if pen is not None:
                    loss = loss + pen
                w = mi.shape[1] / idx.shape[1]
                (loss.sum() * w).backward()
                batch_loss += loss.detach() * w
                correct += (out.argmax(-1) == y).sum(1)
                seen += y.shape[1]
            if s.get("clip_grad_norm"):
                self._clip(s["clip_grad_norm"])
            self.opt.step()
            loss_sum += batch_loss
            n_batches += 1
            self.step += 1
        return {"loss_sum": loss_sum.tolist(), "n_batches": n_batches, "correct": correct.tolist(),
                "seen": [seen] * n, "lr": lr, "last_batch_loss": batch_loss.tolist(), "exploded": False}

    def _l2_terms(self) -> list[float]:
        pen = self._penalty()
        return [0.0] * self.n_rep if pen is None else pen.tolist()

    @torch.no_grad()
    def _eval(self, split: str) -> tuple[list[float], list[float]]:
        data: Split = self.splits[split]
        self.stack.train(False)
        loss = torch.zeros(self.n_rep, device=self.device, dtype=torch.float64)
        correct = torch.zeros(self.n_rep, device=self.device, dtype=torch.int64)
        for i in range(0, len(data), EVAL_CHUNK):
            x, y = self.prep(data.x[i:i + EVAL_CHUNK]), data.y[i:i + EVAL_CHUNK]
            with self.autocast():
                out = self.stack(x, shared=True).float()  # [N, B, classes]
            loss += F.cross_entropy(out.flatten(0, 1), y.repeat(self.n_rep), reduction="none").view(
                self.n_rep, -1).sum(1).double()
            correct += (out.argmax(-1) == y).sum(1)
        m = max(1, len(data))
        return (loss / m).tolist(), (correct.double() / m).tolist()

    def model_state(self) -> dict:
        """model.pt holds replicate 0 (the run's own seed), an ordinary state dict."""
        return self.stack.replica_state(0)


class SeedLoopTrainer(_Replicas, Trainer):
    """N single-seed trainers stepped in turn in one process (the CPU path), each with its
    own global-RNG stream so that replicate ``r`` is exactly the run with seed ``seed + r``."""

    def __init__(self, s: dict, data: dict, device: torch.device, init_state: dict | None = None,
                 lr_bounds: dict | None = None):
        check_replicable(s)
        self.s, self.device, self.n_rep, self.replica_rows = s, device, s["replicates"], []
        self.seeds = [s["seed"] + r for r in range(self.n_rep)]
        self.members, self.rngs = [], []
        for seed in self.seeds:
            self.members.append(Trainer({**s, "seed": seed, "replicates": 1}, data, device, init_state, lr_bounds))
            self.rngs.append(torch.get_rng_state())  # where that run's own stream stands now
        first = self.members[0]
        self.loop, self.splits, self.model, self.batches = first.loop, first.splits, first.model, []
        self.schedule = None  # each member steps its own; none of them reads metrics (check_replicable)
        self.columns = first.columns

    def _each(self, fn) -> list:
        """``fn(member)`` for every member, each under its own RNG stream."""
        out = []
        for r, m in enumerate(self.members):
            torch.set_rng_state(self.rngs[r])
            out.append(fn(m))
            self.rngs[r] = torch.get_rng_state()
        return out

    def train_epoch(self, epoch: int) -> dict:
        outs = self._each(lambda m: m.train_epoch(epoch))
        return {"loss_sum": [o["loss_sum"] for o in outs], "n_batches": outs[0]["n_batches"],
                "correct": [o["correct"] for o in outs], "seen": [o["seen"] for o in outs],
                "acc_sum": [o["acc_sum"] for o in outs], "last_batch_loss": [o["last_batch_loss"] for o in outs],
                "lr": outs[0]["lr"], "exploded": False}

    def _l2_terms(self) -> list[float]:
        return [m._l2_terms()[0] for m in self.members]

    def _eval(self, split: str) -> tuple[list[float], list[float]]:
        outs = self._each(lambda m: m._eval(split))
        return [o[0][0] for o in outs], [o[1][0] for o in outs]

    def state_dict(self) -> dict:
        return {"members": [m.state_dict() for m in self.members], "rngs": self.rngs,
                "replica_rows": self.replica_rows}

    def load_state_dict(self, st: dict) -> None:
        for m, ms in zip(self.members, st["members"]):
            m.load_state_dict(ms)
        self.rngs, self.replica_rows = st["rngs"], st["replica_rows"]

    def model_state(self) -> dict:
        return self.members[0].model_state()


def trainer_class(device: torch.device):
    """vmap on a GPU, the seed loop on a CPU, unless ``DLREPRO_REPLICATES`` says otherwise."""
    choice = os.environ.get("DLREPRO_REPLICATES") or ("vmap" if device.type == "cuda" else "loop")
    try:
        return {"vmap": ReplicaTrainer, "loop": SeedLoopTrainer}[choice]
    except KeyError:
        raise ValueError(f"DLREPRO_REPLICATES={choice!r}: use 'vmap' or 'loop'") from None


__all__ = ["ReplicaTrainer", "SeedLoopTrainer", "StackedModel", "check_replicable", "trainer_class"]
