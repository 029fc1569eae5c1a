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
    want = {"p1_l2": (10, 200), "p1_dropout": (10, 200), "p2_range_test": (1, 5), "p2_linear_sweep": (1, 5),
            "p2_clr": (4, 60), "p2_batch": (10, 10), "p4_resnet": (2, 100), "p4_bataug": (5, 20),
            "p4_bataug_as_run": (5, 20), "p4_bataug_noop": (5, 20)}
    for exp, (n, epochs) in want.items():
        runs = _runs(cfg, exp)
        assert len(runs) == n, exp
        assert {r.settings["epochs"] for r in runs.values()} == {epochs}, exp
    assert len(cfg.study_runs(STUDY)) == 53


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

    lin = _runs(cfg, "p2_linear_sweep")["linear_sweep"].settings      # the printed In[49] cell
    assert lin["schedule"] == {"name": "clr", "mode": "triangular", "min_lr": 1e-9, "max_lr": 10.0, "step_size_epochs": 5}
    assert lin["loop"]["record_batches"] and not lin["loop"].get("stop_on_loss_explosion")   # it ran all 5 epochs
    assert {k: lin[k] for k in ("augment", "preprocess", "model", "batch_size", "optimizer")} == {
        k: rt[k] for k in ("augment", "preprocess", "model", "batch_size", "optimizer")}

    clr = _runs(cfg, "p2_clr")
    # as the code meant: the write-up's bounds, exp_range with CyclicLR's default gamma (1.0)
    assert clr["clr_intended"].settings["schedule"] == {"name": "clr", "mode": "exp_range", "step_size_epochs": 8,
                                                        "min_lr": 1e-4, "max_lr": 0.1}
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
    procedures = {"p4_bataug": {"cutout": 12},                                       # ours
                  "p4_bataug_as_run": {"cutout": 12, "repeat_layout": "spread", "cutout_draw": "once"},
                  "p4_bataug_noop": {"repeat_layout": "spread"}}                     # apply_mask as rendered
    for exp, aug in procedures.items():
        runs = _runs(cfg, exp)
        assert sorted(r.settings["augment"]["repeat"] for r in runs.values()) == [1, 2, 4, 8, 16]
        for r in runs.values():
            assert {k: v for k, v in r.settings["augment"].items() if k != "repeat"} == aug, exp
            assert r.settings["batch_size"] == 64 and r.settings["schedule"]["monitor"] == "val_loss_reg"
            assert {k: v for k, v in r.settings.items() if k != "augment"} == {
                k: v for k, v in _runs(cfg, "p4_bataug")[r.name].settings.items() if k != "augment"}
    assert not _printed(cfg, "p4_bataug")          # the write-up's numbers stand against the as-run candidates
    for exp in ("p4_bataug_as_run", "p4_bataug_noop"):
        printed = _printed(cfg, exp)
        assert [printed[f"{exp}/m-{m}"][("train_seconds", "last")] for m in (1, 2, 4, 8, 16)] == pytest.approx(
            [815.8, 1008.6, 1361.3, 2330.3, 3645.7], abs=0.05)
        assert printed[f"{exp}/m-16"][("val_acc", 20)] == 0.8045


def test_smoke_preset_caps_every_run():
    raw = load_config(ROOT / "config.yaml")
    raw["preset"] = "smoke"
    runs = resolve(raw).study_runs(STUDY)
    assert len(runs) == 53
    # the study's smoke_scale tightens the preset's 512 / 256; a batch-augmentation run with
    # M copies keeps 64 // M originals (train_images: 64), so each smoke epoch sees 64 images
    for r in runs:
        m = r.settings.get("augment", {}).get("repeat", 1)
        assert r.settings["epochs"] <= 2 and r.settings["eval_subset"] == 64, r.key
        assert r.settings["train_subset"] == 64 // m and r.settings["train_subset"] * m == 64, r.key
    assert sorted(r.settings["augment"]["repeat"] for r in runs if "augment" in r.settings
                  and r.settings["augment"].get("repeat", 1) > 1) == [2, 2, 2, 4, 4, 4, 8, 8, 8, 16, 16, 16]
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


def test_train_images_caps_only_batch_augmentation_and_only_when_scaled(cfg):
    from dlrepro.config.expand import _apply_scale

    run = {"epochs": 20, "augment": {"repeat": 16, "cutout": 12}}
    assert _apply_scale(run, {"train_images": 128})["train_subset"] == 8
    assert _apply_scale(run, {"train_subset": 4, "train_images": 128})["train_subset"] == 4    # the smaller
    assert _apply_scale({**run, "augment": {"repeat": 256}}, {"train_images": 128})["train_subset"] == 1
    assert "train_subset" not in _apply_scale({"epochs": 20}, {"train_images": 128})        # no repeat
    assert "train_subset" not in _apply_scale(run, None)                                     # full preset
    assert all(r.settings.get("train_subset") is None for r in cfg.study_runs(STUDY)
               if r.experiment.startswith("p4_bataug"))                                      # full: 50,000


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
    assert slip["weights"] == 1_179_648 and slip["module"] == "conv9"
    rf = _analysis(cfg, "receptive_field", tmp_path / "rf.csv")
    assert rf.loc[(rf["n_layers"] == 3) & (rf["kernel"] == 5), "rf_measured"].item() == 13
    inc = _analysis(cfg, "inception_summary", tmp_path / "inc.csv").set_index("version")
    assert (inc.loc["naive", "output_depth"], inc.loc["reduced", "output_depth"]) == (672, 480)
    assert (inc.loc["naive", "macs"], inc.loc["reduced", "macs"]) == (1_115_684_864, 354_418_688)
    ops = _analysis(cfg, "inception_ops", tmp_path / "ops.csv")
    assert ops.groupby("version")["macs"].sum().to_dict() == {"naive": 1_115_684_864, "reduced": 354_418_688}
    lines = _analysis(cfg, "inception_lines", tmp_path / "lines.csv")
    assert len(lines) == 7 and lines["macs"].sum() == 1_115_684_864 + 354_418_688


def _p3_outputs(cfg, tmp_path):
    out = {}
    for n in ("alexnet_params", "vgg19", "receptive_field", "inception_ops", "inception_lines", "inception_summary"):
        _analysis(cfg, n, tmp_path / f"{n}.csv")
        out[n] = str(tmp_path / f"{n}.csv")
    return out


def test_p3_ledger_numbers_read_the_tables_rows_and_the_slips_differ(cfg, tmp_path):
    """Every P3 number of the write-up against a row of a P3 table, through the one comparison:
    its eight VGG-19 parameter slips read `differs`, everything else matches (the rounded
    K/M activation figures to their 2 significant digits)."""
    from dlrepro.reproduction.compare import reproduction_table
    from dlrepro.reproduction.ours import StudyOutputs

    outputs = _p3_outputs(cfg, tmp_path)
    numbers = [n for n in cfg.ledgers[STUDY]["numbers"] if n["where"] == "analysis" and n["name"] in outputs]
    assert len(numbers) == 77
    table = reproduction_table(STUDY, numbers, StudyOutputs(analyses=outputs), cfg.tolerances)
    verdict = dict(zip(table["id"], table["verdict"]))
    differs = sorted(k for k, v in verdict.items() if v != "match")
    assert differs == sorted(f"vgg19[conv{i}].weights" for i in range(9, 17))
    assert all(verdict[k] == "differs" for k in differs)
    assert verdict["alexnet_params[total].params"] == verdict["vgg19[input].activations"] == "match"
    assert verdict["inception_lines[reduced][3 x 1x1 64].macs"] == "match"


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
    assert parts == {"alexnet_params": ["alexnet"], "vgg19": ["vgg19"], "receptive_field": [],
                     "inception_ops": ["inception"], "inception_lines": ["inception"], "inception_summary": []}
    assert not any("transcripts" in spec for name, spec in a.items() if not spec["kind"].startswith("p3_"))
    assert not any(spec["kind"] == "p3_summary" for spec in a.values())     # the ledger is the only comparison

    def params(c):  # what rule `analysis` passes as `printed`
        tr = c.ledgers[STUDY]["transcripts"]
        return {n: {k: tr.get(k) for k in spec.get("transcripts", [])} for n, spec in a.items()}
    edited = resolve(load_config(_edited_copy(tmp_path, f"studies/{STUDY}.printed.yaml",
                                              "(3*3*256)*512 = 117948", "(3*3*256)*512 = 1179648")))
    before, after = params(cfg), params(edited)
    assert {n for n in a if before[n] != after[n]} == {"vgg19"}
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


# ----------------------------------------------------------------------------- the ledger
WRITEUP = (ROOT.parent / "shared" / "seeds" / "003_863ffff3022c2634.txt")
#: ledger numbers whose printed form differs from the write-up's text, and why
TEXT_EXCEPTIONS = {
    "p2_range_test.lr_min": "printed as 10^{-4} (LaTeX), the ledger writes 1e-4",
    "p2_range_test.lr_max": "printed as 10^{-1} (LaTeX), the ledger writes 1e-1",
}
#: the P3 VGG-19 activations are printed with a unit: 150K, 3.2M (the ledger: the digits and a scale)
UNITS = {0.001: "K", 1e-6: "M"}


def _writeup_text() -> str:
    if not WRITEUP.exists():
        pytest.skip(f"the write-up {WRITEUP} is not in this checkout")
    return WRITEUP.read_text()


def _ledger(cfg):
    return cfg.ledgers[STUDY]


def _positions(text: str, token: str) -> list[int]:
    import re

    return [m.start() for m in re.finditer(r"(?<![\d.])" + re.escape(token) + r"(?![\d])", text)]


def test_every_printed_number_is_in_the_writeup_as_printed(cfg):
    """Each legible number appears in the write-up's text as the ledger writes it; a series'
    values appear in the order of their epochs (so a shifted epoch or a typo fails)."""
    text = _writeup_text()
    by_entry: dict = {}
    for n in _ledger(cfg)["numbers"]:
        if n["printed"] is None or n["id"] in TEXT_EXCEPTIONS:
            continue
        token = n["printed_text"] + UNITS.get(n["scale"], "")
        assert _positions(text, token), f"{n['id']}: {token!r} is not in the write-up"
        if n["epoch"] is not None and n["epoch"] != "last":
            by_entry.setdefault((n["name"], n["quantity"], n["source"]), []).append((n["epoch"], token))
    for key, values in by_entry.items():
        pos = -1
        for epoch, token in sorted(values):
            later = [p for p in _positions(text, token) if p > pos]
            assert later, f"{key}: epoch {epoch}'s {token!r} is not after the epoch before it in the write-up"
            pos = later[0]
    for nid, why in TEXT_EXCEPTIONS.items():
        n = next(x for x in _ledger(cfg)["numbers"] if x["id"] == nid)
        assert "10^{-" + ("4" if n["printed"] == 1e-4 else "1") + "}" in text, why


def test_the_count_of_printed_numbers(cfg):
    """So that a lost entry fails. 937 distinct legible numbers: 1,244 legible rows minus the two
    derived bests (also in their series) minus the P4 Q3 logs and times, which stand against
    both as-run candidates (305 rows twice)."""
    led = _ledger(cfg)
    rows = led["numbers"]
    legible = [n for n in rows if n["printed"] is not None]
    assert (len(rows), len(legible), len(rows) - len(legible)) == (1450, 1244, 206)
    derived = [n for n in legible if n.get("reduce")]
    assert [n["printed_text"] for n in derived] == ["0.9224", "0.8503"]
    twice = [n for n in legible if n["name"].startswith("p4_bataug_noop/")]
    assert len(twice) == 305 == len([n for n in legible if n["name"].startswith("p4_bataug_as_run/")])
    assert len(legible) - len(derived) - len(twice) == 937
    per_section = {}
    for n in legible:
        per_section[n["section"]] = per_section.get(n["section"], 0) + 1
    assert per_section == {"P1 Q2": 10, "P1 Q3": 15, "P2 Q1": 10, "P2 Q2": 113, "P4 Q2": 409, "P4 Q3": 610,
                           "P3 Q1": 9, "P3 Q2": 47, "P3 Q3": 1, "P3 Q4": 20}
    assert (len(led["claims"]), len(led["illegible"])) == (11, 13)


def test_claims_on_the_writeups_own_numbers(cfg):
    from dlrepro.reproduction import claims
    from dlrepro.reproduction.ours import Ours

    led = _ledger(cfg)
    by_id = {n["id"]: n for n in led["numbers"]}
    got = {c["id"]: claims.evaluate(c, by_id, lambda n: Ours(None))["on_writeup"] for c in led["claims"]}
    assert got == {
        "p1_l2_nesterov_lowest_loss": "holds",           # by 6e-6, a collapsed constant predictor (ln 10)
        "p1_l2_nesterov_performs_best": "does not hold",  # as a model: accuracy 0.10 against Adagrad's 0.444
        "p1_l2_low_and_high_losses": "holds",
        "p1_dropout_nesterov_lowest_loss": "holds",
        "p1_dropout_faster": "holds",
        "p1_dropout_chance_accuracy": "holds",
        "p1_best_model_l2_adagrad": "holds",
        "p2_not_converged_after_20": "holds",
        "p2_not_converged_after_40": "holds",
        "p2_60_epochs_steady": "holds",
        "p2_small_batch_lower_loss": "not printed",     # Out[41]'s values are not legible
    }


def test_ledger_quantities_as_keras_logged_them(cfg):
    """P4: Keras's validation loss with the L2 terms and the plateau callback's logged lr; the
    P2 Q3 figure's last-batch loss; P1's losses with the L2 term (train_loss of an l2 run)."""
    rows = _ledger(cfg)["numbers"]
    p4 = {n["quantity"] for n in rows if n["name"] and n["name"].startswith("p4_")}
    assert {"val_loss_reg", "lr_logged", "val_acc"} <= p4 and "val_loss" not in p4
    lr = {n["epoch"]: n["printed_text"] for n in rows if n["name"] == "p4_resnet/no_cutout" and n["quantity"] == "lr_logged"}
    assert [e for e, v in sorted(lr.items()) if v != "0.0010"][:4] == [12, 20, 25, 30]
    assert cfg.studies[STUDY]["figures"]["p2_batch_last_batch_loss"]["y"] == "last_batch_loss"


def test_significant_digit_precision():
    from dlrepro.config.ledger import expand_number, half_unit

    assert half_unit("800", "s2") == pytest.approx(5.0)
    assert half_unit("3.2", "s2") == pytest.approx(0.05) and half_unit("25", "s2") == pytest.approx(0.5)
    row = expand_number({"analysis": "vgg19", "row": {"module": "pool1"}, "quantity": "activations", "printed": "800",
                         "scale": 0.001, "format": "s2", "source": "x"})[0]
    assert row["half_unit"] == pytest.approx(5.0)       # 802,816 is "800K" to 2 significant digits


def test_p1_time_differences(tmp_path):
    """Out[22]: the L2 run's training time minus the dropout run's, per optimizer."""
    runs = {}
    for exp, secs in (("p1_l2", 100.0), ("p1_dropout", 75.0)):
        for o in ("keras_adam_scale-false", "keras_nadam_scale-false"):
            mp, fp = _fake_run(tmp_path, exp, o, {}, _rows(2, 1.0))
            final = json.loads(Path(fp).read_text())
            final["train_seconds"] = secs + (o == "keras_adam_scale-false")
            Path(fp).write_text(json.dumps(final))
            runs[f"{exp}/{o}"] = {"final": fp, "metrics": mp}
    out = tmp_path / "diff.csv"
    analyses.run_analysis({"kind": "paired_difference", "runs": list(runs),
                           "args": {"left": "p1_l2", "right": "p1_dropout"}}, str(out), runs=runs)
    df = pd.read_csv(out).set_index("run")
    assert df.loc["keras_adam_scale-false", "difference"] == 25.0 and df["synthetic"].all()
