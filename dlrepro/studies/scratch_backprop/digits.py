"""Sections 1.5-1.6: the binary digits task, the training loop, and the run chain.

Data: scikit-learn's 8x8 digits (shipped with scikit-learn), label 1 for digits < 5
(the write-up's code; its prose says the opposite), standardised with the global mean and
standard deviation of all pixels, split 50/50 by ``default_rng(12345).permutation``.

Training (``fit``) is the write-up's loop: mini-batches taken in order without shuffling,
the last partial batch dropped, the BCE gradient *not* divided by the batch size,
the epoch's loss and accuracy the mean over its mini-batches.

The RNG chain: in the write-up, every network draws its initial weights from one variable
``rng``. Some cells re-seed it (``rng = np.random.default_rng(12345)``) before building
a network; others build the next network from the state the previous construction left
(training itself draws nothing). A run's ``rng: continue`` therefore means: replay the
weight draws of the runs since the last re-seed, then draw this run's weights.
``run_plans`` turns the configured run list into self-contained plans (``rng_replay``
lists the Linear shapes to draw first), so every run is an independent job.

Checkpointing: ``train_run`` writes, after every epoch, an atomic pickle with the
parameters, the generator state, the epoch and the history; a restarted run resumes from
it and gives bit-identical results; the checkpoint is removed once the run is complete.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
from pathlib import Path
from typing import Callable

import numpy as np

from dlrepro.ioutil import atomic_path
from dlrepro.studies.scratch_backprop.nn import Net, bce_loss, bce_loss_grad, build_net, linear_shapes

__all__ = ["load_digits_binary", "split_train_test", "prepare_digits", "save_split", "load_split",
           "run_plans", "init_generator", "init_net", "fit", "epoch_line", "train_run",
           "save_checkpoint", "load_checkpoint", "plan_fingerprint", "HISTORY_KEYS",
           "CHECKPOINT_NAME"]

HISTORY_KEYS = ("loss_train", "acc_train", "loss_test", "acc_test")
CHECKPOINT_NAME = "state.pkl"
CHECKPOINT_VERSION = 1


# ----------------------------------------------------------------------------- data
def load_digits_binary(positive_below: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Digits features standardised with the global mean/std, labels ``digit < k``."""
    import sklearn.datasets

    dataset = sklearn.datasets.load_digits()
    digits_x, digits_y = dataset["data"], dataset["target"]
    digits_y = (digits_y < positive_below).astype(float)
    digits_x = np.array(digits_x, dtype=float)
    digits_x -= np.mean(digits_x)
    digits_x /= np.std(digits_x)
    return digits_x, digits_y


def split_train_test(x: np.ndarray, y: np.ndarray, train_prop: float = 0.5,
                     seed: int = 12345) -> tuple[dict, dict]:
    n_train = int(x.shape[0] * train_prop)
    idxs = np.random.default_rng(seed).permutation(x.shape[0])
    xs = {"train": x[idxs[:n_train]], "test": x[idxs[n_train:]]}
    ys = {"train": y[idxs[:n_train]], "test": y[idxs[n_train:]]}
    return xs, ys


def prepare_digits(positive_below: int = 5, train_prop: float = 0.5, split_seed: int = 12345):
    """(x, y, stats): split dicts and the statistics the write-up prints about the data."""
    dx, dy = load_digits_binary(positive_below)
    x, y = split_train_test(dx, dy, train_prop, split_seed)
    stats = {
        "digits_x.shape": list(dx.shape), "digits_y.shape": list(dy.shape),
        "min": float(np.min(dx)), "max": float(np.max(dx)),
        "labels": [float(v) for v in np.unique(dy)],
        "n_train": int(x["train"].shape[0]), "n_test": int(x["test"].shape[0]),
        "positive_fraction_train": float(np.mean(y["train"])),
        "positive_fraction_test": float(np.mean(y["test"])),
    }
    return x, y, stats


def save_split(path: str | os.PathLike, x: dict, y: dict) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, x_train=x["train"], y_train=y["train"], x_test=x["test"], y_test=y["test"])


def load_split(path: str | os.PathLike) -> tuple[dict, dict]:
    with np.load(path) as z:
        return ({"train": z["x_train"], "test": z["x_test"]},
                {"train": z["y_train"], "test": z["y_test"]})


# ----------------------------------------------------------------------------- run chain
def run_plans(digits: dict) -> dict[str, dict]:
    """Name -> self-contained plan for every configured run (and its Xavier variant).

    ``digits`` is the ``settings.digits`` mapping (``max_epochs``, optional, caps every
    run's epochs: a preset's quick check). A plan holds everything the run's
    result depends on: layers, epochs, learning rate, mini-batch size, init rule, the
    generator seed, and ``rng_replay``, the Linear shapes drawn from the generator since
    its last re-seed before this run's own draws.
    """
    seed = digits.get("init_seed", 12345)
    fixed = digits.get("fixed_variants", [])
    cap = digits.get("max_epochs")  # a preset's cap (smoke); None: the write-up's epochs
    plans: dict[str, dict] = {}
    drawn: list[list[int]] | None = None  # draws since the last re-seed
    for i, run in enumerate(digits["runs"]):
        name = run["name"]
        if name in plans:
            raise ValueError(f"two digits runs are named {name!r}")
        if run["rng"] == "reseed":
            drawn = []
        elif drawn is None:
            raise ValueError(f"run {name!r} continues the generator, but no run before it seeded it")
        epochs = int(run["epochs"]) if cap is None else min(int(run["epochs"]), int(cap))
        plan = {"name": name, "layers": list(run["layers"]), "epochs": epochs,
                "learning_rate": float(run["learning_rate"]), "mb_size": int(run["mb_size"]),
                "init": "seed", "rng_seed": int(seed), "rng_replay": [list(s) for s in drawn]}
        plans[name] = plan
        drawn = drawn + [list(s) for s in linear_shapes(run["layers"])]
    unknown = set(fixed) - set(plans)
    if unknown:
        raise ValueError(f"fixed_variants names unknown runs: {sorted(unknown)}")
    for name in list(plans):
        if name in fixed:
            v = dict(plans[name], name=f"{name}_xavier", init="xavier")
            plans[v["name"]] = v
    return plans


def init_generator(seed: int, replay: list) -> np.random.Generator:
    """A generator seeded with ``seed`` after the weight draws of ``replay`` (shapes)."""
    rng = np.random.default_rng(seed)
    for n_in, n_out in replay:
        a = np.sqrt(6 / (n_in * n_out))
        rng.uniform(-a, a, size=(n_in, n_out))
    return rng


def init_net(plan: dict) -> tuple[Net, np.random.Generator]:
    rng = init_generator(plan["rng_seed"], plan["rng_replay"])
    net = build_net(plan["layers"], rng, init=plan.get("init", "seed"))
    return net, rng


# ----------------------------------------------------------------------------- training
def epoch_line(epoch: int, m: dict) -> str:
    """The write-up's log line (``%7.4f`` values)."""
    return ("Epoch %3d: loss[train]=%7.4f accuracy[train]=%7.4f loss[test]=%7.4f accuracy[test]=%7.4f"
            % (epoch, m["loss_train"], m["acc_train"], m["loss_test"], m["acc_test"]))


def fit(net: Net, x: dict, y: dict, epochs: int = 25, learning_rate: float = 0.001, mb_size: int = 10,
        start_epoch: int = 0, history: dict | None = None,
        on_epoch: Callable[[int, dict], None] | None = None) -> dict:
    """The write-up's ``fit``; returns the history ``{loss_train: [...], ...}``.

    ``start_epoch`` and ``history`` continue an interrupted run; ``on_epoch(epoch,
    history)`` is called after every epoch (checkpointing, logging)."""
    hist = {k: list(v) for k, v in (history or {k: [] for k in HISTORY_KEYS}).items()}
    for epoch in range(start_epoch, epochs):
        loss = {"train": 0.0, "test": 0.0}
        accuracy = {"train": 0.0, "test": 0.0}
        for phase in ("train", "test"):
            steps = x[phase].shape[0] // mb_size
            for step in range(steps):
                x_mb = x[phase][(step * mb_size):((step + 1) * mb_size)]
                y_mb = y[phase][(step * mb_size):((step + 1) * mb_size), None]
                pred_y, trace = net.forward(x_mb)
                loss[phase] += np.mean(bce_loss(y_mb, pred_y))
                accuracy[phase] += np.mean((y_mb > 0.5) == (pred_y > 0.5))
                if phase == "train":
                    dy = bce_loss_grad(y_mb, pred_y)
                    net.backward(trace, dy)
                    net.step(learning_rate)
            loss[phase] = loss[phase] / steps
            accuracy[phase] = accuracy[phase] / steps
        hist["loss_train"].append(float(loss["train"]))
        hist["acc_train"].append(float(accuracy["train"]))
        hist["loss_test"].append(float(loss["test"]))
        hist["acc_test"].append(float(accuracy["test"]))
        if on_epoch is not None:
            on_epoch(epoch, hist)
    return hist


# ----------------------------------------------------------------------------- checkpoints
def plan_fingerprint(plan: dict, x: dict | None = None, y: dict | None = None) -> str:
    """Hash of the plan (and of the data, when given): a checkpoint is resumed only by
    the run that wrote it."""
    h = hashlib.sha256(json.dumps(plan, sort_keys=True).encode())
    for d in (x, y):
        if d is not None:
            for k in sorted(d):
                h.update(k.encode())
                h.update(np.ascontiguousarray(d[k]).tobytes())
    return h.hexdigest()[:16]


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Pickle ``state`` atomically (a crash never leaves a truncated checkpoint)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_checkpoint(path: str | os.PathLike) -> dict | None:
    path = Path(path)
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        return pickle.load(fh)


def train_run(plan: dict, x: dict, y: dict, checkpoint_dir: str | os.PathLike | None = None,
              log: Callable[[str], None] | None = None,
              on_epoch: Callable[[int, dict], None] | None = None) -> dict:
    """Train one planned run, checkpointing after every epoch and resuming from an
    existing checkpoint of the same plan. Returns ``{"history", "final", "resumed_from",
    "train_seconds", "fingerprint", "rng_state"}``. The checkpoint is *not* removed here:
    call :func:`remove_checkpoint` once the outputs are written."""
    log = log or (lambda msg: None)
    fp = plan_fingerprint(plan, x, y)
    ckpt = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
    net, rng = init_net(plan)
    start, history, resumed_from = 0, None, None
    if ckpt is not None:
        state = load_checkpoint(ckpt)
        if state is not None and state.get("version") == CHECKPOINT_VERSION and state.get("fingerprint") == fp:
            net.set_params(state["params"])
            rng.bit_generator.state = state["rng_state"]
            start = state["epoch"] + 1
            history = state["history"]
            resumed_from = state["epoch"]
            log(f"resuming {plan['name']} after epoch {state['epoch']} from {ckpt}")
        elif state is not None:
            log(f"ignoring checkpoint {ckpt}: written by another plan or version")

    def _on_epoch(epoch: int, hist: dict) -> None:
        log(epoch_line(epoch, {k: hist[k][-1] for k in HISTORY_KEYS}))
        if ckpt is not None:
            save_checkpoint(ckpt, {"version": CHECKPOINT_VERSION, "fingerprint": fp, "plan": plan,
                                   "epoch": epoch, "params": net.get_params(),
                                   "rng_state": rng.bit_generator.state, "history": hist})
        if on_epoch is not None:
            on_epoch(epoch, hist)

    t0 = time.perf_counter()
    history = fit(net, x, y, epochs=plan["epochs"], learning_rate=plan["learning_rate"],
                  mb_size=plan["mb_size"], start_epoch=start, history=history, on_epoch=_on_epoch)
    seconds = time.perf_counter() - t0
    final = {k: history[k][-1] for k in HISTORY_KEYS} if history["loss_train"] else {}
    return {"history": history, "final": final, "resumed_from": resumed_from, "train_seconds": seconds,
            "fingerprint": fp, "rng_state": rng.bit_generator.state, "params": net.get_params()}


def remove_checkpoint(checkpoint_dir: str | os.PathLike) -> None:
    d = Path(checkpoint_dir)
    p = d / CHECKPOINT_NAME
    if p.exists():
        p.unlink()
    try:
        d.rmdir()
    except OSError:
        pass


__all__.append("remove_checkpoint")
