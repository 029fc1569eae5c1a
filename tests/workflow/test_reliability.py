"""Issue 17, the table: every bad input is named before any job runs, and silent
corruption is caught naming the file.

``BAD`` lists each bad input once: an edit of a project file (config.yaml, a study file,
a --configfile) and/or command-line arguments, with what the message must say (the
file, the key path or run, and the problem). Each is checked twice:

* ``test_bad_input_is_refused_by_resolve`` (fast): the config as ``dlrepro.config.resolve``
  reads it, for the inputs that live in the files;
* ``test_bad_input_is_refused_by_a_dry_run`` (slow): ``snakemake -n`` in a copy of the
  project, as a user types it: it must fail while the workflow is read, before any job
  (no DAG, no job list, nothing under results/).

``CORRUPT`` lists the silent-corruption cases; each is fed to the training job's entry
point and must be refused with a message naming the file, before any epoch.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from e2e import SNAKEMAKE, copy_project

K, F, O = "studies/kmnist_tricks.yaml", "studies/fashion_mlp.yaml", "studies/optim_clr_cutout.yaml"
KM = "studies.kmnist_tricks"
CLR_EXP = "{name: clr_exp_range, schedule: {name: clr, mode: exp_range, step_size_epochs: 8, gamma: 0.99994,"


def case(id, edits=(), args=(), expect=(), configfile=None, resolve=True, preset="smoke"):
    """edits: (file, old text, new text); args: --config / other arguments; expect: every
    text the message must hold; configfile: text of an extra --configfile bad.yaml."""
    return pytest.param(list(edits), list(args), list(expect), configfile, resolve, preset, id=id)


BAD = [
    # ---------------------------------------------------------------- optimizer options
    case("optimizer-unknown-key", [(K, "optimizer: {name: adamw, lr: 0.01,", "optimizer: {name: adamw, betaz: 0.9, lr: 0.01,")],
         expect=[K, f"{KM}.defaults.optimizer", "unknown key 'betaz' of adamw", "allowed: amsgrad, betas"]),
    case("optimizer-option-of-another", [(F, "model_args.k: [2, 5, 10]\n      optimizer: [{name: adam, lr: 0.001},",
                                          "model_args.k: [2, 5, 10]\n      optimizer: [{name: adam, lr: 0.001, nesterov: true},")],
         expect=[F, "studies.fashion_mlp.experiments.depth (run adam_k-2_softmax-true)", "optimizer",
                 "unknown key 'nesterov' of adam"]),
    # ---------------------------------------------------------------- model arguments
    case("model-arg-bad-value", [(K, "model_args: {arch: plain}", "model_args: {arch: shll}")],
         expect=[K, f"{KM}.defaults.model_args.arch", "'shll' is not one of ['plain', 'drop'"]),
    case("model-args-of-another-model", [(F, "model_args: {k: 2, hidden: 64,", "model_args: {arch: plain, k: 2, hidden: 64,")],
         expect=[F, "studies.fashion_mlp.defaults.model_args", "unknown key 'arch' of fashion_mlp"]),
    # ---------------------------------------------------------------- schedules
    case("schedule-name", [(O, "schedule: {name: range_test, lr_start", "schedule: {name: range_tset, lr_start")],
         expect=[O, "p2_range_test (run range_test)", "schedule.name", "'range_tset' is not one of"]),
    case("schedule-clr-without-max-lr", [(O, "step_size_epochs: 8, min_lr: 0.001, max_lr: 0.001}}", "step_size_epochs: 8, min_lr: 0.001}}")],
         expect=[O, "studies.optim_clr_cutout.experiments.p2_clr (run clr_as_run)", "schedule clr needs max_lr"]),
    case("schedule-unknown-option", [(K, "  epochs: 16\n", "  epochs: 16\n  schedule: {name: exp_decay, lamda: 0.1}\n")],
         expect=[K, f"{KM}.defaults.schedule", "unknown key 'lamda' of exp_decay (allowed: lam, lambda)"]),
    # ---------------------------------------------------------------- analysis kinds
    case("analysis-kind", [(F, "adam_step: {kind: adam_step,", "adam_step: {kind: adam_stp,")],
         expect=[F, "studies.fashion_mlp.analyses.adam_step.kind", "'adam_stp' is not one of"]),
    # ---------------------------------------------------------------- non-finite numbers
    case("lr-nan", [(K, "optimizer: {name: adamw, lr: 0.01,", "optimizer: {name: adamw, lr: .nan,")],
         expect=[K, f"{KM}.defaults.optimizer.lr", "nan is not a finite number"]),
    case("lr-inf", [(K, "optimizer: {name: adamw, lr: 0.01,", "optimizer: {name: adamw, lr: .inf,")],
         expect=[K, f"{KM}.defaults.optimizer.lr", "inf is not a finite number"]),
    # ---------------------------------------------------------------- names figures and tables use
    case("figure-y", [(K, "experiments: [lr_sweep], y: val_acc, hue: optimizer.lr,", "experiments: [lr_sweep], y: val_accc, hue: optimizer.lr,")],
         expect=[K, f"{KM}.figures.lr_sweep_val_acc.y", "'val_accc' is not a per-epoch metric the runs record"]),
    case("figure-hue", [(K, "experiments: [lr_sweep], y: val_acc, hue: optimizer.lr,", "experiments: [lr_sweep], y: val_acc, hue: optimizer.lrr,")],
         expect=[K, f"{KM}.figures.lr_sweep_val_acc.hue", "'optimizer.lrr' is a setting of none of the runs"]),
    case("figure-x", [(K, "x: optimizer.lr, y: val_acc, logx: true", "x: optimizer.rate, y: val_acc, logx: true")],
         expect=[K, f"{KM}.figures.lr_sweep_seeds_final.x", "'optimizer.rate' is a setting of none"]),
    case("figure-where", [(F, "val_acc_depth_adam: {kind: overlay, experiments: [depth], where: {optimizer.name: adam,",
                           "val_acc_depth_adam: {kind: overlay, experiments: [depth], where: {optimizer.nme: adam,")],
         expect=[F, "studies.fashion_mlp.figures.val_acc_depth_adam.where", "'optimizer.nme' is a setting of none"]),
    case("table-metric", [(K, "metrics: [train_acc, val_acc, overfit_ratio]", "metrics: [train_acc, val_acc, overfit_ration]")],
         expect=[K, f"{KM}.tables.technique.metrics", "'overfit_ration' is not a metric the runs record"]),
    case("table-label", [(K, "labels: {plain: Neither,", "labels: {plian: Neither,")],
         expect=[K, f"{KM}.tables.technique.labels", "'plian' name no run of the table"]),
    # ---------------------------------------------------------------- references between runs
    case("bounds-from-missing", [(O, CLR_EXP + "\n                                         bounds_from: p2_range_test/range_test}}",
                                  CLR_EXP + "\n                                         bounds_from: p2_range_test/rangetest}}")],
         expect=[O, "p2_clr (run clr_exp_range)", "schedule.bounds_from 'p2_range_test/rangetest' names no run",
                 "range tests: p2_range_test/range_test"]),
    case("bounds-from-not-a-range-test", [(O, CLR_EXP + "\n                                         bounds_from: p2_range_test/range_test}}",
                                           CLR_EXP + "\n                                         bounds_from: p2_batch/b-32}}")],
         expect=[O, "p2_clr (run clr_exp_range)", "schedule.bounds_from 'p2_batch/b-32' is not an LR range test"]),
    case("init-from-missing", [(K, "init_from: debug/plain}", "init_from: debug/plainn}")],
         expect=[K, f"{KM}.experiments.models (run plain)", "init_from 'debug/plainn' names no run"]),
    case("init-from-cycle", [(K, "set: {train_subset: 64, epochs: 4, init: kaiming_uniform}",
                              "set: {train_subset: 64, epochs: 4, init: kaiming_uniform, init_from: models/plain}")],
         expect=[K, "init_from", "closes a cycle", "debug/plain -> models/plain -> debug/plain"]),
    case("init-from-itself", [(K, "{name: lr-0.01_clip-1.0, optimizer.lr: 0.01, clip_grad_norm: 1.0}",
                               "{name: lr-0.01_clip-1.0, optimizer.lr: 0.01, clip_grad_norm: 1.0, init_from: lr_clip/lr-0.01_clip-1.0}")],
         expect=[K, f"{KM}.experiments.lr_clip (run lr-0.01_clip-1.0)", "closes a cycle"]),
    # ---------------------------------------------------------------- run names
    case("run-name-dotdot", [(K, "cases: [{name: shl}]", "cases: [{name: ..}]")],
         expect=[K, f"{KM}.experiments.shl", "run name '..' is not a folder name"]),
    case("run-name-dot", [(K, "cases: [{name: shl}]", "cases: [{name: .}]")],
         expect=[K, f"{KM}.experiments.shl", "run name '.' is not a folder name"]),
    case("run-name-separator", [(K, "cases: [{name: shl}]", "cases: [{name: ../shl}]")],
         expect=[K, f"{KM}.experiments.shl", "run name '../shl' may hold only", "no path separators"]),
    # ---------------------------------------------------------------- the machine
    case("mirror-missing", args=["data={source: mirror, mirror: /nonexistent/mirror}"], preset="full",
         expect=["data.mirror: '/nonexistent/mirror' is not a directory"], resolve=False),
    case("device-cuda-without-gpu", args=["device=cuda"], preset="full",
         expect=["device: cuda, but torch", "sees no CUDA device"], resolve=False),
    # ---------------------------------------------------------------- the config as typed
    case("yaml-syntax", [("config.yaml", "preset: full ", "preset: [full ")],
         expect=["config.yaml:12:1: invalid YAML"]),
    case("yaml-duplicate-key-config", [("config.yaml", "\nresults: results", "\ndevice: cpu\nresults: results")],
         expect=["config.yaml:14:1: invalid YAML: duplicate key 'device' (first given on line 12"]),
    case("yaml-duplicate-key-study", [(K, "  epochs: 16\n", "  epochs: 16\n  epochs: 8\n")],
         expect=[f"{K}:16:3: invalid YAML: duplicate key 'epochs' (first given on line 15"]),
    case("yaml-duplicate-key-configfile", configfile="preset: smoke\npreset: full\n", resolve=False,
         expect=["bad.yaml:2:1: invalid YAML: duplicate key 'preset' (first given on line 1"]),
    case("nested-cli-value", args=["overrides={replicates: two}"], resolve=False,
         expect=["overrides.replicates: 'two' is not of type 'integer'"]),
]


def _apply(root: Path, edits) -> None:
    for rel, old, new in edits:
        f = root / rel
        text = f.read_text()
        assert text.count(old) == 1, (rel, old)
        f.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def project(pristine, tmp_path):
    return Path(shutil.copytree(pristine, tmp_path / "project"))


@pytest.mark.parametrize("edits,args,expect,configfile,resolve_it,preset", BAD)
def test_bad_input_is_refused_by_resolve(project, edits, args, expect, configfile, resolve_it, preset):
    from dlrepro.config import ConfigError, load_yaml, resolve

    if not resolve_it:
        pytest.skip("checked where Snakemake reads the command line or the machine: the dry run")
    _apply(project, edits)
    with pytest.raises(ConfigError) as exc:
        raw = load_yaml(project / "config.yaml", "config.yaml")
        raw["preset"] = preset
        resolve(raw, root=project)
    for text in expect:
        assert text in str(exc.value), str(exc.value)


@pytest.mark.slow
@pytest.mark.parametrize("edits,args,expect,configfile,resolve_it,preset", BAD)
def test_bad_input_is_refused_by_a_dry_run(project, edits, args, expect, configfile, resolve_it, preset):
    if "device=cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    _apply(project, edits)
    extra = []
    if configfile is not None:
        (project / "bad.yaml").write_text(configfile)
        extra = ["--configfile", "bad.yaml"]
    cmd = [SNAKEMAKE, "-n", "--cores", "1", *extra, "--config", f"preset={preset}", *args]
    p = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out[-3000:]
    for text in expect:
        assert text in out, out[-3000:]
    # refused while the workflow was read: no DAG, no job, nothing written
    assert "WorkflowError in file" in out and "Job stats" not in out and "dry-run" not in out, out[-3000:]
    assert not (project / "results").exists()


# ----------------------------------------------------------------------------- silent corruption
@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """kmnist.pt and fashion_mnist.pt as prepare_data writes them (synthetic raw files)."""
    from dlrepro import data

    root = tmp_path_factory.mktemp("prepared")
    out = {}
    for ds in ("kmnist", "fashion_mnist"):
        data.fetch(ds, "synthetic", root=root, synthetic={"n_train": 200, "n_test": 50, "seed": 0})
        out[ds] = root / "results" / "smoke" / "data" / f"{ds}.pt"
        data.prepare(ds, data.manifest_path(ds, "synthetic", root), out[ds])
    return out


def _flip_a_tensor_byte(path: Path) -> None:
    import struct
    import zipfile

    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    raw[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0x10
    path.write_bytes(bytes(raw))


def _swap_in_fashion(path: Path, prepared) -> None:
    shutil.copy(prepared["fashion_mnist"], path)


def _strip_the_record(path: Path) -> None:
    obj = torch.load(path, weights_only=True)
    del obj["integrity"]
    torch.save(obj, path)


CORRUPT = [  # (how the prepared kmnist.pt is damaged, what the message says besides its path)
    pytest.param(_flip_a_tensor_byte, "is damaged: its content hash", id="flipped-byte"),
    pytest.param(_swap_in_fashion, "holds 'fashion_mnist', not 'kmnist'", id="other-dataset-copied-over"),
    pytest.param(_strip_the_record, "has no integrity record", id="no-record"),
]


@pytest.mark.parametrize("damage,message", CORRUPT)
def test_damaged_prepared_data_is_refused_before_training(prepared, tmp_path, damage, message):
    from dlrepro.data import DataError
    from dlrepro.training.run import train_run

    bad = tmp_path / "kmnist.pt"
    shutil.copy(prepared["kmnist"], bad)
    damage(bad, prepared) if damage is _swap_in_fashion else damage(bad)
    settings = {"dataset": "kmnist", "model": "kmnist_mlp", "optimizer": {"name": "sgd", "lr": 0.01},
                "batch_size": 32, "epochs": 2, "seed": 0}
    lines = []
    with pytest.raises(DataError) as exc:
        train_run(settings, str(bad), str(tmp_path / "r/metrics.csv"), str(tmp_path / "r/final.json"),
                  str(tmp_path / "r/model.pt"), str(tmp_path / "ckpt"), log=lines.append)
    assert str(bad) in str(exc.value) and message in str(exc.value), str(exc.value)
    assert not lines and not (tmp_path / "r").exists()   # not one epoch, nothing written


@pytest.mark.slow
def test_the_smoke_preset_says_what_it_overrides(project):
    """`device: cuda` with the smoke preset: not refused (the preset trains on the CPU), but
    said in the first lines, with the data source it also overrides."""
    p = subprocess.run([SNAKEMAKE, "-n", "--cores", "1", "--config", "preset=smoke", "device=cuda"], cwd=project,
                       capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    head = out[:out.index("This was a dry-run") if "This was a dry-run" in out else None].splitlines()[:8]
    assert "preset 'smoke' sets device to 'cpu' (over 'cuda'; presets.smoke in config.yaml)" in head, head
    assert "preset 'smoke' sets data.source to 'synthetic' (over 'download'; presets.smoke in config.yaml)" in head
