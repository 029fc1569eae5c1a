"""Checks of the expanded runs that the JSON schema cannot express, run at DAG time by
:func:`dlrepro.config.resolve` so that a bad input is named before any job starts:

* run names: ``.`` and ``..`` (they would escape the experiment's folder);
* what a schedule needs (as ``build_schedule`` would refuse it at job time) and a
  ResNet v1 depth of 6n+2;
* references between runs: ``init_from`` and ``schedule.bounds_from`` name a run of the
  study, ``bounds_from`` an LR range test, and neither forms a cycle;
* every name a figure or table uses: its experiments, the settings keys of ``where``,
  ``x`` and ``hue``, and the metrics of ``y`` and ``metrics`` (:mod:`dlrepro.config.metrics`).

Every message names the file (where the config came from files), the key path, the run
and the problem. No imports beyond the config package: read at DAG time.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

from dlrepro.config import metrics
from dlrepro.config.load import ConfigError

__all__ = ["check_outputs", "check_references", "in_file", "model_problem", "run_name_problem",
           "schedule_problem"]

Locate = Callable[[tuple], "str | None"] | None
_MISSING = object()
RANGE_TEST = "an LR range test (schedule.name: range_test with loop.record_batches: true)"


def in_file(locate: Locate, *parts) -> str:
    """``"studies/<study>.yaml: "`` for an error message, or "" (a config built in memory)."""
    f = locate(parts) if locate else None
    return f"{f}: " if f else ""


def _lookup(settings: dict, key: str):
    node = settings
    for p in key.split("."):
        if not isinstance(node, dict) or p not in node:
            return _MISSING
        node = node[p]
    return node


# ----------------------------------------------------------------------------- one run
def run_name_problem(name: str) -> str | None:
    if re.fullmatch(r"\.+", name):
        return (f"run name {name!r} is not a folder name of its own ('.' and '..' point at the experiment's "
                "folder or above it); give the run a name with a letter or digit")
    if not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
        return f"run name {name!r} may hold only letters, digits and _.+- (no spaces, no path separators)"
    return None


def schedule_problem(schedule: dict | None) -> str | None:
    """What a schedule lacks or combines wrongly (its options' names and types are the
    schema's ``schedule_options``); None when ``build_schedule`` would accept it."""
    if not schedule:
        return None
    name = schedule.get("name")
    if name == "exp_decay" and ("lam" in schedule) == ("lambda" in schedule):
        return "schedule exp_decay needs exactly one of lam / lambda (the decay rate)"
    if name == "range_test" and schedule.get("lr_start", 1e-9) >= schedule.get("lr_end", 10.0):
        return "schedule range_test needs lr_start < lr_end"
    if name == "clr":
        if "max_lr" not in schedule and not schedule.get("bounds_from"):
            return "schedule clr needs max_lr, or bounds_from (an LR range test run) to take both bounds from"
        if ("step_size" in schedule) == ("step_size_epochs" in schedule):
            return "schedule clr needs exactly one of step_size (iterations) or step_size_epochs"
    if schedule.get("as_run_constant") and not schedule.get("bounds_from"):
        return "schedule.as_run_constant applies only with bounds_from"
    return None


def model_problem(settings: dict) -> str | None:
    depth = (settings.get("model_args") or {}).get("depth")
    if settings.get("model") == "resnet_v1" and depth is not None and (depth - 2) % 6:
        return f"model_args.depth: resnet_v1 needs a depth of 6n+2 (20, 32, 44, 56, 110, ...), not {depth}"
    return None


# ----------------------------------------------------------------------------- references
def _is_range_test(settings: dict) -> bool:
    return ((settings.get("schedule") or {}).get("name") == "range_test"
            and bool((settings.get("loop") or {}).get("record_batches")))


def _refs(run) -> list[tuple[str, str]]:
    """(key, "experiment/run") of every run this run reads."""
    out = []
    if run.settings.get("init_from"):
        out.append(("init_from", run.settings["init_from"]))
    bounds = (run.settings.get("schedule") or {}).get("bounds_from")
    if bounds:
        out.append(("schedule.bounds_from", bounds))
    return out


def check_references(runs: dict, locate: Locate = None) -> None:
    """``init_from`` and ``schedule.bounds_from`` name an existing run of the same study
    (``bounds_from``: a range test), and following them never comes back to a run."""
    for run in runs.values():
        at = (f"{in_file(locate, 'studies', run.study, 'experiments', run.experiment)}studies.{run.study}."
              f"experiments.{run.experiment} (run {run.name})")
        for key, ref in _refs(run):
            target = runs.get(f"{run.study}/{ref}")
            if target is None:
                tests = sorted(f"{r.experiment}/{r.name}" for r in runs.values()
                               if r.study == run.study and _is_range_test(r.settings))
                hint = f" (its range tests: {', '.join(tests) or 'none'})" if key == "schedule.bounds_from" else ""
                raise ConfigError(f"{at}: {key} {ref!r} names no run of this study{hint}")
            if key == "schedule.bounds_from" and not _is_range_test(target.settings):
                sched = (target.settings.get("schedule") or {}).get("name")
                raise ConfigError(f"{at}: schedule.bounds_from {ref!r} is not {RANGE_TEST}: its schedule is "
                                  f"{sched!r}, so it records no per-batch losses to choose lr bounds from")
    _check_cycles(runs, locate)


def _check_cycles(runs: dict, locate: Locate) -> None:
    state: dict[str, int] = {}  # 1: on the path being followed, 2: done

    def visit(key: str, stack: list[str]) -> None:
        state[key], stack = 1, stack + [key]
        run = runs[key]
        for ref_key, ref in _refs(run):
            nxt = f"{run.study}/{ref}"
            if state.get(nxt) == 1:
                shown = " -> ".join(k.split("/", 1)[1] for k in stack[stack.index(nxt):] + [nxt])
                at = in_file(locate, "studies", run.study, "experiments", run.experiment)
                raise ConfigError(f"{at}studies.{run.study}.experiments.{run.experiment} (run {run.name}): "
                                  f"{ref_key} {ref!r} closes a cycle: {shown} (a run cannot start from its "
                                  f"own result); break it in one of these runs")
            if nxt not in state and nxt in runs:
                visit(nxt, stack)
        state[key] = 2

    for key in runs:
        if key not in state:
            visit(key, [])


# ----------------------------------------------------------------------------- figures, tables
def _selected(runs: Iterable, study: str, spec: dict, exps: set) -> list:
    """The runs a figure or table draws (as ``Resolved.study_runs`` selects them: a
    setting a run lacks counts as None)."""
    def value(r, k):
        v = _lookup(r.settings, k)
        return None if v is _MISSING else v
    return [r for r in runs if r.study == study and r.experiment in spec.get("experiments", exps)
            and all(value(r, k) == v for k, v in spec.get("where", {}).items())]


def _one_of(names: Iterable[str]) -> str:
    return ", ".join(names)


def check_outputs(cfg: dict, runs: dict, locate: Locate = None) -> None:
    """Every figure, table and analysis of every study names what exists."""
    for sname, study in cfg["studies"].items():
        at = in_file(locate, "studies", sname)
        exps = set(study.get("experiments", {}))
        is_torch = study["engine"] == "torch"
        for kind in ("figures", "tables"):
            for name, spec in study.get(kind, {}).items():
                where = f"{at}studies.{sname}.{kind}.{name}"
                for e in spec.get("experiments", []):
                    if e not in exps:
                        raise ConfigError(f"{where}.experiments: no experiment named {e!r} (experiments: "
                                          f"{', '.join(sorted(exps))})")
                if not is_torch:
                    continue
                pool = [r for r in runs.values() if r.study == sname and r.experiment in spec.get("experiments", exps)]
                for key in spec.get("where", {}):
                    if all(_lookup(r.settings, key) is _MISSING for r in pool):
                        raise ConfigError(f"{where}.where: {key!r} is a setting of none of its runs")
                sel = _selected(runs.values(), sname, spec, exps)
                if not sel:
                    raise ConfigError(f"{where}: selects no run (experiments {spec.get('experiments')}, "
                                      f"where {spec.get('where')})")
                problem = (_figure_problem if kind == "figures" else _table_problem)(spec, sel)
                if problem:
                    raise ConfigError(f"{where}.{problem}")
        for name, spec in study.get("analyses", {}).items():
            for key in spec.get("runs", []):
                if f"{sname}/{key}" not in runs:
                    raise ConfigError(f"{at}studies.{sname}.analyses.{name}.runs: {key!r} names no run "
                                      "of this study")


def _setting_problem(field: str, key: str, sel: list) -> str | None:
    if all(_lookup(r.settings, key) is _MISSING for r in sel):
        return (f"{field}: {key!r} is a setting of none of the runs it draws (a dotted settings key such as "
                f"optimizer.lr or model_args.arch)")
    return None


def _figure_problem(spec: dict, sel: list) -> str | None:
    kind = spec["kind"]
    if kind == "run_curves":
        return None
    y = spec.get("y", "val_acc")
    allowed = metrics.FIGURE_EPOCH_METRICS if kind == "overlay" else metrics.FIGURE_METRICS
    if y not in allowed:
        what = "a per-epoch metric" if kind == "overlay" else "a metric"
        return f"y: {y!r} is not {what} the runs record (one of: {_one_of(allowed)})"
    if spec.get("hue"):
        problem = _setting_problem("hue", spec["hue"], sel)
        if problem:
            return problem
    if kind == "overlay" and spec.get("x", "epoch") not in ("epoch", "step"):
        return f"x: an overlay draws against the epoch; {spec['x']!r} is neither epoch nor step"
    if kind == "final_vs_setting":
        return _setting_problem("x", spec["x"], sel)
    return None


def _table_problem(spec: dict, sel: list) -> str | None:
    kind = spec["kind"]
    if kind == "epochs_to_target" and "target_loss" not in spec:
        return "target_loss: a table of kind epochs_to_target needs the mean training loss to reach"
    if kind == "final":
        for m in spec.get("metrics", []):
            col, at, epoch = m.partition("@")
            per_epoch = [c for c in metrics.EPOCH_COLUMNS + metrics.WRITEUP_COLUMNS if c != "epoch"]
            if at:
                if col not in per_epoch or not epoch.isdigit() or int(epoch) < 1:
                    return (f"metrics: {m!r}: <column>@<epoch> needs a per-epoch column and an epoch >= 1 "
                            f"(columns: {_one_of(per_epoch)})")
            elif m.split(".")[0] in metrics.RUN_SECTIONS and "." in m:
                continue  # a key of a final.json section: test.acc, final_eval.train_acc
            elif m not in metrics.TABLE_METRICS:
                return f"metrics: {m!r} is not a metric the runs record (one of: {_one_of(metrics.TABLE_METRICS)})"
    names = {r.name for r in sel}
    unknown = sorted(set(spec.get("labels", {})) - names)
    if unknown:
        return f"labels: {', '.join(map(repr, unknown))} name no run of the table (runs: {', '.join(sorted(names))})"
    return None
