"""Learning-rate schedules for the training engine (the LR-range-test analysis that reads a
``range_test`` run is :mod:`dlrepro.training.lr_finder`).

Interface used by ``dlrepro.training.trainer``::

    sched = build_schedule(spec, base_lr, steps_per_epoch, epochs)
    for epoch in range(start_epoch, epochs):
        for batch in loader:                       # step = global 0-based batch index
            lr = sched.lr(epoch, step)             # before every optimizer step
            for g in opt.param_groups: g["lr"] = lr
            ...; opt.step(); step += 1
        sched.on_epoch_end(epoch, {"val_loss": ..., "val_acc": ..., "train_loss": ...})
        metrics_row.update(sched.last_log)         # optional extra columns (may be {})
    ckpt["schedule"] = sched.state_dict()          # resume: sched.load_state_dict(...)

``spec`` is the run's ``schedule`` mapping, ``{name: ..., <options>}``; unknown
options are an error.  ``per`` says how often the value can change ("batch" or
"epoch"); calling ``lr`` every batch is always correct.

Schedules
---------
``constant``            lr = base_lr.
``exp_decay``           lr = base_lr * exp(-lam * epoch)  (tau_0 e^{-lambda t}, seed 000 plot).
                        options: ``lam`` (alias ``lambda``).
``range_test``          lr = lr_start * (lr_end / lr_start) ** (step / (T - 1)), T = N * steps_per_epoch,
                        so the first batch uses lr_start and the last lr_end exactly.
                        options: ``lr_start`` (1e-9), ``lr_end`` (10), ``epochs`` (N, default: epochs).
                        (pyimagesearch's LearningRateFinder multiplies by (end/start)^(1/T) after
                        every batch, so its last batch sees end/(end/start)^(1/T); the difference
                        is one multiplicative step.)
``clr``                 Brad Kenstler's Keras ``CyclicLR`` callback (bckenstler/CLR, copied by
                        pyimagesearch ``clr_callback.py``), with clr_iterations = global step::

                            cycle = floor(1 + it / (2 * step_size))
                            x     = |it / step_size - 2 * cycle + 1|
                            lr    = base + (max - base) * max(0, 1 - x) * scale
                            scale = 1                    (triangular,  per cycle)
                                  = 1 / 2^(cycle - 1)    (triangular2, per cycle)
                                  = gamma^it             (exp_range,   per iteration)

                        The callback sets base_lr before the first batch and clr(it) after
                        batch it-1, so batch ``it`` trains with clr(it); clr(0) = base_lr and
                        the peak max_lr is at it = step_size.
                        options: ``min_lr`` (= the callback's base_lr; default base_lr),
                        ``max_lr``, ``step_size`` (iterations) or ``step_size_epochs``
                        (x steps_per_epoch, as the seed's ``STEP_SIZE * (N // BATCH)``),
                        ``mode`` (triangular|triangular2|exp_range), ``gamma`` (1.0).
``keras_step_plateau``  seed 003 P4: ``LearningRateScheduler(lr_schedule)`` +
                        ``ReduceLROnPlateau(factor=sqrt(0.1), patience=5, min_lr=0.5e-6)``,
                        see :class:`KerasStepPlateau` for the exact interplay.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

__all__ = ["SCHEDULE_OPTIONS", "Schedule", "build_schedule", "schedule_names", "clr_value", "keras_step_lr", "Constant", "ExpDecay",
           "RangeTest", "CyclicLR", "KerasStepPlateau"]


class Schedule:
    """Base class. Subclasses implement ``lr``; stateful ones override the state hooks."""

    name = "base"
    per = "epoch"

    def __init__(self) -> None:
        self.last_log: dict[str, Any] = {}

    def lr(self, epoch: int, step: int) -> float:  # pragma: no cover
        raise NotImplementedError

    def on_epoch_end(self, epoch: int, metrics: dict) -> None:
        pass

    def state_dict(self) -> dict:
        return {"name": self.name}

    def load_state_dict(self, state: dict) -> None:
        if state.get("name") != self.name:
            raise ValueError(f"schedule state is for {state.get('name')!r}, not {self.name!r}")


class Constant(Schedule):
    name = "constant"

    def __init__(self, base_lr: float):
        super().__init__()
        self.base_lr = float(base_lr)

    def lr(self, epoch, step):
        return self.base_lr


class ExpDecay(Schedule):
    """tau(t) = tau_0 * exp(-lam * t), t = 0-based epoch."""

    name = "exp_decay"

    def __init__(self, base_lr: float, lam: float):
        super().__init__()
        self.base_lr, self.lam = float(base_lr), float(lam)

    def lr(self, epoch, step):
        return self.base_lr * math.exp(-self.lam * epoch)


class RangeTest(Schedule):
    """Exponential per-batch sweep from ``lr_start`` (step 0) to ``lr_end`` (step T-1)."""

    name = "range_test"
    per = "batch"

    def __init__(self, lr_start: float, lr_end: float, total_steps: int):
        super().__init__()
        if not (0 < lr_start < lr_end):
            raise ValueError("range_test needs 0 < lr_start < lr_end")
        if total_steps < 2:
            raise ValueError("range_test needs at least 2 steps")
        self.lr_start, self.lr_end, self.total_steps = float(lr_start), float(lr_end), int(total_steps)

    def lr(self, epoch, step):
        frac = min(max(step, 0), self.total_steps - 1) / (self.total_steps - 1)
        return self.lr_start * (self.lr_end / self.lr_start) ** frac


def clr_value(iteration: float, base_lr: float, max_lr: float, step_size: float,
              mode: str = "triangular", gamma: float = 1.0) -> float:
    """Kenstler's ``CyclicLR.clr()`` for ``clr_iterations = iteration``."""
    cycle = math.floor(1 + iteration / (2 * step_size))
    x = abs(iteration / step_size - 2 * cycle + 1)
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1.0 / (2.0 ** (cycle - 1))
    elif mode == "exp_range":
        scale = gamma ** iteration
    else:
        raise ValueError(f"unknown CLR mode {mode!r}")
    return base_lr + (max_lr - base_lr) * max(0.0, 1.0 - x) * scale


class CyclicLR(Schedule):
    name = "clr"
    per = "batch"

    def __init__(self, min_lr: float, max_lr: float, step_size: float,
                 mode: str = "triangular", gamma: float = 1.0):
        super().__init__()
        if step_size <= 0:
            raise ValueError("clr step_size must be positive")
        if mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"unknown CLR mode {mode!r}")
        self.min_lr, self.max_lr, self.step_size = float(min_lr), float(max_lr), float(step_size)
        self.mode, self.gamma = mode, float(gamma)

    def lr(self, epoch, step):
        return clr_value(step, self.min_lr, self.max_lr, self.step_size, self.mode, self.gamma)


SEED003_STEPS: tuple[tuple[int, float], ...] = ((80, 1e-1), (120, 1e-2), (160, 1e-3), (180, 0.5e-3))


def keras_step_lr(epoch: int, base_lr: float = 1e-3,
                  steps: Sequence[Sequence[float]] = SEED003_STEPS) -> float:
    """The seed's ``lr_schedule(epoch)``: ``base * mult`` for the largest ``e`` with ``epoch > e``.

    ``epoch`` is Keras's 0-based index, so x0.1 starts at epoch index 81 (the 82nd epoch),
    exactly as ``if epoch > 80`` in the seed.
    """
    mult = 1.0
    for e, m in sorted(steps, key=lambda s: s[0]):
        if epoch > e:
            mult = m
    return base_lr * mult


class KerasStepPlateau(Schedule):
    """``LearningRateScheduler(step schedule)`` + ``ReduceLROnPlateau`` as Keras 2 ran them.

    Keras 2 (``keras/callbacks.py``; same in Keras 3):

    * ``LearningRateScheduler.on_epoch_begin`` calls ``schedule(epoch, lr)``; the seed's
      ``lr_schedule(epoch)`` takes one argument, the ``TypeError`` falls back to
      ``schedule(epoch)``, so the optimizer lr is **overwritten with the step value at the
      start of every epoch**, ignoring the current lr.
    * ``ReduceLROnPlateau.on_epoch_end``: ``current < best - min_delta`` (mode min, as
      the monitor ``val_loss`` contains no "acc") sets best and wait = 0; otherwise,
      outside cooldown, ``wait += 1`` and when ``wait >= patience``:
      if ``old_lr > min_lr``: ``lr = max(old_lr * factor, min_lr)``, wait = 0,
      cooldown_counter = cooldown.
    * With ``callbacks=[lr_reducer, lr_scheduler]`` the reduction made at the end of
      epoch e is overwritten at the start of epoch e+1 before any batch: in
      ``faithful`` mode the plateau callback **never changes a training step's lr**.
      Its only visible trace is the ``lr`` logged in the history for epoch e:
      ``LearningRateScheduler.on_epoch_end`` runs after the reducer and logs the
      reduced value (``last_log["lr_logged"]``).  Its counters (wait, best) keep
      running, so a reduction fires every ``patience`` non-improving epochs.

    ``faithful=False`` makes reductions persist: a multiplicative ``scale`` (factor^k)
    on top of the step schedule, lr = max(step(e) * scale, min(min_lr, step(e))), i.e.
    the reduction never pushes below ``min_lr`` but never lifts the step value either;
    a reduction is applied only if the current lr > min_lr, as in Keras.

    Comparisons of lr with ``min_lr`` use float32 values, as Keras reads its float32
    lr variable.
    """

    name = "keras_step_plateau"
    per = "epoch"

    def __init__(self, base_lr: float = 1e-3, steps: Sequence[Sequence[float]] = SEED003_STEPS,
                 factor: float = math.sqrt(0.1), patience: int = 5, min_lr: float = 0.5e-6,
                 monitor: str = "val_loss", mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, faithful: bool = True):
        super().__init__()
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be auto|min|max, got {mode!r}")
        self.base_lr = float(base_lr)
        self.steps = [(int(e), float(m)) for e, m in steps]
        self.factor, self.patience, self.min_lr = float(factor), int(patience), float(min_lr)
        self.monitor, self.min_delta, self.cooldown = monitor, float(min_delta), int(cooldown)
        self.mode_min = mode == "min" or (mode == "auto" and "acc" not in monitor)
        self.faithful = bool(faithful)
        # ReduceLROnPlateau state (after _reset())
        self.best = math.inf if self.mode_min else -math.inf
        self.wait = 0
        self.cooldown_counter = 0
        self.scale = 1.0          # persistent multiplier (faithful=False only)
        self.reductions = 0       # number of times the reducer fired
        self._epoch_lr: float | None = None  # lr used during the current epoch

    def step_lr(self, epoch: int) -> float:
        return keras_step_lr(epoch, self.base_lr, self.steps)

    def lr(self, epoch, step):
        s = self.step_lr(epoch)
        if self.faithful:
            out = s
        else:
            out = max(s * self.scale, min(self.min_lr, s)) if self.scale != 1.0 else s
        self._epoch_lr = out
        return out

    def _improved(self, current: float) -> bool:
        if self.mode_min:
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_epoch_end(self, epoch, metrics):
        lr_now = self._epoch_lr if self._epoch_lr is not None else self.lr(epoch, 0)
        logged = lr_now
        reduced = False
        current = metrics.get(self.monitor)
        if current is None:
            raise KeyError(f"keras_step_plateau monitors {self.monitor!r}, metrics have {sorted(metrics)}")
        current = float(current)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.cooldown_counter > 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(np.float32(lr_now))
                if old > float(np.float32(self.min_lr)):
                    new = max(old * self.factor, self.min_lr)
                    logged = new
                    reduced = True
                    self.reductions += 1
                    if not self.faithful:
                        self.scale *= self.factor
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
        self.last_log = {"lr_logged": logged, "plateau_reduced": reduced,
                         "plateau_reductions": self.reductions}

    def state_dict(self):
        return {"name": self.name, "best": self.best, "wait": self.wait,
                "cooldown_counter": self.cooldown_counter, "scale": self.scale,
                "reductions": self.reductions}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.best = float(state["best"])
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.scale = float(state["scale"])
        self.reductions = int(state["reductions"])


def _take(spec: dict, allowed: dict) -> dict:
    """Options from ``spec`` (minus ``name``) with defaults; unknown keys are an error."""
    opts = {k: v for k, v in spec.items() if k != "name"}
    unknown = set(opts) - set(allowed)
    if unknown:
        raise ValueError(f"schedule {spec.get('name')!r}: unknown options {sorted(unknown)}; "
                         f"allowed: {sorted(allowed)}")
    return {k: opts.get(k, d) for k, d in allowed.items()}


#: every schedule's options with their defaults (the config schema's ``schedule_options``
#: declares the same names for the DAG-time check; a test keeps the two equal)
SCHEDULE_OPTIONS: dict[str, dict[str, Any]] = {
    "constant": {},
    "exp_decay": {"lam": None, "lambda": None},
    "range_test": {"lr_start": 1e-9, "lr_end": 10.0, "epochs": None},
    "clr": {"min_lr": None, "max_lr": None, "step_size": None, "step_size_epochs": None, "mode": "triangular",
            "gamma": 1.0},
    "keras_step_plateau": {"steps": SEED003_STEPS, "factor": math.sqrt(0.1), "patience": 5, "min_lr": 0.5e-6,
                           "monitor": "val_loss", "mode": "auto", "min_delta": 1e-4, "cooldown": 0,
                           "faithful": True},
}
_NAMES = tuple(SCHEDULE_OPTIONS)


def schedule_names() -> list[str]:
    return list(_NAMES)


def build_schedule(spec: dict | str | None, base_lr: float, steps_per_epoch: int,
                   epochs: int) -> Schedule:
    """Build the schedule named by ``spec["name"]`` (``None`` or a bare name also accepted)."""
    if spec is None:
        spec = {"name": "constant"}
    elif isinstance(spec, str):
        spec = {"name": spec}
    name = spec.get("name")
    if name == "constant":
        _take(spec, SCHEDULE_OPTIONS["constant"])
        return Constant(base_lr)
    if name == "exp_decay":
        o = _take(spec, SCHEDULE_OPTIONS["exp_decay"])
        lam = o["lam"] if o["lam"] is not None else o["lambda"]
        if lam is None:
            raise ValueError("exp_decay needs 'lam'")
        return ExpDecay(base_lr, lam)
    if name == "range_test":
        o = _take(spec, SCHEDULE_OPTIONS["range_test"])
        n = epochs if o["epochs"] is None else o["epochs"]
        return RangeTest(o["lr_start"], o["lr_end"], int(n) * int(steps_per_epoch))
    if name == "clr":
        o = _take(spec, SCHEDULE_OPTIONS["clr"])
        if o["max_lr"] is None:
            raise ValueError("clr needs 'max_lr'")
        if (o["step_size"] is None) == (o["step_size_epochs"] is None):
            raise ValueError("clr needs exactly one of 'step_size' (iterations) or 'step_size_epochs'")
        step_size = o["step_size"] if o["step_size"] is not None else o["step_size_epochs"] * steps_per_epoch
        min_lr = base_lr if o["min_lr"] is None else o["min_lr"]
        return CyclicLR(min_lr, o["max_lr"], step_size, o["mode"], o["gamma"])
    if name == "keras_step_plateau":
        o = _take(spec, SCHEDULE_OPTIONS["keras_step_plateau"])
        return KerasStepPlateau(base_lr=base_lr, **o)
    raise ValueError(f"unknown schedule {name!r}; known: {', '.join(_NAMES)}")
