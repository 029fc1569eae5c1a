"""Presets and the expansion of every torch study's experiments into resolved runs.

``resolve(raw)`` validates the merged config (:mod:`dlrepro.config.validate`), applies
the chosen preset, and expands every experiment into runs, each checked again so that a
bad value inside a grid or a case is reported with its place (and its file).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dlrepro.config.checks import (check_outputs, check_references, in_file, model_problem, run_name_problem,
                                   schedule_problem)
from dlrepro.config.load import ConfigError, deep_merge, locator, merged_config
from dlrepro.config.validate import non_finite, schema, settings_schema, validate, validate_options

_MISSING = object()
RUN_NAME_RE = re.compile(r"^(?!\.+$)[A-Za-z0-9_.+-]+$")  # not "." or ".." (checks.run_name_problem)
METRIC_DEPENDENT_SCHEDULES = {"keras_step_plateau"}
# the build's `cluster` settings where config.yaml does not give them (see its comments)
CLUSTER_DEFAULTS = {"costs": "benchmarks/costs.yaml", "safety": 2.0, "min_runtime": 10, "mem_safety": 1.5,
                    "job_overhead_mb": 300, "min_mem_mb": 1000, "group_below": 30,
                    "fallback": {"runtime": 720, "mem_mb": 4000}}


@dataclass
class Run:
    study: str
    experiment: str
    name: str
    settings: dict          # everything the training depends on (the rule's params)

    @property
    def key(self) -> str:
        return f"{self.study}/{self.experiment}/{self.name}"


@dataclass
class Resolved:
    preset: str
    results: str            # results/{preset}
    device: str
    data: dict
    scale: dict | None
    tolerances: dict
    studies: dict           # study name -> study mapping (after the preset)
    runs: dict[str, Run]    # "study/experiment/run" -> Run
    notes: list[str] = field(default_factory=list)  # what the preset changed, for the log
    ledgers: dict = field(default_factory=dict)  # study -> expanded ledger (dlrepro.config.ledger)
    cluster: dict = field(default_factory=lambda: deep_merge(CLUSTER_DEFAULTS, {}))  # job resources

    def study_runs(self, study: str, experiments: list[str] | None = None,
                   where: dict | None = None) -> list[Run]:
        """Runs of a study, optionally only those of some experiments and whose settings
        hold the given values (``where``: dotted key -> value)."""
        return [r for r in self.runs.values() if r.study == study
                and (experiments is None or r.experiment in experiments)
                and all(get_dotted(r.settings, k) == v for k, v in (where or {}).items())]

    def datasets(self) -> list[str]:
        return sorted({r.settings["dataset"] for r in self.runs.values()})


# ----------------------------------------------------------------------------- mappings
def undot(flat: dict) -> dict:
    """{"optimizer.lr": 1e-3} -> {"optimizer": {"lr": 1e-3}} (nested dicts merged)."""
    out: dict = {}
    for key, value in flat.items():
        parts = key.split(".")
        if not all(parts):
            raise ConfigError(f"bad dotted key {key!r}")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"key {key!r} conflicts with a value set above it")
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = deep_merge(node[parts[-1]], value)
        else:
            node[parts[-1]] = value
    return out


def get_dotted(d: dict, key: str, default: Any = None) -> Any:
    node: Any = d
    for p in key.split("."):
        if not isinstance(node, dict) or p not in node:
            return default
        node = node[p]
    return node


def canonical(obj: Any) -> Any:
    """Sort mapping keys recursively so that params compare by content."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    return obj


def settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(canonical(settings), sort_keys=True).encode()).hexdigest()[:16]


def fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return repr(v)
    return str(v)


# ----------------------------------------------------------------------------- expansion
def _run_name(template: str | None, point: dict) -> str:
    if template:
        nested = undot(point)

        def sub(m):
            key = m.group(1)
            value = point[key] if key in point else get_dotted(nested, key, _MISSING)
            if value is _MISSING:
                raise ConfigError(f"run name template {template!r} uses {{{key}}}, which is not a swept key")
            return fmt_value(value)
        return re.sub(r"\{([^{}]+)\}", sub, template)
    if not point:
        return "run"
    return "_".join(f"{k.split('.')[-1]}-{fmt_value(v)}" for k, v in point.items())


def _points(exp: dict, where: str) -> list[tuple[str | None, dict]]:
    if "grid" in exp:
        keys = list(exp["grid"])
        return [(None, dict(zip(keys, combo))) for combo in itertools.product(*exp["grid"].values())]
    if "cases" in exp:
        out = []
        for i, case in enumerate(exp["cases"]):
            case = dict(case)
            name = case.pop("name", None)
            if name is not None and not isinstance(name, str):
                raise ConfigError(f"{where}.cases[{i}].name: must be a string")
            out.append((name, case))
        return out
    return [(None, {})]


def _apply_scale(settings: dict, scale: dict | None) -> dict:
    if not scale:
        return settings
    s = dict(settings)
    if "epochs" in scale:
        s["epochs"] = min(s["epochs"], scale["epochs"])
    if "train_subset" in scale:
        s["train_subset"] = min(s.get("train_subset") or scale["train_subset"], scale["train_subset"])
    if "eval_subset" in scale:
        s["eval_subset"] = min(s.get("eval_subset") or scale["eval_subset"], scale["eval_subset"])
    repeat = int((s.get("augment") or {}).get("repeat", 1))
    if "train_images" in scale and repeat > 1:
        # batch augmentation: M copies of each image; the epoch keeps about train_images images
        s["train_subset"] = max(1, min(s.get("train_subset") or 10**9, scale["train_images"] // repeat))
    if s.get("val_split"):
        # keep a validation split that a scaled-down synthetic train set can hold
        s["val_split"] = {**s["val_split"], "size": min(s["val_split"]["size"], scale.get("eval_subset", 10**9))}
    return s


def study_scale(study: dict, scale: dict | None) -> dict | None:
    """The preset's caps, tightened by the study's ``smoke_scale`` (the smaller of each
    pair) when the preset scales runs at all; the full preset (no scale) is untouched."""
    if not scale or not study.get("smoke_scale"):
        return scale
    return {**scale, **{k: min(v, scale[k]) if k in scale else v for k, v in study["smoke_scale"].items()}}


def _file(locate: Callable[[tuple], str | None] | None, *parts) -> str | None:
    return locate(parts) if locate else None


def expand_study(study_name: str, study: dict, scale: dict | None, overrides: dict | None = None,
                 locate: Callable[[tuple], str | None] | None = None) -> list[Run]:
    runs: list[Run] = []
    scale = study_scale(study, scale)
    run_keys = set(schema()["$defs"]["run"]["properties"]) | {"init_from"}
    defaults = study.get("defaults", {})
    for exp_name, exp in study.get("experiments", {}).items():
        where = f"studies.{study_name}.experiments.{exp_name}"
        fname = _file(locate, "studies", study_name, "experiments", exp_name)
        at = f"{fname}: " if fname else ""
        base = deep_merge(defaults, undot(exp.get("set", {})))
        seen: set[str] = set()
        for name, point in _points(exp, at + where):
            for key in point:
                if key.split(".")[0] not in run_keys:
                    raise ConfigError(f"{at}{where}: unknown run key {key.split('.')[0]!r} in {key!r} "
                                      f"(allowed: {', '.join(sorted(run_keys))})")
            settings = deep_merge(deep_merge(base, undot(point)), overrides or {})
            try:
                name = name or _run_name(exp.get("name"), point)
            except ConfigError as e:
                raise ConfigError(f"{at}{where}: {e}") from None
            if run_name_problem(name):
                raise ConfigError(f"{at}{where}: {run_name_problem(name)}")
            if name in seen:
                raise ConfigError(f"{at}{where}: two runs are named {name!r}; give the cases distinct names")
            seen.add(name)
            validate(settings, "run_resolved", where=f"{where} (run {name})", locate=lambda _parts: fname)
            validate_options(settings, where=f"{where} (run {name})", locate=lambda _parts: fname)
            problem = (schedule_problem(settings.get("schedule")) or model_problem(settings)
                       or replicates_problem(settings))
            if problem:
                raise ConfigError(f"{at}{where} (run {name}): {problem}")
            settings = canonical(_apply_scale(settings, scale))
            runs.append(Run(study_name, exp_name, name, settings))
    return runs


def resolve(raw: dict, root: str | Path | None = None) -> Resolved:
    """Validate ``raw`` (Snakemake's ``config``), apply its preset, expand every run.

    ``raw["studies"]`` is the list of studies to build, read from ``root /
    raw.get("studies_dir", "studies")`` (root: the current directory by default), or a
    mapping of already merged studies (:func:`dlrepro.config.load_config`, tests)."""
    raw = merged_config(raw, root)
    locate = locator(raw)
    non_finite(raw, locate)
    validate(raw, schema(), locate=locate)
    for sname, study in raw["studies"].items():
        if isinstance(study.get("defaults"), dict):
            validate_options(study["defaults"], locate=locate, prefix=("studies", sname, "defaults"),
                             shown=("studies", sname, "defaults"))
    preset = raw.get("preset", "full")
    cfg = deep_merge({k: v for k, v in raw.items() if k != "presets"},
                     raw.get("presets", {}).get(preset, {}))
    notes = [f"preset {preset!r} sets {key} to {new!r} (over {old!r}; presets.{preset} in config.yaml)"
             for key, old, new in _overridden(raw, raw.get("presets", {}).get(preset, {}))]
    data = deep_merge({"source": "download", "root": "data", "mirror": None,
                       "synthetic": {"n_train": 2000, "n_test": 500, "seed": 0}}, cfg.get("data", {}))
    if data["source"] == "mirror" and not data.get("mirror"):
        raise ConfigError("data.mirror: source is 'mirror' but no mirror directory is given")
    runs: dict[str, Run] = {}
    for sname, study in cfg["studies"].items():
        if study["engine"] == "numpy" and study.get("settings") is not None:
            sub = settings_schema(sname)
            if sub is not None:
                validate(study["settings"], sub, where=f"studies.{sname}.settings",
                         locate=locate, prefix=("studies", sname, "settings"))
        if study["engine"] != "torch":
            continue
        for run in expand_study(sname, study, cfg.get("scale"), cfg.get("overrides"), locate):
            runs[run.key] = run
    check_references(runs, locate)
    check_outputs(cfg, runs, locate)
    ledgers = {sname: _ledger(sname, study, runs, locate) for sname, study in cfg["studies"].items()}
    return Resolved(preset=preset, results=f"{cfg.get('results', 'results')}/{preset}",
                    device=cfg.get("device", "auto"), data=data, scale=cfg.get("scale"),
                    tolerances=cfg.get("tolerances", {}), studies=cfg["studies"], runs=runs, notes=notes,
                    ledgers=ledgers, cluster=deep_merge(CLUSTER_DEFAULTS, cfg.get("cluster") or {}))


def resolved_device(raw: dict) -> str:
    """``resolve(raw).device`` without validating the config and expanding every run.

    A training job needs only this one value of the build's config; the full resolution
    (about 1 s of the job's start-up) already ran, on the same config, when Snakemake
    built the DAG. ``tests/config/test_config.py`` checks the two agree for every preset."""
    preset = raw.get("preset", "full")
    return ((raw.get("presets") or {}).get(preset) or {}).get("device", raw.get("device", "auto"))


def _ledger(sname: str, study: dict, runs: dict[str, Run], locate=None) -> dict:
    """A study's ledger, validated, expanded and checked against its runs and outputs."""
    from dlrepro.config import ledger

    raw = study.get("printed") or {}
    validate(raw, ledger.schema(), where=f"studies.{sname}.printed", locate=locate, prefix=("studies", sname, "printed"))
    at = in_file(locate, "studies", sname, "printed")
    try:
        out = ledger.expand(raw)
        ledger.check_references(out, {f"{r.experiment}/{r.name}" for r in runs.values() if r.study == sname},
                                set(study.get("analyses", {})), set(study.get("tables", {})), study["engine"])
    except ConfigError as e:
        raise ConfigError(f"{at}studies.{sname}.printed: {e}") from None
    return out


def _overridden(base: dict, preset: dict, path: str = ""):
    """(dotted key, value before, the preset's value) of every setting a preset changes."""
    for key, new in preset.items():
        old = base.get(key) if isinstance(base, dict) else None
        if isinstance(new, dict) and isinstance(old, dict):
            yield from _overridden(old, new, f"{path}{key}.")
        elif old is not None and old != new:
            yield f"{path}{key}", old, new


def replicates_problem(s: dict) -> str | None:
    """Why the run's ``replicates`` cannot train together in one job, or None."""
    if s.get("replicates", 1) <= 1:
        return None
    sched = (s.get("schedule") or {}).get("name")
    if sched in METRIC_DEPENDENT_SCHEDULES:
        return (f"replicates: schedule {sched!r} follows the run's own validation metrics, so replicates "
                "cannot share one learning rate; sweep `seed` in a grid instead")
    if s.get("loop", {}).get("record_batches"):
        return ("replicates: loop.record_batches (the LR range test) records one loss per batch; "
                "sweep `seed` in a grid instead")
    if s.get("compile"):
        return "replicates: `compile` is not supported together with replicates"
    aug = s.get("augment") or {}
    if aug.get("repeat_layout", "batch") != "batch" or aug.get("cutout_draw", "step") != "step":
        return ("replicates: augment.repeat_layout 'spread' and augment.cutout_draw 'once' (a write-up's "
                "pre-built M-fold training set) are single-run options; sweep `seed` in a grid instead")
    for opt in ("eval_batch_size", "final_eval", "final_eval_batch_sizes"):
        if s.get("loop", {}).get(opt):
            return (f"replicates: loop.{opt} (a write-up's batch-mean or after-training evaluation) is computed "
                    "for single runs only; sweep `seed` in a grid instead")
    return None
