"""Write the site: one page per study (rule ``report_page``) and the index with the static
files (rule ``report_index``). A page is built only from the study's figure/table/analysis
outputs, the runs' ``final.json`` (devices) and the benchmark files (compute time)."""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from dlrepro.ioutil import dumps_json, write_text
from dlrepro.site import provenance as prov_mod
from dlrepro.site import views
from dlrepro.site.formatting import slug
from dlrepro.site.params import output_id, output_kind
from dlrepro.reproduction.verdicts import counts as verdict_counts
from dlrepro.site.render import render

#: the study's reproduction and claims tables (dlrepro.reproduction), shown in their own section
LEDGER_TABLES = ("tables/reproduction", "tables/claims")


def read_tables(paths: dict[str, str]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Every table CSV by output id, and the error of each one that cannot be read."""
    tables, errors = {}, {}
    for oid, p in paths.items():
        try:
            tables[oid] = pd.read_csv(p)
        except (OSError, ValueError, pd.errors.EmptyDataError) as e:
            errors[oid] = f"{type(e).__name__}: {e}"
    return tables, errors


def copy_assets(paths: dict[str, str], assets_dir: str) -> dict[str, str]:
    """Copy every output beside the page (``{report}/{study}/<id>.<ext>``), so that the
    report folder is a self-contained site; returns id -> href relative to the page."""
    srcs = {}
    for oid, p in paths.items():
        ext = os.path.splitext(p)[1]
        dst = Path(assets_dir) / f"{oid}{ext}"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst)
        srcs[oid] = f"{Path(assets_dir).name}/{oid}{ext}"
    return srcs


def _is_synthetic(params: dict, tables: dict[str, pd.DataFrame]) -> bool:
    return bool(params.get("synthetic")) or any(
        "synthetic" in df.columns and df["synthetic"].astype(str).str.lower().eq("true").any()
        for df in tables.values())


def _provenance(params: dict, finals: list[str], benchmarks: list[str], tables: dict, git_cwd: str) -> dict:
    bench_dir = params.get("bench_dir", "")
    prov = {
        "built": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "git": prov_mod.git_state(git_cwd), "config_hash": prov_mod.config_hash(params),
        "preset": params.get("preset", "?"), "data_source": params.get("data_source"), "scale": params.get("scale"),
        "packages": prov_mod.package_versions(),
        "compute": prov_mod.compute_time(prov_mod.all_benchmarks(benchmarks, bench_dir), bench_dir),
        "runs": prov_mod.run_provenance(finals),
        "devices_fallback": "cpu (NumPy study)" if params.get("engine") == "numpy" else "cpu (no torch runs)",
    }
    csv_devices = sorted({str(d) for df in tables.values() if "device" in df.columns for d in df["device"].dropna()})
    if not prov["runs"]["devices"] and csv_devices:
        prov["devices_fallback"] = ", ".join(csv_devices)
    return prov


def build_page(params: dict, output_paths: list[str], finals: list[str], benchmarks: list[str],
               html_path: str, summary_path: str, assets_dir: str, git_cwd: str = ".",
               log=print) -> dict:
    """Write one study's page, its assets and its summary script; return the summary."""
    study = params["study"]
    rep = params.get("report") or {}
    quirks = rep.get("quirks") or []
    paths = {output_id(p, params["study_dir"]): p for p in output_paths}
    infos = params.get("outputs", {})
    tables, errors = read_tables({oid: p for oid, p in paths.items() if output_kind(p) == "table"})
    for oid, e in errors.items():
        log(f"WARNING: table {oid} unreadable: {e}")
    synthetic = _is_synthetic(params, tables)
    Path(assets_dir).mkdir(parents=True, exist_ok=True)
    srcs = copy_assets(paths, assets_dir)
    outs = {oid: views.Output(oid, srcs[oid], output_kind(p), infos.get(oid) or {"caption": ""})
            for oid, p in paths.items()}
    repro, claims = (tables.get(oid) for oid in LEDGER_TABLES)
    rows = [] if repro is None else repro.to_dict("records")

    sections = rep.get("sections") or []
    per, other, unmatched = views.assign_sections(sections, [o for o in paths if o not in LEDGER_TABLES])
    num = views.Numbering()
    toc = [(2, "reproduction", "Pipeline check" if synthetic else "Reproduction")]
    toc += [(2, "claims", "Claims")] if claims is not None and len(claims) else []
    toc += [(2, "quirks", "Quirks")] if quirks else []
    page_sections = []
    for i, (sec, oids, bad) in enumerate(zip(sections, per, unmatched)):
        sid = f"s{i + 1}-{slug(sec.get('heading', ''))}"
        toc.append((int(sec.get("level", 2)), sid, sec.get("heading", "")))
        for b in bad:
            log(f"WARNING: section {sec.get('heading')!r}: no output matches {b!r}")
        page_sections.append({"id": sid, "level": int(sec.get("level", 2)), "heading": sec.get("heading", ""),
                              "text": sec.get("text"), "unmatched": bad,
                              "blocks": views.output_blocks([outs[o] for o in oids], tables, errors, num)})
    other_blocks = views.output_blocks([outs[o] for o in other], tables, errors, num)
    if other:
        toc.append((2, "other-outputs", "Other outputs"))
    toc.append((2, "provenance", "Provenance"))
    prov = _provenance(params, finals, benchmarks, tables, git_cwd)

    write_text(html_path, render(
        "page.html", title=params.get("title", study), study=study, writeup_file=params.get("writeup_file"),
        preset=params.get("preset"), data_source=params.get("data_source"), synthetic=synthetic,
        intro=rep.get("intro"), toc=views.toc_tree(toc),
        reproduction=views.reproduction_view(rows, synthetic, {oid: srcs[oid] for oid in LEDGER_TABLES if oid in srcs}),
        claims=views.claims_view(claims),
        quirks=views.quirks_view(quirks), sections=page_sections, other=other_blocks, provenance=prov))
    summary = {"study": study, "title": params.get("title", study), "synthetic": synthetic,
               "verdicts": verdict_counts(r["verdict"] for r in rows), "n_printed": len(rows),
               "claims": views.claims_counts(claims),
               "n_figures": sum(o.kind == "figure" for o in outs.values()),
               "n_tables": sum(o.kind == "table" for o in outs.values()),
               "compute_s": prov["compute"]["total_s"], "built": prov["built"],
               "unmatched": [b for bad in unmatched for b in bad], "unreadable": sorted(errors)}
    write_text(summary_path, "window.DLREPRO_SUMMARY = window.DLREPRO_SUMMARY || {};\n"
               f"window.DLREPRO_SUMMARY[{json.dumps(study)}] = {dumps_json(summary, sort_keys=True)};\n")
    log(f"page {html_path}: {len(outs)} outputs, {len(rows)} printed numbers "
        f"{verdict_counts(r['verdict'] for r in rows)}")
    return summary


def build_index(params: dict, html_path: str, log=print) -> None:
    """The index: the verdict counts are read in the browser from the pages' summary
    scripts, so a page rebuild never rebuilds the index. The static files it links are
    :func:`dlrepro.site.render.write_static` (rule ``report_static``)."""
    write_text(html_path, render(
        "index.html", title="dlrepro: the write-ups", preset=params.get("preset"),
        data_source=params.get("data_source"), synthetic=bool(params.get("synthetic")),
        scale=params.get("scale"), studies=params["studies"]))
    log(f"index {html_path}: {len(params['studies'])} write-ups")

