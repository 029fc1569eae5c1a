"""The config as a user types it: --config values (parsed as Snakemake 9 parses them)
reach the runs with the schema's types; config files are read strictly; what the machine
must provide is checked; what a preset overrides is said."""
import copy
import math
import shlex

import pytest
from snakemake.cli import parse_config
from snakemake.utils import update_config

from conftest import ROOT
from dlrepro.config import ConfigError, load_yaml, resolve
from dlrepro.config.command_line import check_config_files, coerce, environment_problems


def _as_snakemake_gives_it(*args: str) -> dict:
    """config.yaml updated by `--config ARGS` as Snakemake 9 parses them, then coerced as
    rules/common.smk does."""
    cli = parse_config(list(args))
    raw = load_yaml(ROOT / "config.yaml")
    update_config(raw, cli)
    update_config(raw, coerce(cli))
    return raw


def test_nested_values_arrive_as_strings_and_are_coerced():
    cli = parse_config(["overrides={replicates: 2, channels_last: true}"])
    assert cli == {"overrides": {"replicates": "2", "channels_last": "true"}}   # what Snakemake hands over
    assert coerce(cli) == {"overrides": {"replicates": 2, "channels_last": True}}


def test_the_readme_settings_reach_the_runs():
    """The commands of README.md's 'Settings on the command line', in-process."""
    text = (ROOT / "README.md").read_text().split("## Settings on the command line\n", 1)[1].split("\n## ", 1)[0]
    lines = [line.split("  #")[0] for line in text.splitlines() if line.startswith("snakemake -n --config ")]
    assert len(lines) == 3, lines
    configs = [_as_snakemake_gives_it(*[a for a in shlex.split(line)[2:] if a != "--config"]) for line in lines]
    data, speed, reps = (resolve(c, root=ROOT) for c in configs)
    assert data.data["synthetic"] == {"n_train": 1000, "n_test": 500, "seed": 1}      # merged: n_test kept
    assert all(r.settings["precision"] == "bf16" and r.settings["channels_last"] is True for r in speed.runs.values())
    assert list(reps.studies) == ["kmnist_tricks", "scratch_backprop"]
    assert all(r.settings["replicates"] == 2 for r in reps.runs.values())
    with pytest.raises(ConfigError, match=r"\(run [\w.+-]+\): replicates: loop\."):  # for every study
        resolve(_as_snakemake_gives_it("overrides={replicates: 2}"), root=ROOT)


@pytest.mark.parametrize("arg,expect", [
    ("data={source: mirror, mirror: /data/mirror}", {"data": {"source": "mirror", "mirror": "/data/mirror"}}),
    ("data={synthetic: {n_train: 300, seed: 2}}", {"data": {"synthetic": {"n_train": 300, "seed": 2}}}),
    ("presets={smoke: {scale: {epochs: 1}}}", {"presets": {"smoke": {"scale": {"epochs": 1}}}}),
    ("tolerances={val_acc: 0.02, n_params: 0}", {"tolerances": {"val_acc": 0.02, "n_params": 0}}),
    ("overrides={compile: false, precision: bf16}", {"overrides": {"compile": False, "precision": "bf16"}}),
    ("studies=[kmnist_tricks]", {"studies": ["kmnist_tricks"]}),
    ("overrides={replicates: two}", {"overrides": {"replicates": "two"}}),   # not a number: left to the schema
    ("data={mirror: '12'}", {"data": {"mirror": "12"}}),                     # a string is valid there: kept
])
def test_coerce_only_where_unambiguous(arg, expect):
    assert coerce(parse_config([arg])) == expect


def test_config_files_are_read_strictly(tmp_path):
    check_config_files([tmp_path / "absent.yaml"])   # Snakemake allows config.yaml to be absent with --configfile
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"list.yaml: must be a mapping of settings, not list"):
        check_config_files([tmp_path / "list.yaml"])
    (tmp_path / "dup.yaml").write_text("data:\n  source: mirror\n  source: synthetic\n")
    with pytest.raises(ConfigError, match=r"dup.yaml:3:3: invalid YAML: duplicate key 'source' \(first given on line 2"):
        check_config_files([tmp_path / "dup.yaml"])


def test_a_config_file_checked_from_the_shell(tmp_path, capsys):
    """What README.md offers for a --configfile that Snakemake refuses without a line."""
    from dlrepro.config.command_line import main

    (tmp_path / "ok.yaml").write_text("preset: smoke\n")
    (tmp_path / "bad.yaml").write_text("preset: smoke\noverrides: {replicates: 2\n")
    assert main([str(tmp_path / "ok.yaml")]) == 0
    assert main([str(tmp_path / "bad.yaml")]) == 1
    assert f"{tmp_path / 'bad.yaml'}:3:1: invalid YAML" in capsys.readouterr().err
    assert main([str(tmp_path / "none.yaml")]) == 1
    assert "none.yaml: no such file" in capsys.readouterr().err


def test_the_machine_checks(base_config, tmp_path, monkeypatch):
    cfg = copy.deepcopy(base_config)
    cfg["data"] = {"source": "mirror", "mirror": "mirror"}          # relative: to the working directory
    r = resolve(cfg)
    assert "data.mirror: 'mirror' is not a directory" in environment_problems(r, tmp_path)[0]
    (tmp_path / "mirror").mkdir()
    assert environment_problems(r, tmp_path) == []
    cfg["device"] = "cuda"
    r = resolve(cfg)
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "device: cuda, but torch" in environment_problems(r, tmp_path)[0]
    assert environment_problems(r, tmp_path, check_gpu=False) == []    # jobs on a cluster check their node


def test_a_preset_says_what_it_overrides(base_config):
    cfg = copy.deepcopy(base_config)
    cfg.update(preset="smoke", device="cuda")
    r = resolve(cfg)
    assert r.device == "cpu"
    assert "preset 'smoke' sets device to 'cpu' (over 'cuda'; presets.smoke in config.yaml)" in r.notes
    assert resolve(copy.deepcopy(base_config)).notes == []   # full: no preset settings


def test_non_finite_numbers_anywhere_are_refused(base_config):
    cfg = copy.deepcopy(base_config)
    cfg["tolerances"]["val_acc"] = math.inf
    cfg["studies"]["kmnist_tricks"]["experiments"]["lr_sweep"]["grid"]["optimizer.lr"][0] = math.nan
    with pytest.raises(ConfigError) as exc:
        resolve(cfg)
    msg = str(exc.value)
    assert "tolerances.val_acc: inf is not a finite number" in msg
    assert "studies/kmnist_tricks.yaml: studies.kmnist_tricks.experiments.lr_sweep.grid.optimizer.lr[0]: nan" in msg
