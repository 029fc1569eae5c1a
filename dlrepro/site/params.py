"""The config slices the report rules pass as params (evaluated at DAG time: plain Python,
no pandas). A page's params hold everything it shows that is not a file: captions, the
settings of the runs behind each output, the page layout; Snakemake reruns the page when
they change. The write-up's numbers reach the page through the study's reproduction and
claims tables (files), not params."""
from __future__ import annotations

import os
import re

from dlrepro.site.settings import settings_summary

FIGURE_EXT = {".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp"}
TABLE_EXT = {".csv"}
LEDGER_CAPTIONS = {  # the two tables of rule reproduction (dlrepro.reproduction)
    "tables/reproduction": "Every number the write-up printed beside ours, with a verdict (the study's ledger)",
    "tables/claims": "The write-up's claims, evaluated on its own numbers and on ours",
}
STATIC_FILES = ("site.css", "check.js", "index.js")  # dlrepro/site/static/, copied to {report}/static/


def output_id(path: str, study_dir: str) -> str:
    """``{R}/{study}/figures/curves/debug/plain.png`` -> ``figures/curves/debug/plain``.
    Analysis outputs keep no extension either: ``analysis/adam_step``."""
    rel = os.path.relpath(path, study_dir).replace(os.sep, "/")
    stem, _ext = os.path.splitext(rel)
    return stem


def output_kind(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    return "figure" if ext in FIGURE_EXT else "table" if ext in TABLE_EXT else "file"


def printed_count(cfg, study: str) -> int:
    """How many legible numbers the study's ledger holds."""
    return sum(n["printed"] is not None for n in cfg.ledgers.get(study, {}).get("numbers", []))


def describe_output(cfg, study: str, oid: str) -> dict:
    """Caption and run settings of one output, from the study's config."""
    spec = cfg.studies[study]
    if oid in LEDGER_CAPTIONS:
        return {"caption": LEDGER_CAPTIONS[oid], "settings": None}
    parts = oid.split("/")
    figs, tabs, anas = spec.get("figures", {}), spec.get("tables", {}), spec.get("analyses", {})
    if parts[0] == "figures" and len(parts) == 4 and parts[1] == "curves":
        exp, run = parts[2], parts[3]
        r = cfg.runs.get(f"{study}/{exp}/{run}")
        cap = figs.get("curves", {}).get("caption", "Learning curves")
        return {"caption": f"{cap} ({exp}/{run}).", "group": f"figures/curves/{exp}",
                "group_caption": f"{cap}: experiment `{exp}`"
                + (f" ({spec['experiments'][exp]['title']})" if spec.get("experiments", {}).get(exp, {}).get("title") else ""),
                "label": run, "settings": settings_summary([r.settings] if r else [], [exp] if r else None)}
    kind_spec = None
    if parts[0] == "figures" and len(parts) == 2:
        kind_spec = figs.get(parts[1])
    elif parts[0] == "tables" and len(parts) == 2:
        kind_spec = tabs.get(parts[1])
    if kind_spec is not None and spec.get("engine") == "torch":
        runs = cfg.study_runs(study, kind_spec.get("experiments"), kind_spec.get("where"))
        return {"caption": kind_spec.get("caption", ""),
                "settings": settings_summary([r.settings for r in runs], [r.experiment for r in runs])}
    if parts[0] == "analysis" and len(parts) == 2 and parts[1] in anas:
        a = anas[parts[1]]
        s = {"kind": a["kind"], **({"dataset": a["dataset"]} if a.get("dataset") else {}), **(a.get("args") or {})}
        return {"caption": a.get("caption", ""), "settings": settings_summary([s])}
    # another study's own layout: find a caption by the output's name, if any
    name = parts[-1]
    for group in (figs, tabs, anas):
        if isinstance(group.get(name), dict) and group[name].get("caption"):
            kind_spec = group[name]
            break
    return {"caption": (kind_spec or {}).get("caption", ""), "settings": _study_settings_for(spec, oid)}


def _study_settings_for(spec: dict, oid: str) -> dict | None:
    """The part of a non-torch study's ``settings`` an output most likely depends on: the
    top-level entries named in the output's path (``tables/gd_runs`` -> ``gd``), else all
    of them; the write-up's ``reported`` numbers are never run settings."""
    settings = spec.get("settings")
    if not isinstance(settings, dict) or not settings:
        return None
    settings = {k: v for k, v in settings.items() if k != "reported"}
    tokens = set(re.split(r"[/_.-]+", oid))
    named = {k: v for k, v in settings.items() if k in tokens}
    return settings_summary([named or settings])


def page_params(cfg, study: str, output_paths: list[str]) -> dict:
    """Everything a study's page needs from the config (the page rule's params)."""
    spec = cfg.studies[study]
    study_dir = f"{cfg.results}/{study}"
    outputs = {}
    for p in output_paths:
        oid = output_id(p, study_dir)
        outputs[oid] = {"kind": output_kind(p), **describe_output(cfg, study, oid)}
    return {
        "study": study, "title": spec.get("title", study), "writeup_file": spec.get("writeup_file"),
        "engine": spec.get("engine"), "preset": cfg.preset, "data_source": cfg.data.get("source"),
        "synthetic": cfg.data.get("source") == "synthetic", "scale": cfg.scale,
        "report": spec.get("report") or {}, "outputs": outputs,
        "study_dir": study_dir, "bench_dir": f"{cfg.results}/benchmarks/{study}",
    }


def index_params(cfg, pages: dict[str, list[str]]) -> dict:
    """The index's params: titles and output counts (no file inputs: it rebuilds only when
    these change, never when a figure does)."""
    studies = []
    for s, paths in pages.items():
        spec = cfg.studies[s]
        kinds = [output_kind(p) for p in paths]
        studies.append({"study": s, "title": spec.get("title", s), "writeup_file": spec.get("writeup_file"),
                        "engine": spec.get("engine"), "n_figures": kinds.count("figure"),
                        "n_tables": kinds.count("table"),
                        "n_printed": printed_count(cfg, s),
                        "sections": [sec.get("heading", "") for sec in (spec.get("report") or {}).get("sections", [])
                                     if sec.get("level", 2) == 2]})
    return {"preset": cfg.preset, "data_source": cfg.data.get("source"),
            "synthetic": cfg.data.get("source") == "synthetic", "scale": cfg.scale, "studies": studies}
