"""The report site (dlrepro.site): tolerances, verdicts, page layout, and pages built
from small fake outputs. The browser check of the same fake site is test_report_browser."""
from __future__ import annotations

import html
import json
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from dlrepro.config.ledger import expand
from dlrepro.reproduction.compare import claims_table, reproduction_table
from dlrepro.reproduction.ours import StudyOutputs
from dlrepro.site import build, formatting, provenance, render, views
from dlrepro.site import params as site_params
from dlrepro.site import settings as site_settings
from dlrepro.config import ConfigError, resolve

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- fakes
def tiny_png(path: Path, w: int = 48, h: int = 32, rgb=(40, 90, 160)) -> Path:
    """A valid RGB PNG without matplotlib."""
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


def make_fake_site(tmp: Path, synthetic: bool = True) -> dict:
    """A fake study's outputs under tmp/R/fake, and the page params report.smk would pass."""
    R = tmp / "R"
    sd = R / "fake"
    figs = [tiny_png(sd / "figures" / "sweep.png"),
            tiny_png(sd / "figures" / "curves" / "e1" / "r1.png", rgb=(200, 80, 40)),
            tiny_png(sd / "figures" / "curves" / "e1" / "r2.png", rgb=(60, 160, 60)),
            tiny_png(sd / "extra" / "unlisted.png", rgb=(120, 120, 120))]
    final = sd / "tables" / "final.csv"
    final.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([
        {"experiment": "e1", "run": "r1", "status": "completed", "epochs": 2, "val_acc": 0.905,
         "val_acc_seed": 0.90, "val_acc_diff": 0.005, "synthetic": synthetic},
        {"experiment": "e1", "run": "r2", "status": "completed", "epochs": 2, "val_acc": 0.70,
         "val_acc_seed": 0.80, "val_acc_diff": -0.10, "synthetic": synthetic},
        {"experiment": "best", "run": "as_softmax-true", "status": "completed", "epochs": 2, "val_acc": 0.60,
         "val_acc_seed": 0.85, "val_acc_diff": -0.25, "synthetic": synthetic},
        {"experiment": "best", "run": "as_softmax-false", "status": "completed", "epochs": 2, "val_acc": 0.88,
         "val_acc_seed": None, "val_acc_diff": None, "synthetic": synthetic},
    ]).to_csv(final, index=False)
    step = sd / "analysis" / "step.csv"
    step.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"quantity": "u_t", "ours": 0.6499999, "seed": 0.65, "diff": -1e-7},
                  {"quantity": "delta_w", "ours": -0.013324, "seed": -0.0133, "diff": -2.4e-5}]).to_csv(step, index=False)
    bench = R / "benchmarks" / "fake"
    benches = []
    for rel, s in [("train/e1/r1.tsv", 10.0), ("train/e1/r2.tsv", 20.0), ("figures/sweep.tsv", 1.5)]:
        p = bench / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("s\th:m:s\tmax_rss\n" + f"{s}\t0:00:{int(s):02d}\t100\n")
        benches.append(str(p))
    runs = {}
    for run, acc in (("r1", 0.905), ("r2", 0.70)):
        d = sd / "runs" / "e1" / run
        d.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": acc}]).to_csv(d / "metrics.csv", index=False)
        (d / "final.json").write_text(json.dumps({"train_seconds": 9.0, "synthetic": synthetic, "provenance": {
            "device": "cpu", "device_name": "x86_64", "git_commit": "abc123def4567890", "git_dirty": False,
            "torch": "2.14.1"}}))
        runs[f"e1/{run}"] = {"metrics": str(d / "metrics.csv"), "final": str(d / "final.json")}
    fin = sd / "runs" / "e1" / "r1" / "final.json"
    ledger = expand({"numbers": [
        {"run": "e1/r1", "quantity": "val_acc", "printed": 0.90, "source": "cell 1"},
        {"run": "e1/r2", "quantity": "val_acc", "printed": 0.80, "source": "cell 2"},
        {"run": "e1/r3", "quantity": "val_acc", "printed": 0.5, "source": "cell 3"},
        {"analysis": "step", "quantity": "u_t", "printed": 0.65, "source": "4b"},
        {"analysis": "step", "quantity": "delta_w", "printed": -0.0133, "source": "4b"}],
        "claims": [{"id": "r1_best", "text": "`r1` beats r2", "source": "cell 9", "kind": "compare",
                    "left": "e1/r1.val_acc", "op": ">", "right": "e1/r2.val_acc"}]})
    outs = StudyOutputs(runs=runs, analyses={"step": str(step)})
    repro, claims = sd / "tables" / "reproduction.csv", sd / "tables" / "claims.csv"
    reproduction_table("fake", ledger["numbers"], outs, {"val_acc": 0.01}).to_csv(repro, index=False)
    claims_table(ledger["claims"], ledger["numbers"], outs).to_csv(claims, index=False)
    outputs = [str(p) for p in figs] + [str(final), str(step), str(repro), str(claims)]
    oid = {p: site_params.output_id(p, str(sd)) for p in outputs}
    params = {
        "study": "fake", "title": "A fake write-up with `code`", "writeup_file": "999_fake.txt", "engine": "torch",
        "preset": "smoke", "data_source": "synthetic" if synthetic else "download", "synthetic": False,
        "scale": {"epochs": 2}, "study_dir": str(sd), "bench_dir": str(bench),
        "report": {
            "intro": "Intro paragraph.",
            "sections": [
                {"heading": "1. Sweeps", "text": "The sweep.", "outputs": ["figures/sweep", "tables/final"]},
                {"heading": "1.1 Curves", "level": 3, "outputs": ["figures/curves/e1", "figures/nonexistent"]},
                {"heading": "2. Theory", "outputs": ["analysis/*", "tables/final"]},
            ],
            "quirks": [{"name": "double_softmax", "text": "Softmax fed to CrossEntropyLoss.",
                        "affects": ["best/*softmax-true"], "fixed": {"softmax-true": "softmax-false"}}],
        },
        "outputs": {
            oid[outputs[0]]: {"kind": "figure", "caption": "Validation accuracy per lr",
                              "settings": site_settings.settings_summary([{"optimizer": {"lr": 0.1}, "epochs": 2},
                                                               {"optimizer": {"lr": 0.01}, "epochs": 2}], ["e1", "e1"])},
            oid[outputs[1]]: {"kind": "figure", "caption": "Curves (e1/r1).", "group": "figures/curves/e1",
                              "group_caption": "Curves: experiment `e1`", "label": "r1",
                              "settings": site_settings.settings_summary([{"optimizer": {"lr": 0.1}, "epochs": 2}], ["e1"])},
            oid[outputs[2]]: {"kind": "figure", "caption": "Curves (e1/r2).", "group": "figures/curves/e1",
                              "group_caption": "Curves: experiment `e1`", "label": "r2",
                              "settings": site_settings.settings_summary([{"optimizer": {"lr": 0.01}, "epochs": 2}], ["e1"])},
            oid[str(final)]: {"kind": "table", "caption": "Final accuracies", "settings": None},
            oid[str(step)]: {"kind": "table", "caption": "One Adam step", "settings": site_settings.settings_summary([{"u": 0.5}])},
        },
    }
    return {"R": R, "study_dir": sd, "outputs": outputs, "finals": [str(fin)], "benchmarks": benches,
            "params": params}


def build_fake(tmp: Path, synthetic: bool = True) -> dict:
    site = make_fake_site(tmp, synthetic)
    rep = site["R"] / "report"
    summary = build.build_page(site["params"], site["outputs"], site["finals"], site["benchmarks"],
                            html_path=str(rep / "fake.html"), summary_path=str(rep / "fake.summary.js"),
                            assets_dir=str(rep / "fake"), git_cwd=str(ROOT), log=lambda m: None)
    build.build_index({"preset": "smoke", "data_source": "synthetic", "synthetic": synthetic, "scale": {"epochs": 2},
                    "studies": [{"study": "fake", "title": "A fake write-up", "writeup_file": "999_fake.txt",
                                 "engine": "torch", "n_figures": 4, "n_tables": 4, "n_printed": 5,
                                 "sections": ["1. Sweeps", "2. Theory"]}]},
                   str(rep / "index.html"), log=lambda m: None)
    render.write_static(rep)
    return {**site, "report": rep, "summary": summary,
            "pages": {"index": str(rep / "index.html"), "fake": str(rep / "fake.html")}}


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.hrefs, self.tables, self.ids, self.headings = [], [], [], [], []
        self._h = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src"))
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "table":
            self.tables.append(a.get("data-expect"))
        if a.get("id"):
            self.ids.append(a["id"])
        if tag in ("h1", "h2", "h3"):
            self._h = [tag, ""]

    def handle_data(self, data):
        if self._h is not None:
            self._h[1] += data

    def handle_endtag(self, tag):
        if self._h is not None and tag == self._h[0]:
            self.headings.append(tuple(self._h))
            self._h = None


def settings_html(summary) -> str:
    return str(render.macro("settings")(views.settings_view(summary)))


def table_html(df, expect) -> str:
    return str(render.macro("data_table")(views.table_view(df), expect))


def reproduction_html(rows, synthetic) -> str:
    return str(render.macro("reproduction")(views.reproduction_view(rows, synthetic)))


def parse(path) -> _Collect:
    c = _Collect()
    c.feed(Path(path).read_text())
    return c


# (tolerances, verdicts and claims: tests/reproduction/test_reproduction.py)


# ----------------------------------------------------------------------------- layout
def test_assign_sections_first_wins_globs_prefixes_and_other():
    oids = ["figures/a", "figures/b_fixed", "figures/c_fixed", "figures/curves/e/r1", "figures/curves/e/r2",
            "tables/t", "analysis/x", "figures/curves/e2/r1"]
    secs = [{"heading": "A", "outputs": ["figures/a", "tables/t"]},
            {"heading": "B", "outputs": ["figures/*_fixed", "figures/curves/e", "tables/t", "nope/x"]},
            {"heading": "C"}]
    per, other, bad = views.assign_sections(secs, oids)
    assert per == [["figures/a", "tables/t"],
                   ["figures/b_fixed", "figures/c_fixed", "figures/curves/e/r1", "figures/curves/e/r2"], []]
    assert other == ["analysis/x", "figures/curves/e2/r1"]
    assert bad == [[], ["nope/x"], []]


def test_settings_summary_common_and_varying():
    s = site_settings.settings_summary([{"optimizer": {"name": "sgd", "lr": 0.1}, "epochs": 2, "flag": True},
                             {"optimizer": {"name": "sgd", "lr": 0.01}, "epochs": 2, "flag": True}], ["e", "e"])
    assert s["n_runs"] == 2 and s["experiments"] == {"e": 2}
    assert s["common"] == {"optimizer.name": "sgd", "epochs": "2", "flag": "true"}
    assert s["varying"] == {"optimizer.lr": ["0.1", "0.01"]}
    shown = settings_html(s)
    assert "optimizer.lr ∈ {0.1, 0.01}" in shown and "epochs=2" in shown


def test_fmt_num():
    assert formatting.fmt_num(0.87491234) == "0.87491"
    assert formatting.fmt_num(38650) == "38,650" and formatting.fmt_num(64.0) == "64"
    assert formatting.fmt_num(-0.1, diff=True) == "-0.1000" and formatting.fmt_num(2.4e-5, diff=True) == "+2.40e-05"
    assert formatting.fmt_num(None) == "—" and formatting.fmt_num(float("nan")) == "—"


def test_output_id_and_kind():
    assert site_params.output_id("R/s/figures/curves/e/r.png", "R/s") == "figures/curves/e/r"
    assert site_params.output_id("R/s/analysis/adam_step.csv", "R/s") == "analysis/adam_step"
    assert site_params.output_kind("x.png") == "figure" and site_params.output_kind("x.csv") == "table"
    assert site_params.output_kind("x.json") == "file"


def test_compute_time_from_benchmarks(tmp_path):
    site = make_fake_site(tmp_path)
    ct = provenance.compute_time(site["benchmarks"], site["params"]["bench_dir"])
    assert ct["total_s"] == pytest.approx(31.5) and ct["n_jobs"] == 3
    assert ct["by_stage"] == {"train": pytest.approx(30.0), "figures": pytest.approx(1.5)}
    assert provenance.read_benchmark(str(tmp_path / "absent.tsv")) == 0.0


# ----------------------------------------------------------------------------- pages
def test_page_has_sections_in_order_every_output_and_working_links(tmp_path):
    b = build_fake(tmp_path)
    page = Path(b["pages"]["fake"])
    c = parse(page)
    text = page.read_text()
    heads = [h for tag, h in c.headings if tag in ("h2", "h3")]
    i = [heads.index(h) for h in ("Pipeline check: the comparison run on synthetic data",
                                  "Claims (pipeline check on synthetic data)", "Quirks of the write-up's code",
                                  "1. Sweeps", "1.1 Curves", "2. Theory", "Other outputs", "Provenance")]
    assert i == sorted(i), heads
    assert ("h3", "1.1 Curves") in c.headings
    # every figure of the study is shown, from copies beside the page
    assert sorted(c.imgs) == sorted(f"fake/{site_params.output_id(p, str(b['study_dir']))}.png"
                                    for p in b["outputs"] if p.endswith(".png"))
    for src in c.imgs:
        assert (page.parent / src).is_file() and (page.parent / src).stat().st_size > 0
    for href in c.hrefs:
        target = href.split("#")[0]
        if target:
            assert (page.parent / target).exists(), href
        if "#" in href:
            assert href.split("#")[1] in c.ids, href
    # every table rendered; the ledger's two tables in their own sections, not again as outputs
    assert set(c.tables) == {"reproduction", "claims", "tables/final", "analysis/step"}
    assert 'id="o-tables-reproduction"' not in text and 'id="o-tables-claims"' not in text
    # the unlisted output lands in "Other outputs"; a section entry naming nothing is flagged
    assert text.index("extra/unlisted") > text.index('id="other-outputs"')
    assert "No output named <code>figures/nonexistent</code>" in text
    # tables/final is listed twice: shown once, in the first section naming it
    assert text.count('id="o-tables-final"') == 1
    # captions carry the run settings
    assert "optimizer.lr ∈ {0.1, 0.01}" in text and "2 runs</b> of e1 (2)" in text
    # quirks are listed, verdict badges shown, and a claim with its two evaluations
    assert "double_softmax" in text
    for v in ("match", "differs", "missing"):
        assert f'badge v-{v}">{v}</span>' in text
    assert b["summary"]["verdicts"] == {"match": 3, "explained": 0, "differs": 1, "missing": 1, "illegible": 0}
    assert b["summary"]["claims"] == {"n": 1, "hold_on_writeup": 1, "hold_on_ours": 1}
    assert "<code>r1</code> beats r2" in text
    assert b["summary"]["unmatched"] == ["figures/nonexistent"]


def test_page_provenance(tmp_path):
    b = build_fake(tmp_path)
    text = Path(b["pages"]["fake"]).read_text()
    prov = text[text.index('id="provenance"'):]
    assert "commit (at build)" in prov and "study config hash" in prov
    assert provenance.config_hash(b["params"]) in prov
    assert "31.5 s</b> over 3 jobs" in prov                      # from the benchmark TSVs
    assert "cpu (x86_64) × 1 runs" in prov                         # devices from final.json
    assert "snakemake " in prov and "pandas " in prov and "python " in prov
    assert text.rstrip().endswith("</html>")
    # provenance is the last section of the page
    assert text.index('id="provenance"') > text.index('id="other-outputs"')


def test_synthetic_stamp_from_tables_on_every_page(tmp_path):
    b = build_fake(tmp_path / "syn", synthetic=True)
    for p in b["pages"].values():
        t = Path(p).read_text()
        assert render.SYNTHETIC_BANNER in html.unescape(t) and "<title>[SYNTHETIC]" in t
    r = build_fake(tmp_path / "real", synthetic=False)
    page = Path(r["pages"]["fake"]).read_text()
    assert render.SYNTHETIC_BANNER not in html.unescape(page) and "[SYNTHETIC]" not in page
    assert r["summary"]["synthetic"] is False


def test_unreadable_table_is_an_empty_expected_table(tmp_path):
    site = make_fake_site(tmp_path)
    bad = Path(site["study_dir"]) / "tables" / "final.csv"
    bad.write_text("")
    rep = tmp_path / "R" / "report"
    summary = build.build_page(site["params"], site["outputs"], [], [], str(rep / "fake.html"),
                            str(rep / "fake.summary.js"), str(rep / "fake"), log=lambda m: None)
    text = (rep / "fake.html").read_text()
    assert summary["unreadable"] == ["tables/final"]
    assert re.search(r'<table data-expect="tables/final"><tbody></tbody></table>', text)


def test_summary_script_and_index(tmp_path):
    b = build_fake(tmp_path)
    js = (b["report"] / "fake.summary.js").read_text()
    data = json.loads(js.split(" = ", 2)[-1].rstrip().rstrip(";"))
    assert data["verdicts"]["differs"] == 1 and data["n_figures"] == 4 and data["n_tables"] == 4
    assert data["n_printed"] == 5
    idx = parse(b["pages"]["index"])
    assert "fake.html" in idx.hrefs and idx.tables == ["index"]
    assert 'src="fake.summary.js"' in Path(b["pages"]["index"]).read_text()


# ----------------------------------------------------------------------------- config
def _smoke_cfg(base_config):
    return resolve({**base_config, "preset": "smoke"})


def test_config_report_blocks_and_tolerances_validate(base_config):
    cfg = _smoke_cfg(base_config)
    assert cfg.tolerances["val_acc"] > 0
    for study in ("kmnist_tricks", "fashion_mlp"):
        rep = cfg.studies[study]["report"]
        assert rep["sections"] and all(s["heading"] for s in rep["sections"])


@pytest.mark.parametrize("bad", [{"sections": [{"heading": "x", "bogus": 1}]},
                                 {"sections": [{"text": "no heading"}]},
                                 {"quirks": [{"name": "Bad Name", "text": "t"}]},
                                 {"unknown": 1}])
def test_bad_report_block_is_rejected(base_config, bad):
    raw = json.loads(json.dumps(base_config))
    raw["studies"]["kmnist_tricks"]["report"] = bad
    with pytest.raises(ConfigError, match="report"):
        resolve(raw)


def _study_targets(cfg, study):
    """The outputs rules/figures.smk gives a torch study (figures, tables, analyses)."""
    spec, R = cfg.studies[study], cfg.results
    out = []
    for name, fig in spec.get("figures", {}).items():
        if fig["kind"] == "run_curves":
            out += [f"{R}/{study}/figures/curves/{r.experiment}/{r.name}.png"
                    for r in cfg.study_runs(study, fig.get("experiments"), fig.get("where"))]
        else:
            out.append(f"{R}/{study}/figures/{name}.png")
    out += [f"{R}/{study}/tables/{n}.csv" for n in spec.get("tables", {})]
    ext = {"figure": "png", "table": "csv"}
    out += [f"{R}/{study}/analysis/{n}.{ext[a['output']]}" for n, a in spec.get("analyses", {}).items()]
    return out + [f"{R}/{study}/tables/reproduction.csv", f"{R}/{study}/tables/claims.csv"]  # rule reproduction


def _torch_studies_with_report():
    from dlrepro.config import load_config

    raw = load_config(ROOT / "config.yaml")
    return [s for s, v in raw["studies"].items() if v.get("engine") == "torch" and v.get("report")]


@pytest.mark.parametrize("study", _torch_studies_with_report())
def test_page_params_of_the_real_config(base_config, study):
    cfg = _smoke_cfg(base_config)
    paths = _study_targets(cfg, study)
    p = site_params.page_params(cfg, study, paths)
    json.dumps(p)  # params must be plain data
    assert p["synthetic"] is True and p["preset"] == "smoke"
    assert set(p["outputs"]) == {site_params.output_id(x, f"{cfg.results}/{study}") for x in paths}
    for oid, info in p["outputs"].items():
        assert info["caption"], oid
        if oid in build.LEDGER_TABLES:
            continue  # shown in the page's own reproduction and claims sections
        assert info["settings"] and (info["settings"]["common"] or info["settings"]["varying"]), oid
    # every output a section names exists (a typo would show as a warning on the page);
    # outputs no section names go to "Other outputs", so none is lost
    _, other, bad = views.assign_sections(p["report"]["sections"],
                                          [o for o in p["outputs"] if o not in build.LEDGER_TABLES])
    assert not any(bad), bad
    if study in ("kmnist_tricks", "fashion_mlp"):
        assert other == [], other
    # the write-up's numbers reach the page as the reproduction table (a file), not as params
    assert "reported" not in p and "tolerances" not in p
    assert f"{cfg.results}/{study}/tables/reproduction.csv" in paths


def test_curve_caption_is_the_runs_settings(base_config):
    cfg = _smoke_cfg(base_config)
    info = site_params.describe_output(cfg, "kmnist_tricks", "figures/curves/lr_sweep/lr-0.001")
    assert info["group"] == "figures/curves/lr_sweep" and info["label"] == "lr-0.001"
    assert info["settings"]["common"]["optimizer.lr"] == "0.001"
    assert info["settings"]["common"]["epochs"] == "2"                       # the smoke preset's cap
    table = site_params.describe_output(cfg, "kmnist_tricks", "tables/technique")
    assert table["settings"]["varying"]["model_args.arch"] == ["plain", "drop", "bn", "both", "five_layer"]


# ----------------------------------------------------------------------------- the DAG
def _dry_run_jobs(*targets: str) -> list[dict]:
    """Jobs of a Snakemake dry run (rule, input, output), the report rules forced."""
    import subprocess
    import sys

    snakemake = Path(sys.executable).with_name("snakemake")
    res = subprocess.run([str(snakemake), "-n", "--nolock", "--forcerun", "report_page", "report_index",
                          "report_static", "--config", "preset=smoke", "--", *targets],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    jobs, job = [], None
    for line in res.stdout.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):$", line.strip())
        if m:
            job = {"rule": m.group(1), "input": [], "output": []}
            jobs.append(job)
        elif job is not None and re.match(r"^\s+(input|output): ", line):
            key, _, val = line.strip().partition(": ")
            job[key] = [v.strip() for v in val.split(", ") if v.strip()]
    return jobs


@pytest.mark.slow
def test_a_page_depends_only_on_its_study_and_the_index_on_the_site_code():
    jobs = _dry_run_jobs("results/smoke/report/index.html", "results/smoke/report/kmnist_tricks.html")
    pages = [j for j in jobs if j["rule"] == "report_page"]
    index = [j for j in jobs if j["rule"] == "report_index"]
    assert len(pages) == 1 and len(index) == 1, [j["rule"] for j in jobs]
    page = pages[0]
    assert page["output"][0] == "results/smoke/report/kmnist_tricks.html"
    assert page["input"], "the page has inputs"
    own = ("results/smoke/kmnist_tricks/", "results/smoke/benchmarks/kmnist_tricks/")
    others = [p for p in page["input"] if not p.startswith(own)]
    # besides its study: the site's own library files (modules, templates, static files) and
    # the static files the report_static job copies beside the pages
    assert others and all(o.startswith(("dlrepro/site/", "results/smoke/report/static/")) for o in others), others
    assert any("/figures/" in p for p in page["input"]) and any("/tables/" in p for p in page["input"])
    assert any("/benchmarks/kmnist_tricks/train/" in p for p in page["input"])
    assert not any(p.endswith(".pt") or "/runs/" in p and not p.endswith("final.json") for p in page["input"])
    assert index[0]["input"] and all(p.startswith("dlrepro/site/") for p in index[0]["input"]), index[0]["input"]
    assert index[0]["output"] == ["results/smoke/report/index.html"]
    static = [j for j in jobs if j["rule"] == "report_static"]
    assert len(static) == 1 and all(p.startswith("dlrepro/site/") for p in static[0]["input"])
    assert sorted(static[0]["output"]) == sorted(f"results/smoke/report/static/{f}" for f in site_params.STATIC_FILES)


def test_toc_nests_level_3_under_level_2():
    tree = views.toc_tree([(2, "a", "A"), (3, "a1", "a1"), (3, "a2", "a2"), (2, "b", "B"), (2, "c", "C"),
                           (3, "c1", "c1")])
    assert [(e["text"], [c["text"] for c in e["children"]]) for e in tree] == [
        ("A", ["a1", "a2"]), ("B", []), ("C", ["c1"])]
    toc = re.sub(r'<a href="#[^"]*">([^<]*)</a>', r"\1", str(render.macro("toc")(tree)))
    assert toc == "<ol><li>A<ul><li>a1</li><li>a2</li></ul></li><li>B</li><li>C<ul><li>c1</li></ul></li></ol>"


def test_empty_columns_are_listed_not_shown():
    df = pd.DataFrame([{"run": "r", "val_acc": 0.5, "train_acc_seed": None, "synthetic": True}])
    shown = table_html(df, "t")
    assert "val_acc" in shown and "<th class=\"\">train_acc_seed" not in shown and "synthetic</th>" not in shown
    assert "Empty in every row (in the CSV only): train_acc_seed." in shown


@pytest.mark.parametrize("preset", ["full", "smoke"])
def test_workflow_rst_renders_like_snakemake_report_does(base_config, preset):
    """report/workflow.rst (the `report:` directive) with Snakemake's Jinja settings."""
    import jinja2
    from docutils.core import publish_parts

    class Snakemake:
        config = {**base_config, "preset": preset}

    text = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(
        (ROOT / "report" / "workflow.rst").read_text()).render(snakemake=Snakemake)
    body = publish_parts(text, writer="html", settings_overrides={"report_level": 5})["html_body"]
    assert "system-message" not in body
    assert body.count("<li>") == len(base_config["studies"])
    assert ("Synthetic data." in body) == (preset == "smoke")
    assert f"results/{preset}/report/index.html" in body


def test_all_benchmarks_adds_undeclared_files_of_the_study(tmp_path):
    site = make_fake_site(tmp_path)
    extra = Path(site["params"]["bench_dir"]) / "scratch_run.tsv"
    extra.write_text("s\n2.0\n")
    found = provenance.all_benchmarks(site["benchmarks"][:1], site["params"]["bench_dir"])
    assert sorted(found) == sorted(site["benchmarks"] + [str(extra)])
    assert provenance.compute_time(found, site["params"]["bench_dir"])["by_stage"]["other"] == pytest.approx(2.0)


def test_long_reproduction_tables_fold_their_matches():
    def row(i, v):  # a row of tables/reproduction.csv
        return {"id": f"e/r{i}.m", "section": "", "where": f"e/r{i}", "quantity": "m", "epoch": "last",
                "printed": "1.0", "ours": 1.0, "diff": 0.0, "tolerance": 0.05, "verdict": v, "cause": None,
                "note": "", "source": "cell 1", "seeds": None}
    many = [row(i, "match") for i in range(views.FOLD_MATCHES_ABOVE)] + [row(-1, "differs")]
    out = reproduction_html(many, False)
    assert out.count("<details") == 1 and f"{views.FOLD_MATCHES_ABOVE} numbers that match" in out
    assert out.index('id="n-e-r-1-m"') < out.index("<details")
    only_bad = reproduction_html([row(i, "differs") for i in range(views.FOLD_MATCHES_ABOVE + 1)], False)
    assert "<details" not in only_bad
    assert 'data-expect="reproduction"' not in reproduction_html([], False)


def test_numpy_study_outputs_get_the_settings_they_name(base_config):
    raw = json.loads(json.dumps(base_config))
    raw["studies"]["toy_np"] = {"title": "t", "engine": "numpy",
                                "settings": {"gd": {"lr": 0.1}, "digits": {"epochs": 3}, "reported": {"x": 1}}}
    cfg = resolve(raw)
    assert site_params.describe_output(cfg, "toy_np", "tables/gd_runs")["settings"]["common"] == {"gd.lr": "0.1"}
    other = site_params.describe_output(cfg, "toy_np", "figures/activations")["settings"]["common"]
    assert "reported.x" not in other and "gd.lr" in other and "digits.epochs" in other


def test_long_settings_are_cut():
    s = site_settings.settings_summary([{f"k{i}": "v" * 500 for i in range(views.SETTINGS_SHOWN + 5)}])
    shown = settings_html(s)
    assert "… and 5 more" in shown and "v" * (views.SETTING_CHARS + 1) not in shown
