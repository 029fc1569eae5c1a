"""The options the config schema declares for each model, optimizer, schedule and analysis
kind (checked at DAG time, without importing torch) are exactly those the code takes."""
import inspect

import pytest
import torch

from dlrepro import models
from dlrepro.config import load_config, resolve, schema
from dlrepro.config.checks import schedule_problem
from dlrepro.outputs.analyses import kinds
from dlrepro.training.optimizers import REGISTRY as OPTIMIZERS, build_optimizer
from dlrepro.training.schedules import SCHEDULE_OPTIONS, build_schedule, schedule_names
from dlrepro.training.trainer import run_schedule

DEFS = schema()["$defs"]
#: torch's implementation switches: how a step is computed, not what it computes
IMPLEMENTATION_SWITCHES = {"foreach", "fused", "capturable", "differentiable"}


def _params(fn) -> set[str]:
    return {p.name for p in inspect.signature(fn).parameters.values()
            if p.name not in ("self", "params") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def _declared(table: str, name: str, extra=("name",)) -> set[str]:
    return set(DEFS[table][name]["properties"]) - set(extra)


def test_optimizer_options_match_the_optimizers():
    run = DEFS["run"]["properties"]["optimizer"]["properties"]
    assert set(run["name"]["enum"]) == set(OPTIMIZERS.names()) == set(DEFS["optimizer_options"])
    for name in OPTIMIZERS.names():
        takes = _params(OPTIMIZERS.get(name).__init__) - IMPLEMENTATION_SWITCHES
        assert _declared("optimizer_options", name) == takes, name


def test_model_args_match_the_builders():
    from dlrepro.models.cifar_cnn import VARIANTS
    from dlrepro.models.mlp import KMNIST_ARCHS, FashionMLP

    assert set(DEFS["run"]["properties"]["model"]["enum"]) == set(models.names()) == set(DEFS["model_args"])
    for name in models.names():
        builder = models.REGISTRY.get(name)
        takes = _params(FashionMLP.__init__) if name == "fashion_mlp" else _params(builder)  # fashion_mlp(**kwargs)
        assert _declared("model_args", name, extra=()) == takes, name
    assert DEFS["model_args"]["kmnist_mlp"]["properties"]["arch"]["enum"] == list(KMNIST_ARCHS)
    assert tuple(DEFS["model_args"]["resnet_like"]["properties"]["variant"]["enum"]) == VARIANTS


def test_schedule_options_match_the_schedules():
    assert DEFS["run"]["properties"]["schedule"]["properties"]["name"]["enum"] == schedule_names()
    assert set(DEFS["schedule_options"]) == set(SCHEDULE_OPTIONS)
    for name, options in SCHEDULE_OPTIONS.items():
        extra = ("name", "bounds_from", "as_run_constant")
        assert _declared("schedule_options", name, extra) == set(options), name
    # bounds_from fills min_lr / max_lr in: only the cyclical schedule takes them
    assert {n for n in SCHEDULE_OPTIONS if "bounds_from" in DEFS["schedule_options"][n]["properties"]} == {"clr"}


def test_analysis_kinds_match_the_registry():
    assert set(DEFS["analysis"]["properties"]["kind"]["enum"]) == set(kinds())


@pytest.mark.parametrize("spec", [
    {"name": "clr", "step_size": 4},                                   # no max_lr, no bounds
    {"name": "clr", "max_lr": 0.1},                                    # no step size
    {"name": "clr", "max_lr": 0.1, "step_size": 4, "step_size_epochs": 2},
    {"name": "exp_decay"},
    {"name": "range_test", "lr_start": 1.0, "lr_end": 0.1},
])
def test_what_a_schedule_needs_is_refused_as_the_engine_refuses_it(spec):
    assert schedule_problem(spec)
    with pytest.raises(ValueError):
        build_schedule(spec, 0.01, 10, 3)


def test_a_schedule_given_its_decay_rate_twice_is_refused():
    """Stricter than the engine (which takes lam and ignores lambda): both is ambiguous."""
    assert "exactly one of lam / lambda" in schedule_problem({"name": "exp_decay", "lam": 0.1, "lambda": 0.2})


def test_every_configured_run_builds_its_model_optimizer_and_schedule():
    """The positive side: what the studies configure passes the declared options and the code."""
    from pathlib import Path

    cfg = resolve(load_config(Path(__file__).resolve().parents[2] / "config.yaml"))
    seen = set()
    for run in cfg.runs.values():
        s = run.settings
        key = repr((s["model"], s.get("model_args"), s["optimizer"], s.get("schedule")))
        if key in seen:
            continue
        seen.add(key)
        assert schedule_problem(s.get("schedule")) is None
        model = models.build(s["model"], **s.get("model_args", {}))
        build_optimizer(model.parameters(), s["optimizer"])
        bounds = {"lr_min": 1e-3, "lr_max": 1e-2} if (s.get("schedule") or {}).get("bounds_from") else None
        run_schedule(s, s["optimizer"].get("lr", 1e-3), 10, bounds)
    assert len(seen) > 10
    torch.manual_seed(0)
