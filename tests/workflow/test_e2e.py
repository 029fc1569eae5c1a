"""End to end: the smoke preset builds every figure and table from nothing; a second
invocation does nothing; changing one sweep value reruns exactly what it touches."""
import json
import re

import pandas as pd
import pytest
from PIL import Image

from dlrepro.config import load_config, resolve
from e2e import drop_run_numbers, edit_ledger, planned_jobs, snakemake

pytestmark = pytest.mark.slow


def _cfg(work):
    raw = load_config(work / "config.yaml")
    raw["preset"] = "smoke"
    return resolve(raw)


def test_every_output_exists_and_is_well_formed(smoke_build):
    cfg = _cfg(smoke_build)
    R = smoke_build / cfg.results
    pngs = list(R.glob("*/figures/**/*.png")) + list(R.glob("*/analysis/*.png"))
    csvs = list(R.glob("*/tables/*.csv")) + list(R.glob("*/analysis/*.csv"))
    assert len(pngs) > 50 and len(csvs) > 15
    for p in pngs:
        with Image.open(p) as im:
            im.verify()
            assert im.size[0] > 200 and im.size[1] > 150, p
    for c in csvs:
        df = pd.read_csv(c)
        assert len(df) > 0 and len(df.columns) > 1, c
    for run in cfg.runs.values():
        d = R / run.study / "runs" / run.experiment / run.name
        final = json.loads((d / "final.json").read_text())
        assert final["synthetic"] is True and final["status"] in ("ok", "diverged", "stopped_loss_explosion")
        assert len(pd.read_csv(d / "metrics.csv")) == final["epochs_completed"]
        assert final["provenance"]["torch_threads"] == 1  # the rule's threads: no oversubscription
        mlp = run.settings["model"] in ("kmnist_mlp", "fashion_mlp", "keras_mlp", "fc_baseline")  # on the CPU:
        assert final["provenance"]["memory_format"] == ("contiguous" if mlp else "channels_last"), run.key
    for study in cfg.studies:
        assert (R / study).is_dir(), study
    reps = [r for r in cfg.runs.values() if r.settings.get("replicates", 1) > 1]
    assert reps, "the smoke DAG exercises replicates"
    for run in reps:  # the seeds' mean and spread, and every seed's own curve
        d = R / run.study / "runs" / run.experiment / run.name
        final = json.loads((d / "final.json").read_text())
        assert final["replicates"]["n"] == run.settings["replicates"]
        assert len(final["replicates"]["metrics"]) == run.settings["replicates"]
        assert pd.read_csv(d / "metrics.csv")["val_acc_std"].notna().all()
    empty_logs = [p for p in (R / "logs").rglob("*.log") if p.stat().st_size == 0]
    assert not empty_logs, f"rules that declare a log leave it empty: {empty_logs[:5]}"
    assert not list(R.rglob("*.tmp")) and not list(R.rglob(".*.png")), "temporary files left behind"
    assert not list((R / ".checkpoints").rglob("checkpoint.pt")), "checkpoints not cleaned up"


def test_reproduction_tables_and_pages_of_a_synthetic_build(smoke_build):
    """Every study gets tables/reproduction.csv and tables/claims.csv; on synthetic data the
    pages present them as a pipeline check, never as reproduction results."""
    cfg = _cfg(smoke_build)
    R = smoke_build / cfg.results
    for study in cfg.studies:
        t = pd.read_csv(R / study / "tables" / "reproduction.csv")
        assert len(t) == len(cfg.ledgers[study]["numbers"]), study
        assert set(t["verdict"]) <= {"match", "explained", "differs", "missing", "illegible"}
        assert (t.loc[t["verdict"] == "explained", "cause"].isin(["hardware", "unseeded", "unknown_code"])).all()
        claims = pd.read_csv(R / study / "tables" / "claims.csv")
        assert len(claims) == len(cfg.ledgers[study]["claims"]), study
        page = (R / "report" / f"{study}.html").read_text()
        if study != "scratch_backprop":   # the NumPy study's data (scikit-learn digits) is real
            assert "Pipeline check: the comparison run on synthetic data" in page, study
            assert "Reproduction: the write-up" not in page, study
    scratch = pd.read_csv(R / "scratch_backprop" / "tables" / "reproduction.csv")
    assert (scratch["verdict"] == "match").sum() >= 2033      # real data, real numbers


def test_second_invocation_does_nothing(smoke_build):
    assert planned_jobs(smoke_build) == []


def test_changing_one_sweep_value_reruns_exactly_what_it_touches(smoke_build):
    study = smoke_build / "studies" / "kmnist_tricks.yaml"
    printed = smoke_build / "studies" / "kmnist_tricks.printed.yaml"   # the run's printed numbers
    text = study.read_text()
    new = text.replace("grid: {clip_grad_norm: [0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]}",
                       "grid: {clip_grad_norm: [0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.5]}")
    assert new != text
    study.write_text(new)
    printed_text = edit_ledger(smoke_build, "kmnist_tricks", lambda led: drop_run_numbers(led, "clip_sweep/clip-3.0"))
    try:
        jobs = planned_jobs(smoke_build)
        train = [w for r, w in jobs if r == "train"]
        assert train == [{"study": "kmnist_tricks", "experiment": "clip_sweep", "run": "clip-3.5"}]
        other = {(r, w.get("study"), w.get("name"), w.get("run")) for r, w in jobs if r != "train"}
        studies = {s for _, s, _, _ in other if s}
        assert studies <= {"kmnist_tricks"}, other
        names = {n for _, _, n, _ in other if n}
        assert {"clip_sweep_val_acc", "sweeps_final"} <= names
        assert not names & {"lr_sweep_val_acc", "models_val_acc", "technique", "epoch_time"}, names
        snakemake(smoke_build)
        assert planned_jobs(smoke_build) == []
    finally:
        study.write_text(text)
        printed.write_text(printed_text)
        snakemake(smoke_build)  # back to the committed config for the tests that follow


def test_editing_a_printed_number_retrains_nothing(smoke_build):
    """The write-ups' printed numbers live in studies/<study>.printed.yaml, apart from the
    settings: editing one replans the tables (and pages) that show it, never a run."""
    printed = smoke_build / "studies" / "kmnist_tricks.printed.yaml"

    def bump(led):
        n = next(n for n in led["numbers"] if n.get("run") == "clip_sweep/clip-3.0" and n["quantity"] == "val_acc"
                 and not isinstance(n.get("epoch"), list))
        n["printed"] = round(float(str(n["printed"]).rstrip("%")) + 0.0001, 6)
    text = edit_ledger(smoke_build, "kmnist_tricks", bump)
    try:
        jobs = planned_jobs(smoke_build)
    finally:
        printed.write_text(text)
    rules = {r for r, _ in jobs}
    assert {"run_table", "reproduction", "report_page"} <= rules, rules
    assert rules <= {"run_table", "overlay_figure", "reproduction", "report_page", "report_index", "report_site",
                     "all"}, rules
    assert all(w.get("study", "kmnist_tricks") == "kmnist_tricks" for _, w in jobs), jobs
    assert planned_jobs(smoke_build) == []


def test_editing_the_plotting_library_redraws_figures_only(smoke_build):
    """A drawing job depends on the library module that draws it, not only on its script:
    editing dlrepro/outputs/figures.py replans every figure (and the pages showing them), no run.
    (Snakemake >= 9.18 compares checksums, so an edit counts and a bare touch does not.)"""
    import os

    lib = smoke_build / "dlrepro" / "outputs" / "figures.py"
    text, st = lib.read_text(), lib.stat()
    lib.write_text(text + "\n# an edit\n")
    try:
        rules = {r for r, _ in planned_jobs(smoke_build)}
    finally:
        lib.write_text(text)
        os.utime(lib, ns=(st.st_atime_ns, st.st_mtime_ns))  # a dry run changed nothing else
    assert {"run_curves", "overlay_figure", "report_page"} <= rules
    assert not rules & {"train", "run_table", "prepare_data", "analysis", "reproduction"}, rules
    assert planned_jobs(smoke_build) == []


def test_full_preset_dry_run_lists_every_run(smoke_build):
    raw = load_config(smoke_build / "config.yaml")
    cfg = resolve(raw)
    p = snakemake(smoke_build, "-n", "--config", "preset=full", "--quiet", "rules")
    m = re.search(r"^train\s+(\d+)$", p.stdout, re.M)
    assert m and int(m.group(1)) == len(cfg.runs)


def test_smoke_site_in_headless_chromium(smoke_build):
    """The site the smoke DAG built: every page loads in Chromium with no broken image,
    no table without rows and no failed resource; one screenshot per page."""
    from dlrepro.site import browser

    if browser.find_chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium; CI: .ci/install-system-deps.sh)")
    snakemake(smoke_build, "--", "report_screenshots")
    check = json.loads((smoke_build / "results/smoke/report/screenshots/check.json").read_text())
    assert check["ok"], check
    cfg = _cfg(smoke_build)
    assert set(check["pages"]) >= set(cfg.studies) | {"index"}
    for page in check["pages"].values():
        assert page["loaded"] and not page["broken_images"] and not page["missing_tables"], page
        Image.open(page["screenshot"]).verify()


def test_snakemake_report_zip(smoke_build):
    import zipfile

    snakemake(smoke_build, "--report", "report.zip")
    with zipfile.ZipFile(smoke_build / "report.zip") as z:
        names = z.namelist()
    assert any(n.endswith(".html") for n in names)
    assert sum(n.endswith(".png") for n in names) > 50
