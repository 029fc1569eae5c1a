"""The config schema rejects malformed configs with a message naming the key path."""
import copy

import pytest

from dlrepro.config import ConfigError, fmt_value, resolve, undot

K = "kmnist_tricks"


def _set(cfg, path, value):
    node = cfg
    *head, last = path
    for p in head:
        node = node[p]
    if value is _DEL:
        del node[last]
    else:
        node[last] = value
    return cfg


class _Deleted:
    def __repr__(self) -> str:  # a stable test id (xdist's workers compare their collections)
        return "<deleted>"


_DEL = _Deleted()
D = ["studies", K, "defaults"]
E = ["studies", K, "experiments"]

# (where to change, new value, text the error must contain)
BAD = [
    (["preset"], "tiny", "preset"),
    (["presett"], "smoke", "unknown key 'presett'"),
    (["device"], "tpu", "device"),
    (["data", "source"], "ftp", "data.source"),
    (["data", "mirror_dir"], "/x", "unknown key 'mirror_dir'"),
    (["data", "synthetic", "n_train"], 0, "data.synthetic.n_train"),
    (["presets", "smoke", "scale", "epochs"], 0, "presets.smoke.scale.epochs"),
    (["presets", "huge"], {}, "presets"),
    (D + ["optimizer", "lr"], -0.01, f"studies.{K}.defaults.optimizer.lr"),
    (D + ["optimizer", "lr"], "fast", f"studies.{K}.defaults.optimizer.lr"),
    (D + ["optimizer", "name"], "adamx", "'adamx' is not one of"),
    (D + ["batch_size"], 0, f"studies.{K}.defaults.batch_size"),
    (D + ["batch_size"], 64.5, f"studies.{K}.defaults.batch_size"),
    (D + ["epochs"], -1, f"studies.{K}.defaults.epochs"),
    (D + ["model"], "transformer", f"studies.{K}.defaults.model"),
    (D + ["dataset"], "imagenet", f"studies.{K}.defaults.dataset"),
    (D + ["clip_grad_norm"], 0, f"studies.{K}.defaults.clip_grad_norm"),
    (D + ["loop", "logged_train_loss"], "median", f"studies.{K}.defaults.loop.logged_train_loss"),
    (D + ["loop", "typo"], True, "unknown key 'typo'"),
    (D + ["learning_rate"], 0.1, "unknown key 'learning_rate'"),
    (D + ["seed"], -3, f"studies.{K}.defaults.seed"),
    (D + ["preprocess", "std"], [0.0], f"studies.{K}.defaults.preprocess.std[0]"),
    (E + ["lr_sweep", "grid", "optimizer.lr"], [0.1, -1.0], "lr_sweep (run lr--1.0): optimizer.lr"),
    (E + ["lr_sweep", "grid", "optimzer.lr"], [0.1], "unknown run key 'optimzer'"),
    (E + ["lr_sweep", "grid"], {}, "lr_sweep.grid"),
    (E + ["clip_sweep", "grid", "clip_grad_norm"], [], "clip_sweep.grid.clip_grad_norm"),
    (E + ["lr_clip", "cases", 0, "batch_size"], 0, "lr_clip (run lr-0.01_clip-1.0): batch_size"),
    (E + ["lr_clip", "cases", 1, "name"], "lr-0.01_clip-1.0", "two runs are named"),
    (["studies", K, "printed", "numbers", 0, "run"], "lr_sweep/lr-9", "no run 'lr_sweep/lr-9' in the study"),
    (["studies", K, "printed", "numbers", 0, "quantity"], "val_acc +", "is not an expression"),
    (["studies", K, "printed", "numbers", 0, "quantity"], "__import__('os')", "may be called"),
    (["studies", K, "printed", "numbers", 0, "cause"], "quirk", "'quirk' is not one of"),
    (["studies", K, "printed", "numbers", 0, "printed"], "high", "'high' is not a number as printed"),
    (["studies", K, "printed", "numbers", 0, "epoch"], [1, 2], "printed must be a list of as many values"),
    (["studies", K, "printed", "claims"], [{"id": "c", "text": "t", "source": "s", "kind": "best",
                                            "subject": "nope", "among": ["nope", "nope2"]}],
     "claim c: 'nope' is no number id of the ledger"),
    (E + ["models", "cases", 0, "init_from"], "debug/nope", "init_from 'debug/nope' names no run"),
    (E + ["lr_sweep", "name"], "lr-{optimizer.momentum}", "is not a swept key"),
    (E + ["lr_sweep", "name"], "lr {optimizer.lr}", "may hold only"),
    (E + ["Bad-Name"], {}, "bad name"),
    (["studies", K, "figures", "lr_sweep_val_acc", "experiments"], ["nope"], "no experiment named 'nope'"),
    (["studies", K, "figures", "lr_sweep_val_acc", "kind"], "pie", "'pie' is not one of"),
    (["studies", K, "tables", "technique", "caption"], _DEL, "caption"),
    (["studies", K, "engine"], "jax", f"studies.{K}.engine"),
]


@pytest.mark.parametrize("path,value,message", BAD, ids=[".".join(map(str, b[0])) + f"={b[1]!r}" for b in BAD])
def test_bad_config_names_the_key(base_config, path, value, message):
    cfg = _set(copy.deepcopy(base_config), path, value)
    with pytest.raises(ConfigError) as exc:
        resolve(cfg)
    assert message in str(exc.value), str(exc.value)


def test_mirror_without_directory(base_config):
    cfg = copy.deepcopy(base_config)
    cfg["data"]["source"] = "mirror"
    with pytest.raises(ConfigError, match="data.mirror"):
        resolve(cfg)


def test_default_config_is_valid_and_expands(base_config):
    r = resolve(base_config)
    assert r.preset == "full" and r.results == "results/full"
    lr = [k for k in r.runs if k.startswith(f"{K}/lr_sweep/")]
    assert len(lr) == 6
    run = r.runs[f"{K}/lr_sweep/lr-0.0005"]
    assert run.settings["optimizer"]["lr"] == 0.0005 and run.settings["train_subset"] == 10000
    # the write-up's numbers live in the ledger, not in any training parameter
    numbers = [n for n in r.ledgers[K]["numbers"] if n["where"] == "run" and n["name"] == "lr_sweep/lr-0.0005"]
    assert {(n["quantity"], n["printed"]) for n in numbers if n["epoch"] == "last"} >= {("val_acc", 0.8355)}
    assert "printed" not in run.settings and "reported" not in run.settings


def test_smoke_preset_scales_every_run(base_config):
    cfg = copy.deepcopy(base_config)
    cfg["preset"] = "smoke"
    r = resolve(cfg)
    assert r.results == "results/smoke" and r.data["source"] == "synthetic"
    assert all(run.settings["epochs"] <= 2 for run in r.runs.values())
    assert all(run.settings["train_subset"] <= 512 for run in r.runs.values())


def test_changing_one_sweep_value_changes_only_that_run(base_config):
    a = resolve(base_config).runs
    cfg = copy.deepcopy(base_config)
    cfg["studies"][K]["experiments"]["lr_sweep"]["grid"]["optimizer.lr"][2] = 0.004
    _drop_run_numbers(cfg["studies"][K]["printed"], "lr_sweep/lr-0.005")
    b = resolve(cfg).runs
    changed = {k for k in a.keys() & b.keys() if a[k].settings != b[k].settings}
    assert changed == set()
    assert set(a) - set(b) == {f"{K}/lr_sweep/lr-0.005"} and set(b) - set(a) == {f"{K}/lr_sweep/lr-0.004"}


def _drop_run_numbers(ledger: dict, run: str) -> None:
    """Remove a run's numbers (and the claims naming them) from a ledger mapping."""
    ledger["numbers"] = [n for n in ledger["numbers"] if n.get("run") != run]
    from dlrepro.config.ledger import expand_number

    ids = {x["id"] for n in ledger["numbers"] for x in expand_number(n)}
    ledger["claims"] = [c for c in ledger.get("claims", [])
                        if all(not isinstance(o, str) or o in ids
                               for o in [c.get("subject"), c.get("left"), c.get("right"), *c.get("among", [])])]


def test_undot_and_names():
    assert undot({"a.b": 1, "a.c": 2, "d": 3}) == {"a": {"b": 1, "c": 2}, "d": 3}
    assert fmt_value(0.0005) == "0.0005" and fmt_value(True) == "true"


def test_overrides_reach_every_torch_run(base_config):
    """The `fast` preset's overrides (bf16, channels_last) land in every run's settings (so
    they are params: switching presets retrains); `full` keeps the as-run fp32 settings."""
    from dlrepro.config import resolve

    full = resolve({**base_config, "preset": "full"})
    fast = resolve({**base_config, "preset": "fast"})
    assert fast.results.endswith("/fast") and fast.runs.keys() == full.runs.keys()
    for key, run in fast.runs.items():
        assert run.settings["precision"] == "bf16" and run.settings["channels_last"] is True
        assert full.runs[key].settings.get("precision", "fp32") == "fp32"
        assert "channels_last" not in full.runs[key].settings


def test_overrides_are_validated(base_config):
    from dlrepro.config import ConfigError, resolve

    with pytest.raises(ConfigError, match="overrides"):
        resolve({**base_config, "overrides": {"precision": "fp8"}})
    # refused where unshareable, the run named: the first study with such a run (write-ups'
    # batch means or evaluation passes, a range test's record_batches) ...
    with pytest.raises(ConfigError, match=r"\(run [\w.+-]+\): replicates: loop\.(record_batches|eval_batch_size|final_eval) "):
        resolve({**base_config, "overrides": {"replicates": 2}})
    # ... write-up 000's batch means (every fashion_mlp run logs them) ...
    only = {"fashion_mlp": base_config["studies"]["fashion_mlp"]}
    with pytest.raises(ConfigError, match=r"fashion_mlp.*loop.eval_batch_size"):
        resolve({**base_config, "studies": only, "overrides": {"replicates": 2}})
        resolve({**base_config, "overrides": {"replicates": 2}})
    # ... and write-up 003's range test
    oc = copy.deepcopy(base_config["studies"]["optim_clr_cutout"])
    oc["experiments"] = {"p2_range_test": oc["experiments"]["p2_range_test"]}
    oc.update(figures={}, tables={}, analyses={}, printed={})
    with pytest.raises(ConfigError, match=r"p2_range_test.*record_batches"):
        resolve({**base_config, "studies": {"optim_clr_cutout": oc}, "overrides": {"replicates": 2}})


# ----------------------------------------------------------------------------- study files
def _project_copy(tmp_path, edits=()):
    """config.yaml and studies/ copied to tmp_path; edits: (file, old text, new text)."""
    import shutil

    from conftest import ROOT

    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(ROOT / "studies", tmp_path / "studies")
    for rel, old, new in edits:
        f = tmp_path / rel
        text = f.read_text()
        assert text.count(old) == 1, (rel, old)
        f.write_text(text.replace(old, new))
    return tmp_path


def _edit_ledger(root, study, fn):
    """Apply ``fn`` to the parsed ledger file of a study in a project copy."""
    import yaml

    f = root / "studies" / f"{study}.printed.yaml"
    led = yaml.safe_load(f.read_text())
    fn(led)
    f.write_text(yaml.safe_dump(led, sort_keys=False))


def _raw(root):
    from dlrepro.config import load_yaml

    return load_yaml(root / "config.yaml")


def test_config_yaml_lists_the_studies_and_the_merge_is_what_resolve_reads(base_config):
    from conftest import ROOT

    raw = _raw(ROOT)
    assert raw["studies"] == ["kmnist_tricks", "fashion_mlp", "cifar_cnn", "scratch_backprop", "optim_clr_cutout"]
    assert list(base_config["studies"]) == raw["studies"]
    a, b = resolve(raw, root=ROOT), resolve(base_config)
    assert a.studies == b.studies and {k: r.settings for k, r in a.runs.items()} == {
        k: r.settings for k, r in b.runs.items()}
    assert a.ledgers == b.ledgers
    # what `snakemake --config preset=smoke` hands over: config.yaml's mapping with the key replaced
    smoke = resolve({**raw, "preset": "smoke"}, root=ROOT)
    assert smoke.results == "results/smoke" and smoke.runs.keys() == a.runs.keys()


def test_each_kind_of_content_sits_in_its_own_file(base_config):
    from conftest import ROOT
    from dlrepro.config import load_yaml

    for study in base_config["studies"]:
        spec = load_yaml(ROOT / "studies" / f"{study}.yaml")
        assert "report" not in spec and "writeup_file" in spec and "seed_file" not in spec
        assert "printed" not in spec and not any("reported" in e for e in spec.get("experiments", {}).values())
        assert set(load_yaml(ROOT / "studies" / f"{study}.page.yaml")) == {"report"}
        assert set(load_yaml(ROOT / "studies" / f"{study}.printed.yaml")) <= {"numbers", "claims", "illegible",
                                                                             "transcripts"}


ERRORS = [  # (file, old text, new text, the error must contain)
    ("studies/kmnist_tricks.yaml", "optimizer: {name: adamw, lr: 0.01,", "optimizer: {name: adamw, lr: -1.0,",
     "studies/kmnist_tricks.yaml: studies.kmnist_tricks.defaults.optimizer.lr: -1.0 is less than or equal to "
     "the minimum of 0"),
    ("studies/kmnist_tricks.yaml", "train_subset: 10000}\n    grid: {optimizer.lr: [0.0005, 0.001,",
     "train_subset: 10000}\n    grid: {optimizer.lr: [0.0005, -0.001,",
     "studies/kmnist_tricks.yaml: studies.kmnist_tricks.experiments.lr_sweep (run lr--0.001): optimizer.lr"),
    ("studies/kmnist_tricks.printed.yaml", "numbers:\n",
     "numbers:\n  - {run: lr_sweep/lr-9, quantity: val_acc, printed: 0.5, source: x}\n",
     "studies/kmnist_tricks.printed.yaml: studies.kmnist_tricks.printed: number lr_sweep/lr-9.val_acc: no run "
     "'lr_sweep/lr-9' in the study"),
    ("studies/kmnist_tricks.printed.yaml", "numbers:\n",
     "numbers:\n  - {run: lr_sweep/lr-0.001, quantity: val_acc, printed: high, source: x}\n",
     "studies/kmnist_tricks.printed.yaml: studies.kmnist_tricks.printed: numbers[0]: 'high' is not a number"),
    ("studies/cifar_cnn.page.yaml", "- name: shared_block", "- name: Shared-Block",
     "studies/cifar_cnn.page.yaml: studies.cifar_cnn.report.quirks[3].name"),
    ("studies/fashion_mlp.yaml", "title: \"Fashion-MNIST MLP sweeps", "titel: \"Fashion-MNIST MLP sweeps",
     "studies/fashion_mlp.yaml: studies.fashion_mlp: unknown key 'titel'"),
    ("studies/scratch_backprop.printed.yaml", "quantity: sigmoid.x, format: f6", "quantity: sigmoid.x, format: g6",
     "studies/scratch_backprop.printed.yaml: studies.scratch_backprop.printed: numbers[0].format"),
    ("studies/scratch_backprop.yaml", "demo_size: 5", "demo_size: five",
     "studies/scratch_backprop.yaml: studies.scratch_backprop.settings: components.demo_size"),
    ("studies/kmnist_tricks.yaml", "  epoch_time: {kind: epoch_time, experiments: [models, shl]",
     "  epoch_time: {kind: epoch_time, experiments: [models, nope]",
     "studies/kmnist_tricks.yaml: studies.kmnist_tricks.tables.epoch_time.experiments: no experiment named 'nope'"),
    # content in the wrong file, and files that do not fit together: one line each
    ("studies/kmnist_tricks.printed.yaml", "numbers:\n", "epochs: 3\nnumbers:\n",
     "studies/kmnist_tricks.printed.yaml: studies.kmnist_tricks.printed: <top level>: unknown key 'epochs'"),
    ("studies/cifar_cnn.page.yaml", "report:", "title: x\nreport:",
     "studies/cifar_cnn.page.yaml: title: does not belong in this file"),
    ("studies/cifar_cnn.yaml", "\nexperiments:\n", "\nprinted: {numbers: []}\nexperiments:\n",
     "studies/cifar_cnn.yaml: printed: belongs in studies/cifar_cnn.printed.yaml"),
    ("studies/cifar_cnn.yaml", "  p1:\n", "  p1:\n    reported: {}\n",
     "studies/cifar_cnn.yaml: studies.cifar_cnn.experiments.p1: unknown key 'reported'"),
    ("studies/fashion_mlp.yaml", "defaults:\n  dataset", "defaults:\n dataset: [\n  dataset",
     "studies/fashion_mlp.yaml:10:8: invalid YAML"),
    ("config.yaml", "studies: [kmnist_tricks, fashion_mlp,", "studies: [kmnist_tricks, kmnist_tricks, fashion_mlp,",
     "studies: 'kmnist_tricks' is listed twice"),
    ("config.yaml", "studies: [kmnist_tricks, fashion_mlp,", "studies: [kmnist_trick, fashion_mlp,",
     "studies/kmnist_trick.yaml: no such file"),
]


@pytest.mark.parametrize("rel,old,new,message", ERRORS, ids=[f"{e[0]}:{e[3][-40:]}" for e in ERRORS])
def test_an_error_names_the_file_and_the_key(tmp_path, rel, old, new, message):
    from dlrepro.config import load_config

    root = _project_copy(tmp_path, [(rel, old, new)])
    with pytest.raises(ConfigError) as exc:
        resolve(_raw(root), root=root)
    assert message in str(exc.value), str(exc.value)
    with pytest.raises(ConfigError) as exc2:       # the same through load_config
        resolve(load_config(root / "config.yaml"))
    assert str(exc2.value) == str(exc.value)
    if "invalid configuration" not in str(exc.value):
        assert "\n" not in str(exc.value)            # a problem of the files themselves: one line


def test_editing_one_study_file_value_changes_exactly_its_runs(tmp_path):
    from conftest import ROOT

    before = resolve(_raw(ROOT), root=ROOT)
    root = _project_copy(tmp_path, [("studies/kmnist_tricks.yaml",
                                     "grid: {clip_grad_norm: [0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]}",
                                     "grid: {clip_grad_norm: [0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.5]}")])
    _edit_ledger(root, K, lambda led: _drop_run_numbers(led, "clip_sweep/clip-3.0"))
    after = resolve(_raw(root), root=root)
    assert set(before.runs) - set(after.runs) == {f"{K}/clip_sweep/clip-3.0"}
    assert set(after.runs) - set(before.runs) == {f"{K}/clip_sweep/clip-3.5"}
    assert all(before.runs[k].settings == after.runs[k].settings for k in before.runs.keys() & after.runs.keys())


def test_editing_a_printed_number_changes_no_run_settings(tmp_path):
    from conftest import ROOT

    before = resolve(_raw(ROOT), root=ROOT)
    root = _project_copy(tmp_path, [("studies/cifar_cnn.page.yaml", "Problem 1a: a two-convolution CNN",
                                     "Problem 1a: a CNN")])

    def bump(led):
        n = next(n for n in led["numbers"] if n.get("run") == "lr_sweep/lr-0.0005" and n["quantity"] == "val_acc")
        n["printed"] = 0.8356
    _edit_ledger(root, K, bump)
    after = resolve(_raw(root), root=root)
    assert {k: r.settings for k, r in before.runs.items()} == {k: r.settings for k, r in after.runs.items()}
    b, a = ({n["id"]: n for n in r.ledgers[K]["numbers"]} for r in (before, after))
    assert {i for i in b if b[i] != a.get(i)} == {"lr_sweep/lr-0.0005.val_acc"}


def test_study_resources_say_which_runs_want_a_gpu(base_config):
    """`resources: {gpu: false}` marks the tiny-MLP studies (the rules used to list the
    models kmnist_mlp and fashion_mlp): the same answer for every run."""
    cfg = resolve(base_config)
    for run in cfg.runs.values():
        wants = cfg.studies[run.study].get("resources", {}).get("gpu", True)
        assert wants == (run.settings["model"] not in ("kmnist_mlp", "fashion_mlp")), run.key
    with pytest.raises(ConfigError, match=r"studies\.cifar_cnn\.resources\.gpu"):
        resolve(_set(copy.deepcopy(base_config), ["studies", "cifar_cnn", "resources"], {"gpu": "yes"}))
    with pytest.raises(ConfigError, match="unknown key 'cpus'"):
        resolve(_set(copy.deepcopy(base_config), ["studies", "cifar_cnn", "resources"], {"cpus": 2}))


def test_a_mapping_built_in_memory_names_no_file(base_config):
    raw = {k: v for k, v in copy.deepcopy(base_config).items() if k != "studies_dir"}
    raw["studies"][K]["defaults"]["optimizer"]["lr"] = -1.0
    with pytest.raises(ConfigError) as exc:
        resolve(raw)
    assert "  studies.kmnist_tricks.defaults.optimizer.lr: -1.0" in str(exc.value)


@pytest.mark.parametrize("device", [None, "cpu", "cuda"])
@pytest.mark.parametrize("preset", ["full", "fast", "smoke", None])
def test_a_training_job_reads_the_device_the_resolution_gives(base_config, preset, device):
    """rule train's job reads only the device (resolved_device); it must be what resolve()
    gives for every preset, with and without a device given on the command line."""
    from dlrepro.config import resolved_device

    raw = copy.deepcopy(base_config)
    if preset is not None:
        raw["preset"] = preset
    if device is not None:
        raw["device"] = device
    assert resolved_device(raw) == resolve(raw).device
