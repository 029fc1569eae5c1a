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


_DEL = object()
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
    (E + ["lr_sweep", "reported", "lr-9"], {"val_acc": 0.5}, "no run named lr-9"),
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
    assert run.reported == {"train_acc": 0.9348, "val_acc": 0.8355}
    assert "reported" not in run.settings  # the seed's numbers are not training parameters


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
    cfg["studies"][K]["experiments"]["lr_sweep"]["reported"].pop("lr-0.005")
    b = resolve(cfg).runs
    changed = {k for k in a.keys() & b.keys() if a[k].settings != b[k].settings}
    assert changed == set()
    assert set(a) - set(b) == {f"{K}/lr_sweep/lr-0.005"} and set(b) - set(a) == {f"{K}/lr_sweep/lr-0.004"}


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
    with pytest.raises(ConfigError, match=r"p2_range_test.*record_batches"):  # refused where unshareable
        resolve({**base_config, "overrides": {"replicates": 2}})
