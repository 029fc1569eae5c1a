"""Study optim_clr_cutout (write-up 003): its config, its analysis kinds, the final-vs-setting
figure, and one real range test -> lr_bounds -> cyclical-LR chain through the engine."""
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from dlrepro.outputs import analyses
from dlrepro.config import load_config, resolve
from dlrepro.data.prepare import save_prepared
from dlrepro.training.run import train_run
from dlrepro.training.trainer import Trainer
from dlrepro.outputs.figures import final_value, final_vs_setting, overlay
from dlrepro.training.lr_finder import lr_bounds_from_final
from dlrepro.outputs.tables import final_table, run_table

ROOT = Path(__file__).resolve().parents[2]
STUDY = "optim_clr_cutout"
KERAS_OPTS = ["keras_adagrad", "keras_adadelta", "keras_rmsprop", "keras_nadam", "keras_adam"]


@pytest.fixture(scope="module")
def cfg():
    raw = load_config(ROOT / "config.yaml")
    raw["preset"] = "full"
    return resolve(raw)


def _runs(cfg, exp):
    return {r.name: r for r in cfg.study_runs(STUDY, [exp])}


# ----------------------------------------------------------------------------- config
def test_run_counts_and_epochs(cfg):
    want = {"p1_l2": (10, 200), "p1_dropout": (10, 200), "p2_range_test": (1, 5), "p2_clr": (3, 60),
            "p2_batch": (10, 10), "p4_resnet": (2, 100), "p4_bataug": (5, 20)}
    for exp, (n, epochs) in want.items():
        runs = _runs(cfg, exp)
        assert len(runs) == n, exp
        assert {r.settings["epochs"] for r in runs.values()} == {epochs}, exp
    assert len(cfg.study_runs(STUDY)) == 41


def _printed(cfg, experiment: str) -> dict:
    """The ledger's numbers of an experiment's runs: {"exp/run": {(quantity, epoch): printed}}."""
    out: dict = {}
    for n in cfg.ledgers[STUDY]["numbers"]:
        if n["where"] == "run" and n["name"].split("/")[0] == experiment and n["printed"] is not None:
            out.setdefault(n["name"], {})[(n["quantity"], n["epoch"])] = n["printed"] / n["scale"]
    return out


def test_p1_keras_optimizers_and_pixels(cfg):
    for exp, dropout in (("p1_l2", False), ("p1_dropout", True)):
        runs = _runs(cfg, exp)
        assert sorted(runs) == sorted(f"{o}_scale-{s}" for o in KERAS_OPTS for s in ("false", "true"))
        for name, r in runs.items():
            s = r.settings
            assert s["optimizer"]["name"] in KERAS_OPTS and s["optimizer"]["lr"] == 0.001
            assert s["preprocess"]["scale"] is name.endswith("true")     # raw 0-255 as run, [0, 1] fixed
            assert s["model"] == "keras_mlp" and s["model_args"]["dropout"] is dropout
            assert s["dataset"] == "cifar10" and not s.get("val_split")   # the test split validates
            assert s["batch_size"] == 32
            assert (s.get("l2") or {}) == ({} if dropout else {"coef": 0.01, "params": "kernels"})
        # the write-up's numbers sit on the as-run runs only
        assert {n.split("/")[1] for n in _printed(cfg, exp)} == {f"{o}_scale-false" for o in KERAS_OPTS}
    assert _printed(cfg, "p1_l2")["p1_l2/keras_adagrad_scale-false"] == {
        ("train_loss", "last"): pytest.approx(15.6897, abs=1e-4), ("val_acc", "last"): pytest.approx(0.444, abs=1e-4)}


def test_p2_range_test_clr_and_batch_settings(cfg):
    rt = _runs(cfg, "p2_range_test")["range_test"].settings
    assert rt["schedule"] == {"name": "range_test", "lr_start": 1e-9, "lr_end": 10.0}
    assert rt["loop"]["record_batches"] and rt["loop"]["stop_on_loss_explosion"] == 4
    assert rt["augment"] == {"shift": 0.1, "hflip": True}
    assert rt["preprocess"] == {"scale": True, "normalize": "mean_image", "resize": 32}
    assert rt["model"] == "mini_googlenet" and rt["batch_size"] == 64

    clr = _runs(cfg, "p2_clr")
    assert clr["clr_exp_range"].settings["schedule"]["bounds_from"] == "p2_range_test/range_test"
    assert clr["clr_as_run_found"].settings["schedule"]["as_run_constant"] is True
    assert clr["clr_as_run"].settings["schedule"]["min_lr"] == clr["clr_as_run"].settings["schedule"]["max_lr"] == 1e-3
    assert "bounds_from" not in clr["clr_as_run"].settings["schedule"]
    assert all(r.settings["schedule"]["mode"] == "exp_range" for r in clr.values())
    assert {k: v for k, v in _printed(cfg, "p2_clr")["p2_clr/clr_as_run"].items()
            if k in (("val_acc", 20), ("val_acc", 40))} == {("val_acc", 20): 0.9015, ("val_acc", 40): 0.9208}

    batch = _runs(cfg, "p2_batch")
    sizes = sorted(r.settings["batch_size"] for r in batch.values())
    assert sizes == [2 ** k for k in range(5, 15)]
    for r in batch.values():
        s = r.settings
        assert s["optimizer"] == {"name": "sgd", "lr": 0.1, "momentum": 0.9} and not s.get("augment")
        assert s.get("micro_batch") == (512 if s["batch_size"] > 512 else None)


def test_p4_settings(cfg):
    res = _runs(cfg, "p4_resnet")
    for r in res.values():
        s = r.settings
        assert s["model"] == "resnet_v1" and s["model_args"] == {"depth": 44}
        assert s["l2"] == {"coef": 1e-4, "params": "kernels"} and s["optimizer"]["name"] == "keras_adam"
        assert s["batch_size"] == 64 and not s.get("augment")
    assert res["no_cutout"].settings["schedule"]["faithful"] is True
    assert res["no_cutout_fixed"].settings["schedule"]["faithful"] is False
    aug = _runs(cfg, "p4_bataug")
    assert sorted(r.settings["augment"]["repeat"] for r in aug.values()) == [1, 2, 4, 8, 16]
    assert all(r.settings["augment"]["cutout"] == 12 and r.settings["batch_size"] == 64 for r in aug.values())
    printed = _printed(cfg, "p4_bataug")
    assert [printed[f"p4_bataug/m-{m}"][("train_seconds", "last")] for m in (1, 2, 4, 8, 16)] == pytest.approx(
        [815.8, 1008.6, 1361.3, 2330.3, 3645.7], abs=0.05)


def test_smoke_preset_caps_every_run():
    raw = load_config(ROOT / "config.yaml")
    raw["preset"] = "smoke"
    runs = resolve(raw).study_runs(STUDY)
    assert len(runs) == 41
    assert all(r.settings["epochs"] <= 2 and r.settings["train_subset"] == 128 and r.settings["eval_subset"] == 128
               for r in runs)   # the study's smoke_scale tightens the preset's 512 / 256
    others = [r for r in resolve(raw).runs.values() if r.study != STUDY]
    assert others and all(r.settings["train_subset"] <= 512 for r in others)
    assert any(r.settings["train_subset"] == 512 for r in others)      # not theirs


def test_study_scale():
    from dlrepro.config import study_scale

    assert study_scale({"smoke_scale": {"train_subset": 128}}, None) is None                # full preset
    assert study_scale({}, {"epochs": 2}) == {"epochs": 2}
    assert study_scale({"smoke_scale": {"train_subset": 128, "eval_subset": 999}},
                       {"epochs": 2, "train_subset": 512, "eval_subset": 256}) == {
        "epochs": 2, "train_subset": 128, "eval_subset": 256}


def test_analysis_runs_must_exist(cfg):
    from dlrepro.config import ConfigError

    raw = load_config(ROOT / "config.yaml")
    raw["studies"][STUDY]["analyses"]["lr_range_test"]["runs"] = ["p2_range_test/nope"]
    with pytest.raises(ConfigError, match="names no run"):
        resolve(raw)


def test_final_vs_setting_needs_x_and_y():
    from dlrepro.config import ConfigError

    raw = load_config(ROOT / "config.yaml")
    del raw["studies"][STUDY]["figures"]["p2_batch_final_loss"]["x"]
    with pytest.raises(ConfigError, match="'x' is a required property"):
        resolve(raw)


# ----------------------------------------------------------------------------- P3 analyses
def _analysis(cfg, name, out, **kw):
    """Run one analysis as rule `analysis` does (its spec, and the ledger transcripts it names)."""
    spec = cfg.studies[STUDY]["analyses"][name]
    printed = {k: cfg.ledgers[STUDY]["transcripts"][k] for k in spec.get("transcripts", [])}
    analyses.run_analysis(spec, str(out), printed=printed, **kw)
    return pd.read_csv(out)


def test_p3_tables(cfg, tmp_path):
    alex = _analysis(cfg, "alexnet_params", tmp_path / "alex.csv")
    assert int(alex.loc[alex["layer"] == "total", "params"].iloc[0]) == 62_378_344
    vgg = _analysis(cfg, "vgg19", tmp_path / "vgg.csv")
    slip = vgg[vgg["writeup_params"].astype(str).str.contains("117948")].iloc[0]
    assert slip["weights"] == 1_179_648 and not slip["params_ok"] and "1,179,648" in slip["note"]
    rf = _analysis(cfg, "receptive_field", tmp_path / "rf.csv")
    assert rf.loc[(rf["n_layers"] == 3) & (rf["kernel"] == 5), "rf_measured"].item() == 13
    inc = _analysis(cfg, "inception_summary", tmp_path / "inc.csv").set_index("version")
    assert (inc.loc["naive", "output_depth"], inc.loc["reduced", "output_depth"]) == (672, 480)
    assert (inc.loc["naive", "macs"], inc.loc["reduced", "macs"]) == (1_115_684_864, 354_418_688)
    ops = _analysis(cfg, "inception_ops", tmp_path / "ops.csv")
    assert ops.groupby("version")["macs"].sum().to_dict() == {"naive": 1_115_684_864, "reduced": 354_418_688}


def test_p3_summary_flags_the_slips(cfg, tmp_path):
    from dlrepro.reproduction.compare import reproduction_table
    from dlrepro.reproduction.ours import StudyOutputs

    out = tmp_path / "s.csv"
    df = _analysis(cfg, "p3_summary", out).set_index("quantity")
    assert df.loc["alexnet_total_params", "ours"] == 62_378_344
    assert df.loc["vgg19_conv3_256_512_params", "ours"] == 1_179_648
    assert "slip" in df.loc["vgg19_conv3_256_512_params", "note"]
    assert df.loc["vgg19_param_slips", "ours"] == 8   # conv9 .. conv16
    # the write-up's P3 numbers through the one comparison: its slips read `differs`
    numbers = [n for n in cfg.ledgers[STUDY]["numbers"] if n["where"] == "analysis" and n["name"] == "p3_summary"]
    table = reproduction_table(STUDY, numbers, StudyOutputs(analyses={"p3_summary": str(out)}), cfg.tolerances)
    verdict = dict(zip(table["quantity"], table["verdict"]))
    assert verdict["alexnet_total_params"] == "match"
    assert verdict["vgg19_conv3_256_512_params"] == verdict["vgg19_conv3_512_512_params"] == "differs"
    for q in ("receptive_field_3x5x5", "inception_naive_depth", "inception_reduced_depth", "inception_naive_macs",
              "inception_reduced_macs", "inception_macs_saved"):
        assert verdict[q] == "match", q


def test_unknown_p3_table_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="args.table"):
        analyses.run_analysis({"kind": "p3_table", "args": {"table": "resnet"}}, str(tmp_path / "x.csv"))


def _edited_copy(tmp_path, rel, old, new):
    """config.yaml and studies/ copied to tmp_path, with one edit in one file."""
    import shutil

    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(ROOT / "studies", tmp_path / "studies")
    f = tmp_path / rel
    text = f.read_text()
    assert text.count(old) == 1, old
    f.write_text(text.replace(old, new))
    return tmp_path / "config.yaml"


def test_p3_printed_numbers_reach_only_the_analyses_that_show_them(cfg, tmp_path):
    """Each P3 analysis's spec names the parts of the write-up's printed tables (the ledger's
    transcripts) it reads; the rule passes only those as its `printed` param, so editing one
    reruns exactly those analyses."""
    a = cfg.studies[STUDY]["analyses"]
    parts = {name: sorted(spec.get("transcripts", [])) for name, spec in a.items() if spec["kind"].startswith("p3_")}
    assert parts == {"alexnet_params": ["alexnet"], "vgg19": ["vgg19"], "receptive_field": ["receptive_field"],
                     "inception_ops": ["inception"], "inception_summary": ["inception"],
                     "p3_summary": ["alexnet", "inception", "receptive_field", "vgg19"]}
    assert not any("transcripts" in spec for name, spec in a.items() if not spec["kind"].startswith("p3_"))

    def params(c):  # what rule `analysis` passes as `printed`
        tr = c.ledgers[STUDY]["transcripts"]
        return {n: {k: tr.get(k) for k in spec.get("transcripts", [])} for n, spec in a.items()}
    edited = resolve(load_config(_edited_copy(tmp_path, f"studies/{STUDY}.printed.yaml",
                                              "(3*3*256)*512 = 117948", "(3*3*256)*512 = 1179648")))
    before, after = params(cfg), params(edited)
    assert {n for n in a if before[n] != after[n]} == {"vgg19", "p3_summary"}
    assert {k: r.settings for k, r in edited.runs.items()} == {k: r.settings for k, r in cfg.runs.items()}


# ----------------------------------------------------------------------------- fake runs
def _fake_run(root, exp, name, settings, rows, status="ok", **extra):
    d = root / "runs" / exp / name
    d.mkdir(parents=True)
    df = pd.DataFrame(rows)
    df.to_csv(d / "metrics.csv", index=False)
    final = {"run": f"{STUDY}/{exp}/{name}", "settings": settings, "status": status, "synthetic": True,
             "final": rows[-1], "epochs_completed": len(rows), "train_seconds": float(df["seconds"].sum()), **extra}
    (d / "final.json").write_text(json.dumps(final))
    return str(d / "metrics.csv"), str(d / "final.json")


def _rows(n, loss0, acc=0.5):
    return [{"epoch": e, "train_loss": loss0 / e, "train_loss_mean": loss0 / e, "train_acc": acc, "val_loss": 1.0,
             "val_acc": acc, "lr": 0.1, "seconds": 10.0 * e} for e in range(1, n + 1)]


def test_final_vs_setting_figure_and_table(tmp_path):
    finals, metrics, printed = [], [], {}
    for m in (1, 2, 4, 8, 16):
        mp, fp = _fake_run(tmp_path, "p4_bataug", f"m-{m}", {"augment": {"repeat": m, "cutout": 12}}, _rows(3, 2.0 * m))
        finals.append(fp)
        metrics.append(mp)
        printed[f"{STUDY}/p4_bataug/m-{m}"] = {"train_seconds": 800.0 * m ** 0.5}
    spec = {"kind": "final_vs_setting", "x": "augment.repeat", "y": "train_seconds", "logx": True, "show_printed": True}
    out = tmp_path / "time.png"
    final_vs_setting(finals, str(out), spec, title="t", printed=printed)
    assert out.stat().st_size > 5000
    with open(finals[2]) as fh:
        f = json.load(fh)
    assert final_value(f, "train_seconds") == 60.0 and final_value(f, "val_error") == pytest.approx(0.5)
    # the overlay kind draws a derived metric too
    overlay(metrics, finals, str(tmp_path / "err.png"), {"kind": "overlay", "y": "val_error", "hue": "augment.repeat"}, "t")
    assert (tmp_path / "err.png").exists()
    # "metric@N" table columns: the value after epoch N
    table = run_table(finals, metrics, {"kind": "final", "metrics": ["train_loss@2", "train_seconds"]},
                      {f"{STUDY}/p4_bataug/m-1": {"train_loss@2": 0.9}})
    assert table.loc[0, "train_loss@2"] == pytest.approx(1.0) and table.loc[0, "train_loss@2_diff"] == pytest.approx(0.1)
    assert table.loc[0, "train_seconds"] == 60.0
    assert final_table([f], ["val_acc@9"], {}, {}, [pd.read_csv(metrics[2])]).loc[0, "val_acc@9"] is None


def test_run_files_by_key():
    paths = ["R/s/runs/a/r1/final.json", "R/s/runs/a/r1/metrics.csv", "R/s/runs/a/r1/lr_bounds.json",
             "R/s/runs/b/r2/final.json", "R/s/runs/b/r2/metrics.csv"]
    got = analyses.run_files_by_key(paths, ["b/r2", "a/r1"])
    assert list(got) == ["b/r2", "a/r1"]
    assert got["a/r1"] == {"final": paths[0], "metrics": paths[1], "lr_bounds": paths[2]}
    with pytest.raises(ValueError):
        analyses.run_files_by_key(paths, ["a/r1"])


# ----------------------------------------------------------------------------- engine chain
def make_data(n_train, n_test, channels, size, seed=0, dataset="cifar10"):
    g = torch.Generator().manual_seed(seed)
    protos = torch.rand(10, channels, size, size, generator=g) * 255
    y = torch.randint(0, 10, (n_train + n_test,), generator=g)
    x = (protos[y] * 0.5 + torch.rand(len(y), channels, size, size, generator=g) * 128).clamp(0, 255).to(torch.uint8)
    return {"train_x": x[:n_train], "train_y": y[:n_train], "test_x": x[n_train:], "test_y": y[n_train:],
            "classes": [f"c{i}" for i in range(10)], "mean": [0.4] * channels, "std": [0.3] * channels,
            "synthetic": True, "dataset": dataset, "source": "synthetic", "manifest_md5s": {}}


def _train(tmp, data, s, exp, name, lr_bounds=None):
    d = tmp / "runs" / exp / name
    final = train_run(s, str(data), str(d / "metrics.csv"), str(d / "final.json"), str(d / "model.pt"),
                      str(tmp / "ckpt" / name), log=lambda m: None, run_key=f"{STUDY}/{exp}/{name}",
                      lr_bounds_path=lr_bounds)
    return final, pd.read_csv(d / "metrics.csv"), d


def test_range_test_to_lr_bounds_to_clr(cfg, tmp_path):
    """The study's own P2 settings, shrunk to a few batches of synthetic 28x28 images."""
    data = tmp_path / "fashion.pt"
    save_prepared(make_data(96, 24, 1, 28, dataset="fashion_mnist"), data)
    small = {"train_subset": 96, "eval_subset": 24, "batch_size": 12, "epochs": 1}
    rt = {**cfg.runs[f"{STUDY}/p2_range_test/range_test"].settings, **small}
    final, df, d = _train(tmp_path, data, rt, "p2_range_test", "range_test")
    lrs = [b["lr"] for b in final["batches"]]
    assert final["status"] in ("ok", "stopped_loss_explosion") and len(lrs) >= 2
    assert lrs[0] == pytest.approx(1e-9) and all(b > a for a, b in zip(lrs, lrs[1:]))   # exponential sweep
    if final["status"] == "ok":
        assert lrs[-1] == pytest.approx(10.0)
    bounds = lr_bounds_from_final(final)   # what rule lr_bounds writes
    assert 0 < bounds["lr_min"] < bounds["lr_max"] and bounds["source_run"] == final["run"] and bounds["synthetic"]
    (d / "lr_bounds.json").write_text(json.dumps(bounds))

    clr = {**cfg.runs[f"{STUDY}/p2_clr/clr_exp_range"].settings, **small}
    cf, cdf, cd = _train(tmp_path, data, clr, "p2_clr", "clr_exp_range", lr_bounds=str(d / "lr_bounds.json"))
    assert cf["status"] == "ok" and cf["lr_bounds"]["lr_min"] == bounds["lr_min"]
    assert bounds["lr_min"] < cdf["lr"].iloc[-1] < bounds["lr_max"]      # climbing from lr_min
    const = {**cfg.runs[f"{STUDY}/p2_clr/clr_as_run_found"].settings, **small, "train_subset": 24}
    kf, kdf, kd = _train(tmp_path, data, const, "p2_clr", "clr_as_run_found", lr_bounds=str(d / "lr_bounds.json"))
    assert kdf["lr"].iloc[-1] == pytest.approx(bounds["lr_min"])        # the seed's max_lr = min_lr slip

    # the P2 figures read exactly these files
    from dlrepro.outputs.training_analyses import lr_per_iteration

    spec = cfg.studies[STUDY]["analyses"]["lr_range_test"]
    files = [str(d / f) for f in ("final.json", "metrics.csv", "lr_bounds.json")]
    analyses.run_analysis(spec, str(tmp_path / "rt.png"), runs=analyses.run_files_by_key(files, spec["runs"]))
    assert (tmp_path / "rt.png").stat().st_size > 5000
    assert lr_per_iteration(cf)[-1] == pytest.approx(cdf["lr"].iloc[-1])  # redrawn = what the engine used
    runs = {"p2_clr/clr_exp_range": {"final": str(cd / "final.json"), "metrics": str(cd / "metrics.csv")},
            "p2_clr/clr_as_run_found": {"final": str(kd / "final.json"), "metrics": str(kd / "metrics.csv")}}
    analyses.run_analysis({"kind": "lr_schedule", "runs": list(runs)}, str(tmp_path / "lr.png"), runs=runs)
    assert (tmp_path / "lr.png").exists()


def test_batch_augmentation_step_takes_m_copies(cfg):
    """P4: batch 64 originals x M copies with independent cutout masks per step; the
    Keras step + plateau schedule runs through the epoch end."""
    data = make_data(16, 8, 3, 32)
    s = {**cfg.runs[f"{STUDY}/p4_bataug/m-4"].settings, "batch_size": 8, "epochs": 1}
    tr = Trainer(s, data, torch.device("cpu"))
    out = tr.train_epoch(0)
    assert out["n_batches"] == 2 and out["seen"] == 16 * 4
    row, status = tr.run_epoch(1)
    assert status == "ok" and math.isfinite(row["train_loss"]) and row["lr"] == pytest.approx(1e-3)


def test_cutout_examples_figure(cfg, tmp_path):
    data = tmp_path / "cifar.pt"
    save_prepared(make_data(4, 2, 3, 32), data)
    out = tmp_path / "cutout.png"
    analyses.run_analysis(cfg.studies[STUDY]["analyses"]["cutout_examples"], str(out), data_path=str(data))
    assert out.stat().st_size > 5000
