"""The cost model of a torch run: what it costs to train, and what its job asks a scheduler for.

* :func:`run_samples`: the samples a run processes per epoch (train, evaluation) and once
  (test), from the dataset's sizes and its settings; mirrors the engine's splits and loop.
* :func:`train_fields` / :func:`eval_fields`: what sets the cost of a training / evaluated
  sample (a run's *timing group*). Runs with equal fields share one measurement.
* :class:`Costs`: the measured seconds and memory per sample of every timing group, per
  device, in a small committed file (``benchmarks/costs.yaml``) that
  ``benchmarks/budget.py --write-costs`` writes (:func:`write_costs`) and the rules read.
  A group measured only on the CPU gets its GPU seconds from the file's stated
  ``gpu_factor`` (CPU seconds / GPU seconds).
* :func:`estimate`: one run's seconds and peak memory on a device.
* :func:`job_request`: the run's Snakemake resources ``runtime`` (minutes) and ``mem_mb``
  from the estimate and the build's ``cluster`` settings (safety factors, floors), and
  whether it is small enough to be grouped with other small runs on a cluster.

Imported by the rules at DAG time: json, math and yaml only (no torch).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from dlrepro.training.loop_defaults import EVAL_CHUNK, LOOP_DEFAULTS

__all__ = ["REAL_SIZES", "IMAGE_SHAPES", "DEVICES", "Costs", "Estimate", "run_samples", "eval_fields",
           "train_fields", "key_of", "images_per_step", "estimate", "job_request", "load_costs", "write_costs"]

# (train, test) samples of the published datasets, and their images (C, H, W; uint8)
REAL_SIZES = {"kmnist": (60000, 10000), "fashion_mnist": (60000, 10000), "cifar10": (50000, 10000)}
IMAGE_SHAPES = {"kmnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
DEVICES = ("cpu", "cuda")
GPU_FACTOR = 10  # a costs file without its own gpu_factor: CPU seconds / GPU seconds
CUDA_CONTEXT_MB = 2000  # ... without its own cuda_context_mb: host memory of a CUDA context
MB = 2 ** 20


# ----------------------------------------------------------------------------- samples
def run_samples(s: dict, sizes: tuple[int, int] | None = None) -> dict:
    """Samples a run processes, from the dataset's (train, test) sizes (default: the real
    ones): per epoch ``train`` (before augmentation copies) and ``eval`` (validation plus the
    loop's train-accuracy pass), ``test`` once at the end, and ``epochs``. Mirrors
    dlrepro.training.trainer.make_splits and Trainer.run_epoch."""
    n_train, n_test = sizes or REAL_SIZES[s["dataset"]]
    loop = {**LOOP_DEFAULTS, **s.get("loop", {})}
    cap = lambda n, c: n if c is None else min(n, c)  # noqa: E731
    val = s["val_split"]["size"] if s.get("val_split") else 0
    pool = n_train - val                       # the training split after the validation split
    train = cap(pool, s.get("train_subset"))
    ev = s.get("eval_subset")
    val_n = cap(val or n_test, ev)             # no val_split: the test split validates
    acc = {"running": 0, "eval_full": cap(pool, ev)}.get(loop["train_acc"], train)
    test = cap(n_test, ev) if val and s.get("eval_test") else 0
    return {"epochs": s["epochs"], "train": train, "eval": val_n + acc, "test": test}


def images_per_step(s: dict) -> int:
    """Images in one forward/backward step: the micro-batch (or batch) times augmentation copies."""
    return (s.get("micro_batch") or s["batch_size"]) * (s.get("augment") or {}).get("repeat", 1)


# ----------------------------------------------------------------------------- timing groups
def eval_fields(s: dict) -> dict:
    """What sets the cost of an evaluated sample (evaluation runs in EVAL_CHUNK chunks: the
    batch size plays no part)."""
    return {"dataset": s["dataset"], "model": s["model"], "model_args": s.get("model_args", {}),
            "precision": s.get("precision", "fp32"), "resize": (s.get("preprocess") or {}).get("resize"),
            "replicates": s.get("replicates", 1), "channels_last": bool(s.get("channels_last")),
            "compile": bool(s.get("compile"))}


def train_fields(s: dict) -> dict:
    """What sets the cost of a training sample: runs with equal fields share one timing."""
    return {**eval_fields(s), "batch_size": s["batch_size"], "micro_batch": s.get("micro_batch"),
            "augment": s.get("augment"), "optimizer": s["optimizer"]["name"], "l2": bool(s.get("l2")),
            "clip_grad_norm": bool(s.get("clip_grad_norm")),
            "record_batches": bool((s.get("loop") or {}).get("record_batches"))}  # a sync per step


def key_of(fields: dict) -> str:
    return json.dumps(fields, sort_keys=True)


def _model_key(fields: dict) -> str:
    return key_of({k: fields[k] for k in ("dataset", "model", "model_args")})


# ----------------------------------------------------------------------------- the costs file
@dataclass
class Estimate:
    seconds: float | None       # training + evaluation, whole run, on ``device`` (None: no figure)
    mem_mb: float | None        # peak resident memory of the training process
    device: str
    source: str                 # "measured", "gpu_factor" (CPU figure / factor), "model" (nearest
                                # group of the same model, slowest), or "none"


class Costs:
    """The costs file: ``groups`` (a list of {key: train fields, cpu: {...}, cuda: {...}}),
    ``gpu_factor``, ``cuda_context_mb``, ``base_mb`` and ``startup_s`` per device, and
    ``measured`` (where and how each device's figures were taken). A device figure of a
    group holds ``train_s`` and ``eval_s`` (seconds per training / evaluated sample) and
    the memory measured around them: ``fixed_mb`` (model and optimizer), ``train_mb`` (one
    step of ``train_images`` images), ``eval_mb`` (one evaluation pass of ``eval_images``)."""

    def __init__(self, doc: dict | None = None):
        doc = doc or {}
        self.doc = doc
        self.gpu_factor = float(doc.get("gpu_factor") or GPU_FACTOR)
        self.cuda_context_mb = float(doc.get("cuda_context_mb") or CUDA_CONTEXT_MB)
        self.base_mb = doc.get("base_mb") or {}
        self.startup_s = doc.get("startup_s") or {}
        self.by_key = {key_of(g["key"]): g for g in doc.get("groups") or []}
        self.by_model: dict[str, list[dict]] = {}
        for g in self.by_key.values():
            self.by_model.setdefault(_model_key(g["key"]), []).append(g)

    def figure(self, s: dict, device: str) -> tuple[dict | None, str]:
        """(per-sample figure on ``device``, source): the run's own group measured on the
        device, else its CPU figure scaled by gpu_factor (device cuda), else the slowest
        measured group of the same dataset, model and model arguments (another batch,
        precision ...), else (None, "none")."""
        fields = train_fields(s)
        own = self.by_key.get(key_of(fields))
        candidates = [own] if own else sorted(self.by_model.get(_model_key(fields), []),
                                              key=lambda g: -(g.get("cpu") or {}).get("train_s", 0))
        for g in candidates:
            if g.get(device):
                return g[device], "measured" if g is own else "model"
            if device == "cuda" and g.get("cpu"):
                cpu = g["cpu"]
                fig = {**cpu, "train_s": cpu["train_s"] / self.gpu_factor, "eval_s": cpu["eval_s"] / self.gpu_factor}
                return fig, "gpu_factor" if g is own else "model"
        return None, "none"


class _Flow(dict):
    """A mapping written on one line (a group's key)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda d, m: d.represent_mapping("tag:yaml.org,2002:map", m.items(), flow_style=True))


def load_costs(path: str | Path) -> Costs:
    """The costs file, or an empty table (every run falls back) where there is none."""
    p = Path(path)
    if not p.exists():
        return Costs()
    with open(p) as fh:
        return Costs(yaml.safe_load(fh))


def write_costs(path: str | Path, device: str, groups: list[tuple[dict, dict]], meta: dict,
                base_mb: float, startup_s: float, header: str = "") -> dict:
    """Merge freshly measured figures of ``device`` into the costs file at ``path``: each
    (train fields, figure) replaces that group's figure for the device; other groups and
    the other device's figures stay. Returns the document written."""
    p = Path(path)
    doc = {}
    if p.exists():
        with open(p) as fh:
            doc = yaml.safe_load(fh) or {}
    doc.setdefault("gpu_factor", GPU_FACTOR)
    doc.setdefault("cuda_context_mb", CUDA_CONTEXT_MB)
    doc.setdefault("measured", {})[device] = meta
    doc.setdefault("base_mb", {})[device] = round(base_mb, 1)
    doc.setdefault("startup_s", {})[device] = round(startup_s, 2)
    by_key = {key_of(g["key"]): g for g in doc.get("groups") or []}
    for fields, fig in groups:
        by_key.setdefault(key_of(fields), {"key": fields})[device] = fig
    doc["groups"] = [{**g, "key": _Flow(g["key"])} for g in sorted(by_key.values(), key=lambda g: key_of(g["key"]))]
    order = ["gpu_factor", "cuda_context_mb", "measured", "base_mb", "startup_s", "groups"]
    doc = {k: doc[k] for k in order if k in doc} | {k: v for k, v in doc.items() if k not in order}
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=120)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(header + text)
    tmp.replace(p)
    return doc


# ----------------------------------------------------------------------------- estimates
def data_mb(s: dict, sizes: tuple[int, int] | None = None) -> float:
    """The prepared dataset in memory (uint8 images, int64 labels); a validation split is a
    copy of the training set (make_splits indexes it with a permutation)."""
    n_train, n_test = sizes or REAL_SIZES[s["dataset"]]
    per = math.prod(IMAGE_SHAPES[s["dataset"]]) + 8
    copies = 2 if s.get("val_split") else 1
    return ((n_train * copies + n_test) * per) / MB


def estimate(s: dict, costs: Costs, device: str, sizes: tuple[int, int] | None = None) -> Estimate:
    """One run's seconds (``epochs * (train * s/train sample + eval * s/eval sample) + test
    * s/eval sample``; start-up is left to :func:`job_request`) and peak resident memory:
    the measured process base + the dataset + model and optimizer + (on the CPU) the larger
    of one training step and one evaluation chunk, each scaled linearly from the measured
    number of images to the run's. On a GPU the activations live on the device; the host
    holds the process (measured with its CUDA context, else the CPU base + the file's
    stated ``cuda_context_mb``), the dataset and a copy of the model."""
    fig, source = costs.figure(s, device)
    if fig is None:
        return Estimate(None, None, device, "none")
    n = run_samples(s, sizes)
    sec = n["epochs"] * (n["train"] * fig["train_s"] + n["eval"] * fig["eval_s"]) + n["test"] * fig["eval_s"]
    mem = data_mb(s, sizes) + fig.get("fixed_mb", 0)
    if device == "cuda":
        base = costs.base_mb.get("cuda")
        mem += base if base is not None else costs.base_mb.get("cpu", 0) + costs.cuda_context_mb
    else:
        step = fig.get("train_mb", 0) * images_per_step(s) / max(1, fig.get("train_images", 1))
        chunk = min(EVAL_CHUNK, max(n["eval"], n["test"], 1))
        evals = fig.get("eval_mb", 0) * chunk / max(1, fig.get("eval_images", 1))
        mem += costs.base_mb.get("cpu", 0) + max(step, evals)
    return Estimate(sec, mem, device, source)


def job_request(est: Estimate, policy: dict, startup_s: float = 0.0) -> dict:
    """Snakemake resources of a training job from its estimate and the build's ``cluster``
    settings: ``runtime`` = (estimate + start-up) x safety, in whole minutes, at least
    min_runtime; ``mem_mb`` = peak x mem_safety + job_overhead_mb, rounded up to 100 MB, at
    least min_mem_mb; ``small``: a CPU job whose runtime is below group_below (minutes), to
    be grouped with other small ones on a cluster (never a GPU job: a group runs its jobs
    side by side and would ask for a GPU per job). A run without a figure gets the
    fallback resources and is never small."""
    if est.seconds is None:
        fb = policy["fallback"]
        return {"runtime": int(fb["runtime"]), "mem_mb": int(fb["mem_mb"]), "small": False,
                "estimate_s": None, "source": est.source}
    runtime = max(int(policy["min_runtime"]), math.ceil((est.seconds + startup_s) * policy["safety"] / 60))
    mem = est.mem_mb * policy["mem_safety"] + policy["job_overhead_mb"]
    mem_mb = max(int(policy["min_mem_mb"]), 100 * math.ceil(mem / 100))
    small = est.device == "cpu" and runtime < policy["group_below"]
    return {"runtime": runtime, "mem_mb": mem_mb, "small": small,
            "estimate_s": est.seconds, "source": est.source}
