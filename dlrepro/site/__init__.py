"""The write-ups as a browsable static site (issue 7).

One HTML page per study, in the write-up's own order, and an index. A page is built
only from the study's figure/table/analysis outputs (plus the runs' ``final.json`` for
the devices used and the benchmark TSVs for compute time); nothing here trains.

The page layout is data: ``studies.<study>.report`` in ``config.yaml``::

    report:
      intro: "one paragraph"
      sections:                                   # the write-up's problems, in order
        - {heading: "1.A ...", level: 2, text: "...",
           outputs: [figures/lr_sweep_val_acc, tables/sweeps_final, figures/curves/debug]}
      quirks:                                     # named bugs of the write-up's code
        - {name: double_softmax, text: "one line", affects: ["best/*softmax-true"],
           fixed: {softmax-true: softmax-false}}

An output is named by its path under ``{R}/{study}/`` without the extension
(``figures/curves/debug/plain``); a section entry matches an output by that name, by
a glob (``figures/val_acc_*``) or as a folder prefix (``figures/curves/debug``). Outputs
no section names land in a trailing "Other outputs" section, so nothing is lost.

Reproduction verdicts (see :func:`verdict`) use ``tolerances`` from the config (top
level, or a preset's): ``name -> number``; the most specific name wins, from
``{study}/{experiment}/{run}.{metric}`` down to ``{metric}`` and ``default``. A name
ending in ``%`` is a relative tolerance in percent of the reported value.
"""
from __future__ import annotations

import datetime as _dt
import fnmatch
import hashlib
import html
import json
import math
import os
import platform
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

VERDICTS = ("match", "explained", "differs", "missing")
FIGURE_EXT = {".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp"}
TABLE_EXT = {".csv"}
SYNTHETIC_BANNER = ("SYNTHETIC DATA: this build used generated stand-in data. It checks the "
                    "pipeline; its numbers are not the write-up's results.")
PACKAGES = ("dlrepro", "snakemake", "torch", "torchvision", "numpy", "scipy", "scikit-learn",
            "pandas", "matplotlib", "seaborn", "jsonschema", "pyyaml")


# ============================================================================ small helpers
def is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def as_float(x: Any) -> float | None:
    if is_missing(x):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fmt_num(x: Any, diff: bool = False) -> str:
    """A number for a human: 5 significant digits, integers as integers, a sign on diffs."""
    if is_missing(x):
        return "—"
    if isinstance(x, (bool,)):
        return str(x)
    if isinstance(x, str):
        return x
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v.is_integer() and abs(v) < 1e15 and not diff:
        return f"{int(v):,}" if abs(v) >= 10000 else str(int(v))
    if diff:
        if v == 0:
            return "0"
        return f"{v:+.4f}" if 1e-3 <= abs(v) < 1e4 else f"{v:+.2e}"
    return f"{v:.5g}"


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d} (h:m:s)"


_CODE_RE = re.compile(r"`([^`]+)`")


def inline(text: str | None) -> str:
    """Escape text for HTML; `backticks` become <code>."""
    if not text:
        return ""
    return _CODE_RE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(str(text)))


def paragraphs(text: str | None) -> str:
    if not text:
        return ""
    return "".join(f"<p>{inline(p.strip())}</p>" for p in re.split(r"\n\s*\n", str(text)) if p.strip())


def anchor(output_id: str) -> str:
    return "o-" + re.sub(r"[^A-Za-z0-9_-]+", "-", output_id)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): canonical(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    return obj


def config_hash(obj: Any) -> str:
    """sha256 (16 hex digits) of a mapping, independent of key order."""
    return hashlib.sha256(json.dumps(canonical(obj), sort_keys=True, default=str).encode()).hexdigest()[:16]


def output_id(path: str, study_dir: str) -> str:
    """``{R}/{study}/figures/curves/debug/plain.png`` -> ``figures/curves/debug/plain``.
    Analysis outputs keep no extension either: ``analysis/adam_step``."""
    rel = os.path.relpath(path, study_dir).replace(os.sep, "/")
    stem, _ext = os.path.splitext(rel)
    return stem


def output_kind(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    return "figure" if ext in FIGURE_EXT else "table" if ext in TABLE_EXT else "file"


# ============================================================================ settings
def flatten(d: Any, prefix: str = "") -> dict:
    """{"optimizer": {"lr": 1e-3}} -> {"optimizer.lr": 1e-3}; lists stay values."""
    out: dict = {}
    if isinstance(d, dict):
        for k, v in d.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, key))
            else:
                out[key] = v
    else:
        out[prefix] = d
    return out


def _value_str(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if v is None:
        return "null"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value_str(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value_str(x)}" for k, x in v.items()) + "}"
    return str(v)


def settings_summary(settings: list[dict], experiments: list[str] | None = None) -> dict:
    """What the runs behind one output share and where they differ (flattened keys)."""
    flats = [flatten(s) for s in settings]
    out: dict = {"n_runs": len(flats), "common": {}, "varying": {}}
    if experiments:
        counts: dict[str, int] = {}
        for e in experiments:
            counts[e] = counts.get(e, 0) + 1
        out["experiments"] = counts
    if not flats:
        return out
    keys: list[str] = []
    for f in flats:
        keys += [k for k in f if k not in keys]
    for k in keys:
        vals = [_value_str(f.get(k, "—")) for f in flats]
        uniq = list(dict.fromkeys(vals))
        if len(uniq) == 1:
            out["common"][k] = uniq[0]
        else:
            out["varying"][k] = uniq
    return out


# ============================================================================ tolerances
@dataclass(frozen=True)
class Tolerance:
    value: float | None          # absolute, or percent when ``relative``
    relative: bool = False
    key: str | None = None       # the config name it came from

    def bound(self, reported: float) -> float:
        if self.value is None:
            return 0.0
        return abs(reported) * self.value / 100.0 if self.relative else self.value

    def __str__(self) -> str:
        if self.value is None:
            return "none set (exact)"
        return f"±{self.value:g} %" if self.relative else f"±{self.value:g}"


def tolerance_keys(study: str, where: str, metric: str) -> list[str]:
    """Config names that can set the tolerance of one number, most specific first."""
    parts = [p for p in where.split("/") if p]
    keys: list[str] = []
    for i in range(len(parts), 0, -1):
        prefix = "/".join([study, *parts[:i]])
        keys += [f"{prefix}.{metric}", prefix]
    keys += [f"{study}.{metric}", study, metric, "default"]
    return keys


def tolerance_for(tolerances: dict, study: str, where: str, metric: str) -> Tolerance:
    for key in tolerance_keys(study, where, metric):
        if key in tolerances:
            return Tolerance(float(tolerances[key]), False, key)
        if f"{key}%" in tolerances:
            return Tolerance(float(tolerances[f"{key}%"]), True, f"{key}%")
    return Tolerance(None)


def tolerances_for_study(tolerances: dict, study: str, all_studies: Iterable[str]) -> dict:
    """The tolerances a study's page can use (so that editing another study's does not
    rebuild this page): names of this study and generic names."""
    others = [s for s in all_studies if s != study]

    def foreign(k: str) -> bool:
        k = k.rstrip("%")
        return any(k == o or k.startswith(f"{o}/") or k.startswith(f"{o}.") for o in others)
    return {k: v for k, v in tolerances.items() if not foreign(k)}


# ============================================================================ verdicts
def quirks_for(quirks: list[dict], where: str, metric: str) -> list[dict]:
    """Quirks whose ``affects`` globs match ``where`` or ``where:metric``."""
    out = []
    for q in quirks or []:
        for pat in q.get("affects", []):
            if fnmatch.fnmatchcase(where, pat) or fnmatch.fnmatchcase(f"{where}:{metric}", pat):
                out.append(q)
                break
    return out


def fixed_where(quirk: dict, where: str) -> str | None:
    """The run that corrects ``quirk``: the first ``fixed`` substitution that applies."""
    for old, new in (quirk.get("fixed") or {}).items():
        if old in where:
            return where.replace(old, new, 1)
    return None


def verdict(ours: float | None, reported: float, tol: Tolerance, quirks: list[dict]) -> str:
    """``match``: |ours − reported| within the tolerance. Otherwise ``explained`` when a
    named quirk is attached to the number (the quirk and the fixed run are shown),
    else ``differs``. ``missing``: no output holds our number."""
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return "missing"
    bound = tol.bound(reported)
    if abs(ours - reported) <= bound * (1 + 1e-9) + 1e-12:
        return "match"
    return "explained" if quirks else "differs"


def _num_or_text(x: Any) -> float | str | None:
    if is_missing(x):
        return None
    f = as_float(x)
    return f if f is not None else str(x)


def table_numbers(oid: str, df: pd.DataFrame) -> tuple[dict, dict, dict]:
    """(ours, seed, hints): ``{(where, metric): value}`` of one table CSV.

    Three layouts carry the write-up's numbers:

    - run tables (``dlrepro.outputs.tables``): per metric m the columns m, m_seed, m_diff, with
      ``experiment`` and ``run`` naming the row (where = ``experiment/run``);
    - analysis tables: quantity | ours | seed | diff (where = the output id);
    - acceptance tables, for a study that checks its numbers itself (e.g. to the printed
      precision): quantity | writeup_value | our_value [| match | group | format | note]
      (where = ``{output id}/{group}``). Rows without a seed value (illegible in the
      write-up) are not reported numbers. ``hints`` keeps the table's own verdict,
      used when the config names no tolerance for the number.
    """
    ours: dict = {}
    seed: dict = {}
    hints: dict = {}
    cols = list(df.columns)
    printed_col = "writeup_value" if "writeup_value" in cols else "seed_value"
    if printed_col in cols and "our_value" in cols:
        label = "quantity" if "quantity" in cols else cols[0]
        for _, row in df.iterrows():
            where = f"{oid}/{row['group']}" if "group" in cols and not is_missing(row["group"]) else oid
            key = (where, str(row[label]))
            ours[key] = _num_or_text(row["our_value"])
            sv = _num_or_text(row[printed_col])
            if sv is None:
                continue
            seed[key] = sv
            if "match" in cols and not is_missing(row["match"]):
                rule = f"as printed ({row['format']})" if "format" in cols and not is_missing(row["format"]) else "the table's own check"
                hints[key] = {"match": str(row["match"]).lower() == "true", "rule": rule,
                              "note": "" if "note" not in cols or is_missing(row["note"]) else str(row["note"])}
        return ours, seed, hints
    if "quantity" in cols and "ours" in cols:
        for _, row in df.iterrows():
            key = (oid, str(row["quantity"]))
            ours[key] = as_float(row["ours"])
            if "seed" in cols and not is_missing(row["seed"]):
                seed[key] = as_float(row["seed"])
        return ours, seed, hints
    metrics = [c for c in cols if f"{c}_seed" in cols]
    if not metrics:
        return ours, seed, hints
    for _, row in df.iterrows():
        if "experiment" in cols and "run" in cols:
            where = f"{row['experiment']}/{row['run']}"
        else:
            where = f"{oid}/{row[cols[0]]}"
        for m in metrics:
            ours[(where, m)] = as_float(row[m])
            if not is_missing(row[f"{m}_seed"]):
                seed[(where, m)] = as_float(row[f"{m}_seed"])
    return ours, seed, hints


def reproduction_rows(study: str, reported: list[dict], tables: dict[str, pd.DataFrame],
                      quirks: list[dict], tolerances: dict) -> list[dict]:
    """Every number the write-up reported beside ours, with a verdict.

    ``reported``: the config's numbers, ``[{where, metric, value}]`` (where is
    ``experiment/run`` or ``analysis/<name>``). Seed values that a table carries but the
    config does not list are added after them, so numbers a study keeps in its own
    tables are checked too. A config tolerance always decides; without one, an
    acceptance table's own verdict (its ``match`` column) does.
    """
    ours_all: dict = {}
    seed_all: dict = {}
    hints_all: dict = {}
    source: dict = {}
    for oid, df in tables.items():
        o, s, h = table_numbers(oid, df)
        for k, v in o.items():
            if k not in ours_all or (ours_all[k] is None and v is not None):
                ours_all[k] = v
            source.setdefault(k, []).append(oid)
        for k, v in s.items():
            seed_all.setdefault(k, v)
        for k, v in h.items():
            hints_all.setdefault(k, v)
    wanted = [(r["where"], r["metric"], float(r["value"])) for r in reported if not is_missing(r.get("value"))]
    seen = {(w, m) for w, m, _ in wanted}
    wanted += [(w, m, v) for (w, m), v in seed_all.items() if (w, m) not in seen and v is not None]
    rows = []
    for where, metric, value in wanted:
        ours = ours_all.get((where, metric))
        qs = quirks_for(quirks, where, metric)
        tol = tolerance_for(tolerances, study, where, metric)
        hint = hints_all.get((where, metric))
        numeric = isinstance(value, float) and (ours is None or isinstance(ours, float))
        row = {"where": where, "metric": metric, "reported": value, "ours": ours,
               "diff": ours - value if numeric and ours is not None else None,
               "tolerance": str(tol), "tolerance_key": tol.key, "bound": tol.bound(value) if numeric else None,
               "quirks": [q["name"] for q in qs], "quirk_text": " ".join(q.get("text", "") for q in qs),
               "fixed_where": None, "fixed_ours": None, "fixed_diff": None, "note": "",
               "sources": source.get((where, metric), [])}
        if hint is not None and (tol.value is None or not numeric):
            row.update(tolerance=hint["rule"], tolerance_key=None, note=hint["note"],
                       verdict="missing" if ours is None else "match" if hint["match"]
                       else "explained" if qs else "differs")
        elif numeric:
            row["verdict"] = verdict(ours, value, tol, qs)
        else:
            row["verdict"] = ("missing" if ours is None else "match" if str(ours) == str(value)
                              else "explained" if qs else "differs")
        for q in qs:
            fw = fixed_where(q, where)
            if fw:
                fo = ours_all.get((fw, metric))
                row.update(fixed_where=fw, fixed_ours=fo,
                           fixed_diff=fo - value if isinstance(fo, float) and numeric else None)
                break
        rows.append(row)
    return rows


def verdict_counts(rows: list[dict]) -> dict:
    return {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}


# ============================================================================ page params
def reported_numbers(cfg, study: str) -> list[dict]:
    """The config's reported numbers of a study, in config order."""
    out = []
    for run in cfg.study_runs(study):
        for metric, value in (run.reported or {}).items():
            out.append({"where": f"{run.experiment}/{run.name}", "metric": metric, "value": value})
    for name, a in cfg.studies[study].get("analyses", {}).items():
        for q, value in (a.get("reported") or {}).items():
            out.append({"where": f"analysis/{name}", "metric": q, "value": value})
    return out


def describe_output(cfg, study: str, oid: str) -> dict:
    """Caption and run settings of one output, from the study's config."""
    spec = cfg.studies[study]
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
        "reported": reported_numbers(cfg, study),
        "tolerances": tolerances_for_study(cfg.tolerances or {}, study, cfg.studies),
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
                        "n_reported": len(reported_numbers(cfg, s)),
                        "sections": [sec.get("heading", "") for sec in (spec.get("report") or {}).get("sections", [])
                                     if sec.get("level", 2) == 2]})
    return {"preset": cfg.preset, "data_source": cfg.data.get("source"),
            "synthetic": cfg.data.get("source") == "synthetic", "scale": cfg.scale, "studies": studies}


# ============================================================================ provenance
def git_state(cwd: str | os.PathLike = ".") -> dict:
    """Commit and dirty flag of the working tree (read-only git calls)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        st = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
                            cwd=cwd, capture_output=True, text=True, timeout=10)
        dirty = bool(st.stdout.strip()) if st.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


def package_versions(names: Iterable[str] = PACKAGES) -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            pass
    return out


def read_benchmark(path: str) -> float:
    """Wall seconds of one Snakemake benchmark TSV (summed over repeats)."""
    try:
        df = pd.read_csv(path, sep="\t")
        return float(df["s"].sum())
    except (OSError, ValueError, KeyError, pd.errors.EmptyDataError):
        return 0.0


def all_benchmarks(declared: list[str], bench_dir: str | None) -> list[str]:
    """The declared benchmark files (the page's inputs) plus any other TSV under the
    study's benchmark folder: jobs that feed the study's outputs only indirectly (e.g. a
    NumPy study's runs) keep their benchmarks there too. All of them ran before the page."""
    found = set(declared)
    if bench_dir and os.path.isdir(bench_dir):
        found.update(str(p) for p in Path(bench_dir).rglob("*.tsv"))
    return sorted(found)


def compute_time(benchmarks: list[str], bench_dir: str) -> dict:
    """Total seconds over a study's benchmark files, and per stage (the first folder under
    ``{R}/benchmarks/{study}/``: train, figures, tables, analysis, ...)."""
    by_stage: dict[str, float] = {}
    jobs: dict[str, int] = {}
    total = 0.0
    for p in benchmarks:
        s = read_benchmark(p)
        rel = os.path.relpath(p, bench_dir).replace(os.sep, "/")
        stage = rel.split("/")[0] if "/" in rel and not rel.startswith("..") else "other"
        by_stage[stage] = by_stage.get(stage, 0.0) + s
        jobs[stage] = jobs.get(stage, 0) + 1
        total += s
    return {"total_s": total, "n_jobs": len(benchmarks), "by_stage": by_stage, "jobs": jobs}


def run_provenance(finals: list[str]) -> dict:
    """Devices, torch versions and commits recorded by the training runs."""
    devices: dict[str, int] = {}
    commits: dict[str, int] = {}
    torch_versions: dict[str, int] = {}
    train_s = 0.0
    for p in finals:
        try:
            with open(p) as fh:
                f = json.load(fh)
        except (OSError, ValueError):
            continue
        prov = f.get("provenance") or {}
        dev = prov.get("device", "unknown")
        if prov.get("device_name") and prov.get("device_name") != dev:
            dev = f"{dev} ({prov['device_name']})"
        devices[dev] = devices.get(dev, 0) + 1
        c = str(prov.get("git_commit", "unknown"))[:12] + (" (dirty)" if prov.get("git_dirty") else "")
        commits[c] = commits.get(c, 0) + 1
        if prov.get("torch"):
            torch_versions[prov["torch"]] = torch_versions.get(prov["torch"], 0) + 1
        train_s += float(f.get("train_seconds") or 0.0)
    return {"devices": devices, "commits": commits, "torch": torch_versions, "train_seconds": train_s,
            "n_runs": len(finals)}


# ============================================================================ HTML
CSS = """
:root{--fg:#1d2430;--muted:#5b6575;--line:#d9dee7;--bg:#fff;--soft:#f5f7fa;--accent:#2456a6;
--match:#1b7f3b;--explained:#9a6700;--differs:#b42318;--missing:#6b7280}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
header.top,main,footer{max-width:1180px;margin:0 auto;padding:0 24px}
header.top{padding-top:18px}
a{color:var(--accent)}
h1{font-size:1.7em;margin:.3em 0 .2em}
h2{font-size:1.35em;margin:1.6em 0 .4em;padding-bottom:.2em;border-bottom:2px solid var(--line)}
h3{font-size:1.1em;margin:1.3em 0 .3em}
.meta{color:var(--muted);font-size:.92em;margin:.2em 0}
code{font:.9em ui-monospace,"DejaVu Sans Mono",monospace;background:var(--soft);padding:0 .25em;border-radius:3px}
.synthetic{background:#b42318;color:#fff;font-weight:700;padding:10px 16px;border-radius:6px;margin:12px 0;letter-spacing:.01em}
.synthetic-foot{color:#b42318;font-weight:700}
nav.crumbs{font-size:.92em}
nav.toc{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:8px 14px;margin:14px 0;font-size:.93em}
nav.toc ol{margin:.2em 0;padding-left:1.4em}
nav.toc ul{margin:.1em 0;padding-left:1.3em;list-style:circle}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:18px;margin:10px 0}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px;margin:8px 0}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:10px;background:#fff}
figure img{width:100%;height:auto;display:block}
figure.group{grid-column:1/-1}
figure.thumb{padding:6px}
figcaption{font-size:.88em;color:var(--fg);margin-top:6px}
figcaption .num{font-weight:700}
figcaption .oid{color:var(--muted);font-family:ui-monospace,monospace;font-size:.92em}
.settings{font:12px/1.45 ui-monospace,"DejaVu Sans Mono",monospace;color:var(--muted);margin-top:4px;word-break:break-word}
.settings b{color:var(--fg);font-weight:600}
.tablewrap{overflow:auto;max-height:520px;border:1px solid var(--line);border-radius:4px;margin-top:6px}
.tablewrap.full{max-height:none}
table{border-collapse:collapse;font-size:.86em;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:var(--soft);position:sticky;top:0;z-index:1}
td.t,th.t{text-align:left}
td.title{white-space:normal;text-align:left;min-width:340px}
td.verdicts{white-space:normal}
table.repro td.t{white-space:normal;overflow-wrap:anywhere;min-width:110px;max-width:200px}
table.repro td.m{white-space:normal;overflow-wrap:anywhere;text-align:left;max-width:150px}
table.repro td.note{max-width:340px;font-size:.95em}
td.note{white-space:normal;text-align:left;min-width:200px;color:var(--muted)}
td.tol{white-space:normal;min-width:80px;max-width:150px}
.tolkey{font-size:.82em;color:var(--muted);overflow-wrap:anywhere}
tr:hover td{background:#fafbfd}
.badge{white-space:nowrap;display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:.85em}
.v-match{background:var(--match)}.v-explained{background:var(--explained)}.v-differs{background:var(--differs)}.v-missing{background:var(--missing)}
.counts .badge{margin-right:6px}
.legend{font-size:.9em;color:var(--muted)}
.warn{color:var(--explained);font-size:.9em}
.error{color:var(--differs);font-weight:600}
dl.prov{display:grid;grid-template-columns:220px 1fr;gap:4px 14px;font-size:.92em}
dl.prov dt{color:var(--muted)}dl.prov dd{margin:0;word-break:break-word}
.check-failed{background:#b42318;color:#fff;padding:8px 16px;font-weight:700}
footer{color:var(--muted);font-size:.85em;padding:24px;border-top:1px solid var(--line);margin-top:30px}
"""

# Every page checks itself on load: broken images, tables without rows, resources that
# failed. The result lands in <body data-check="{json}"> (read by the browser test via
# chromium --dump-dom) and, on a failure, in a red bar on the page itself.
CHECK_JS = """
(function(){
  var errors=[];
  window.addEventListener('error',function(e){var t=e.target||{};
    errors.push(String(t.src||t.href||e.message||'error'));},true);
  window.addEventListener('load',function(){
    var imgs=Array.prototype.slice.call(document.images);
    var broken=imgs.filter(function(i){return !(i.complete&&i.naturalWidth>0);})
                   .map(function(i){return i.getAttribute('src');});
    var tables=Array.prototype.slice.call(document.querySelectorAll('table[data-expect]'));
    var missing=tables.filter(function(t){return t.querySelectorAll('tbody tr').length===0;})
                      .map(function(t){return t.getAttribute('data-expect');});
    var res={loaded:true,title:document.title,images:imgs.length,broken_images:broken,
             tables:tables.length,missing_tables:missing,errors:errors,
             height:Math.max(document.body.scrollHeight,document.documentElement.scrollHeight)};
    document.body.setAttribute('data-check',JSON.stringify(res));
    if(broken.length||missing.length||errors.length){
      var b=document.createElement('div');b.className='check-failed';
      b.textContent='Page check failed: '+broken.length+' broken image(s), '+missing.length+
        ' missing table(s), '+errors.length+' failed resource(s).';
      document.body.insertBefore(b,document.body.firstChild);}
  });
})();
"""


def _page(title: str, body: str, synthetic: bool, extra_head: str = "") -> str:
    t = ("[SYNTHETIC] " if synthetic else "") + title
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{html.escape(t)}</title><style>{CSS}</style><script>{CHECK_JS}</script>{extra_head}</head>\n"
            f"<body class=\"{'is-synthetic' if synthetic else 'is-real'}\">\n{body}\n</body></html>\n")


def _synthetic_banner(synthetic: bool) -> str:
    return f'<div class="synthetic" role="alert">{html.escape(SYNTHETIC_BANNER)}</div>' if synthetic else ""


SETTINGS_SHOWN = 40        # keys shown in a caption's settings line (the rest are counted)
SETTING_CHARS = 160        # a longer value is cut


def _cut(text: str, n: int = SETTING_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def settings_html(summary: dict | None) -> str:
    if not summary or (not summary.get("common") and not summary.get("varying")):
        return ""
    parts = []
    n = summary.get("n_runs", 0)
    if summary.get("experiments") and n > 1:
        ex = ", ".join(f"{html.escape(e)} ({c})" for e, c in summary["experiments"].items())
        parts.append(f"<b>{n} runs</b> of {ex}")
    if summary.get("varying"):
        parts.append("<b>varying:</b> " + "; ".join(
            f"{html.escape(k)} ∈ {{{html.escape(_cut(', '.join(v)))}}}" for k, v in summary["varying"].items()))
    if summary.get("common"):
        label = "settings" if n <= 1 else "common"
        items = list(summary["common"].items())
        more = f" · … and {len(items) - SETTINGS_SHOWN} more" if len(items) > SETTINGS_SHOWN else ""
        parts.append(f"<b>{label}:</b> " + " · ".join(
            f"{html.escape(k)}={html.escape(_cut(str(v)))}" for k, v in items[:SETTINGS_SHOWN]) + more)
    return f'<div class="settings">{"<br>".join(parts)}</div>'


def table_html(df: pd.DataFrame, expect: str, max_rows: int = 400) -> str:
    """A CSV as an HTML table (the ``synthetic`` column is the page stamp, not shown)."""
    cols = [c for c in df.columns if c != "synthetic" and not df[c].isna().all()]
    hidden = [str(c) for c in df.columns if c != "synthetic" and c not in cols]
    head = "".join(f'<th class="{"t" if not pd.api.types.is_numeric_dtype(df[c]) else ""}">{html.escape(str(c))}</th>'
                   for c in cols)
    rows = []
    for _, r in df.head(max_rows).iterrows():
        cells = []
        for c in cols:
            v = r[c]
            num = pd.api.types.is_numeric_dtype(df[c]) and not isinstance(v, bool)
            txt = fmt_num(v, diff=str(c).endswith("diff")) if num else ("—" if is_missing(v) else str(v))
            cells.append(f'<td class="{"" if num else "t"}">{html.escape(txt)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="meta">{len(df) - max_rows} more rows in the CSV.</p>' if len(df) > max_rows else "")
    if hidden:
        more += f'<p class="meta">Empty in every row (in the CSV only): {html.escape(", ".join(hidden))}.</p>'
    return (f'<div class="tablewrap"><table data-expect="{html.escape(expect)}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{more}')


def _badge(v: str) -> str:
    return f'<span class="badge v-{v}">{v}</span>'


FOLD_MATCHES_ABOVE = 150  # a longer reproduction table shows its matches folded away


def reproduction_html(rows: list[dict], quirks: list[dict], synthetic: bool) -> str:
    counts = verdict_counts(rows)
    out = ['<section id="reproduction"><h2>Reproduction: the write-up\'s numbers beside ours</h2>']
    if synthetic:
        out.append('<p class="synthetic-foot">Synthetic-data build: the verdicts below check the pipeline '
                   'end to end, not the write-up.</p>')
    if not rows:
        out.append('<p class="meta">No number of this write-up is listed in the config or carried by a '
                   'table of the study.</p></section>')
        return "".join(out)
    out.append('<p class="counts">' + "".join(f"{_badge(v)}{counts[v]} " for v in VERDICTS if counts[v]) + "</p>")
    out.append('<p class="legend"><b>match</b>: |ours − write-up| within the stated tolerance (config '
               '<code>tolerances</code>). <b>explained</b>: outside it, and a named quirk of the write-up\'s code '
               'is attached to the number; the quirk and the fixed run are shown. <b>differs</b>: outside it, '
               'no quirk. <b>missing</b>: no output holds our number.</p>')
    has_fixed = any(r["fixed_where"] for r in rows)
    has_note = any(r["quirks"] or r.get("note") for r in rows)
    head = ("<tr><th class=t>where</th><th class=t>metric</th><th>write-up</th><th>ours (as-run)</th>"
            "<th>diff</th><th>tolerance</th><th class=t>verdict</th>"
            + ("<th class=t>fixed run: ours</th>" if has_fixed else "")
            + ("<th class=t>note</th>" if has_note else "") + "</tr>")

    explained: set = set()

    def row_html(r):
        src = r["sources"][0] if r["sources"] else None
        where = html.escape(r["where"])
        if src:
            where = f'<a href="#{anchor(src)}">{where}</a>'
        tol = html.escape(r["tolerance"]) + (
            f'<br><span class="tolkey">{html.escape(r["tolerance_key"]).replace("/", "/<wbr>")}</span>'
            if r["tolerance_key"] else "")
        note = []
        if r["quirks"]:
            names = ", ".join(f'<a href="#quirk-{slug(q)}">{html.escape(q)}</a>' for q in r["quirks"])
            key = tuple(r["quirks"])
            # the one-line explanation once per table; later rows name the quirk
            note.append(names + (": " + inline(r["quirk_text"]) if key not in explained else " (above)"))
            explained.add(key)
        if r.get("note"):
            note.append(inline(r["note"]))
        return (f"<tr><td class=t>{where}</td><td class=m>{html.escape(r['metric'])}</td>"
                f"<td>{fmt_num(r['reported'])}</td><td>{fmt_num(r['ours'])}</td><td>{fmt_num(r['diff'], True)}</td>"
                f"<td class=tol>{tol}</td><td class=t>{_badge(r['verdict'])}</td>"
                + (f"<td class=t>{_fixed_cell(r)}</td>" if has_fixed else "")
                + (f"<td class=note>{'<br>'.join(note)}</td>" if has_note else "") + "</tr>")

    def table(rs, expect):
        explained.clear()
        return (f'<div class="tablewrap full"><table class="repro" data-expect="{expect}"><thead>{head}</thead>'
                f'<tbody>{"".join(row_html(r) for r in rs)}</tbody></table></div>')
    if len(rows) <= FOLD_MATCHES_ABOVE:
        out.append(table(rows, "reproduction"))
    else:
        shown = [r for r in rows if r["verdict"] != "match"]
        folded = [r for r in rows if r["verdict"] == "match"]
        if shown:
            out.append(f'<p class="meta">{len(shown)} numbers that do not match:</p>' + table(shown, "reproduction"))
        if folded:
            out.append(f'<details{"" if shown else " open"}><summary>{len(folded)} numbers that match</summary>'
                       f'{table(folded, "reproduction: matches")}</details>')
    out.append("</section>")
    return "".join(out)


def _fixed_cell(r: dict) -> str:
    if not r["fixed_where"]:
        return ""
    fw, exp = r["fixed_where"], r["where"].rsplit("/", 1)[0]
    name = fw[len(exp) + 1:] if "/" in r["where"] and fw.startswith(exp + "/") else fw
    return f"{html.escape(name)}<br><b>{fmt_num(r['fixed_ours'])}</b>"


def quirks_html(quirks: list[dict]) -> str:
    if not quirks:
        return ""
    items = []
    for q in quirks:
        aff = ", ".join(f"<code>{html.escape(a)}</code>" for a in q.get("affects", [])) or "none (no reported number depends on it)"
        fx = ", ".join(f"<code>{html.escape(a)}</code> → <code>{html.escape(b)}</code>"
                       for a, b in (q.get("fixed") or {}).items())
        items.append(f'<li id="quirk-{slug(q["name"])}"><b>{html.escape(q["name"])}</b>: {inline(q.get("text", ""))}'
                     f'<br><span class="meta">attached to: {aff}{"; fixed run: " + fx if fx else ""}</span></li>')
    return ('<section id="quirks"><h2>Quirks of the write-up\'s code</h2><p class="meta">As-run outputs keep '
            'these bugs; fixed runs correct them.</p><ul>' + "".join(items) + "</ul></section>")


@dataclass
class _Out:
    oid: str
    path: str
    kind: str
    info: dict


def assign_sections(sections: list[dict], oids: list[str]) -> tuple[list[list[str]], list[str], list[list[str]]]:
    """Outputs of each section (first section that names one wins), the outputs no
    section names, and per section the entries that matched nothing."""
    taken: set[str] = set()
    per: list[list[str]] = []
    unmatched: list[list[str]] = []
    for sec in sections:
        mine: list[str] = []
        bad: list[str] = []
        for pat in sec.get("outputs", []):
            pat = pat.strip().strip("/")
            hits = [o for o in oids if o not in taken and o not in mine and
                    (o == pat or fnmatch.fnmatchcase(o, pat) or o.startswith(pat + "/"))]
            if not hits and not any(o == pat or fnmatch.fnmatchcase(o, pat) or o.startswith(pat + "/") for o in oids):
                bad.append(pat)
            mine += hits
        taken.update(mine)
        per.append(mine)
        unmatched.append(bad)
    return per, [o for o in oids if o not in taken], unmatched


class _Numbering:
    def __init__(self):
        self.fig = 0
        self.tab = 0


def _figure_html(o: _Out, src: str, num: _Numbering) -> str:
    cap = o.info.get("caption", "")
    num.fig += 1
    return (f'<figure id="{anchor(o.oid)}"><a href="{html.escape(src)}"><img src="{html.escape(src)}" '
            f'alt="{html.escape(cap or o.oid)}"></a><figcaption><span class="num">Figure {num.fig}.</span> '
            f'{inline(cap)} <span class="oid">[{html.escape(o.oid)}]</span>{settings_html(o.info.get("settings"))}'
            f'</figcaption></figure>')


def _group_html(group: list[_Out], srcs: dict, num: _Numbering) -> str:
    num.fig += 1
    info = group[0].info
    cap = info.get("group_caption") or info.get("caption", "")
    # settings shared by every run of the group, and what varies between them
    merged = _merge_summaries([g.info.get("settings") for g in group])
    thumbs = []
    for g in group:
        label = g.info.get("label") or g.oid.split("/")[-1]
        own = {k: v for k, v in ((g.info.get("settings") or {}).get("common") or {}).items() if k in merged["varying"]}
        own_txt = " · ".join(f"{html.escape(k)}={html.escape(str(v))}" for k, v in own.items())
        thumbs.append(f'<figure class="thumb" id="{anchor(g.oid)}"><a href="{html.escape(srcs[g.oid])}">'
                      f'<img src="{html.escape(srcs[g.oid])}" alt="{html.escape(g.oid)}"></a>'
                      f'<figcaption><b>{html.escape(label)}</b>'
                      f'{"<div class=settings>" + own_txt + "</div>" if own_txt else ""}</figcaption></figure>')
    return (f'<figure class="group" id="{anchor(group[0].info.get("group", group[0].oid))}">'
            f'<div class="gallery">{"".join(thumbs)}</div><figcaption><span class="num">Figure {num.fig}.</span> '
            f'{inline(cap)} ({len(group)} runs) <span class="oid">[{html.escape(info.get("group", ""))}]</span>'
            f'{settings_html(merged)}</figcaption></figure>')


def _merge_summaries(summaries: list[dict | None]) -> dict:
    commons = [s.get("common", {}) for s in summaries if s]
    exps: dict[str, int] = {}
    for s in summaries:
        for e, c in ((s or {}).get("experiments") or {}).items():
            exps[e] = exps.get(e, 0) + c
    out: dict = {"n_runs": len(commons), "common": {}, "varying": {}, "experiments": exps}
    keys: list[str] = []
    for c in commons:
        keys += [k for k in c if k not in keys]
    for k in keys:
        vals = list(dict.fromkeys(str(c.get(k, "—")) for c in commons))
        if len(vals) == 1:
            out["common"][k] = vals[0]
        else:
            out["varying"][k] = vals
    return out


def _table_block(o: _Out, src: str, df: pd.DataFrame | None, err: str | None, num: _Numbering) -> str:
    num.tab += 1
    cap = o.info.get("caption", "")
    body = (table_html(df, o.oid) if df is not None and len(df) else
            f'<p class="error">Table {html.escape(o.oid)} could not be read: {html.escape(err or "no rows")}</p>'
            f'<table data-expect="{html.escape(o.oid)}"><tbody></tbody></table>')
    return (f'<figure class="table" id="{anchor(o.oid)}"><figcaption><span class="num">Table {num.tab}.</span> '
            f'{inline(cap)} <span class="oid">[{html.escape(o.oid)}]</span> '
            f'<a href="{html.escape(src)}">CSV</a>{settings_html(o.info.get("settings"))}</figcaption>{body}</figure>')


def _outputs_html(outs: list[_Out], srcs: dict, tables: dict, errors: dict, num: _Numbering) -> str:
    """Figures in a grid (runs of one experiment as a gallery), tables full width, in order."""
    html_parts: list[str] = []
    grid: list[str] = []

    def flush():
        if grid:
            html_parts.append(f'<div class="grid">{"".join(grid)}</div>')
            grid.clear()
    i = 0
    while i < len(outs):
        o = outs[i]
        if o.kind == "figure" and o.info.get("group"):
            j = i
            while j < len(outs) and outs[j].kind == "figure" and outs[j].info.get("group") == o.info["group"]:
                j += 1
            group = outs[i:j]
            if len(group) > 1:
                flush()
                html_parts.append(_group_html(group, srcs, num))
            else:
                grid.append(_figure_html(o, srcs[o.oid], num))
            i = j
            continue
        if o.kind == "figure":
            grid.append(_figure_html(o, srcs[o.oid], num))
        elif o.kind == "table":
            flush()
            html_parts.append(_table_block(o, srcs[o.oid], tables.get(o.oid), errors.get(o.oid), num))
        else:
            flush()
            html_parts.append(f'<p id="{anchor(o.oid)}"><a href="{html.escape(srcs[o.oid])}">{html.escape(o.oid)}</a> '
                              f'{inline(o.info.get("caption", ""))}</p>')
        i += 1
    flush()
    return "".join(html_parts)


def provenance_html(prov: dict) -> str:
    def dd(k, v):
        return f"<dt>{html.escape(k)}</dt><dd>{v}</dd>"
    g = prov["git"]
    commit = html.escape(g.get("commit", "unknown")) + (" (uncommitted changes)" if g.get("dirty") else "")
    ct = prov["compute"]
    stages = ", ".join(f"{html.escape(s)} {fmt_seconds(t)} ({ct['jobs'][s]} jobs)"
                       for s, t in sorted(ct["by_stage"].items()))
    runs = prov["runs"]
    devs = ", ".join(f"{html.escape(d)} × {n} runs" for d, n in runs["devices"].items()) or html.escape(
        prov.get("devices_fallback", "—"))
    train_commits = ", ".join(f"<code>{html.escape(c)}</code> × {n}" for c, n in runs["commits"].items())
    pk = " · ".join(f"{html.escape(k)} {html.escape(v)}" for k, v in prov["packages"].items())
    torch_train = ", ".join(f"{html.escape(v)} × {n}" for v, n in runs["torch"].items())
    scale = prov.get("scale")
    items = [
        dd("built", html.escape(prov["built"])),
        dd("commit (at build)", f"<code>{commit}</code>"),
        dd("study config hash", f"<code>{html.escape(prov['config_hash'])}</code> "
           "<span class=meta>(sha256 of the resolved study config, preset and tolerances)</span>"),
        dd("preset / data", f"{html.escape(prov['preset'])} / {html.escape(str(prov['data_source']))}"
           + (f" · scale caps {html.escape(_value_str(scale))}" if scale else "")),
        dd("devices used", devs),
        dd("total compute time", f"<b>{fmt_seconds(ct['total_s'])}</b> over {ct['n_jobs']} jobs "
           f"(Snakemake benchmark files){': ' + stages if stages else ''}"),
    ]
    if runs["n_runs"]:
        items.append(dd("training runs", f"{runs['n_runs']} runs, {fmt_seconds(runs['train_seconds'])} "
                        f"of training loops; trained at commit {train_commits}"
                        + (f"; torch {torch_train}" if torch_train else "")))
    items.append(dd("package versions (report build)", pk))
    return ('<section id="provenance"><h2>Provenance</h2><dl class="prov">' + "".join(items) + "</dl></section>")


def toc_html(items: list[tuple[int, str]]) -> str:
    """An ordered list of level-2 entries, each with its level-3 entries nested."""
    out, open_sub = ["<ol>"], False
    for i, (level, link) in enumerate(items):
        if level >= 3 and i > 0:
            if not open_sub:
                out[-1] = out[-1].removesuffix("</li>") + "<ul>"
                open_sub = True
            out.append(f"<li>{link}</li>")
            continue
        if open_sub:
            out.append("</ul></li>")
            open_sub = False
        out.append(f"<li>{link}</li>")
    if open_sub:
        out.append("</ul></li>")
    return "".join(out) + "</ol>"


def read_tables(paths: dict[str, str]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    tables, errors = {}, {}
    for oid, p in paths.items():
        try:
            tables[oid] = pd.read_csv(p)
        except (OSError, ValueError, pd.errors.EmptyDataError) as e:
            errors[oid] = f"{type(e).__name__}: {e}"
    return tables, errors


def copy_assets(paths: dict[str, str], assets_dir: str, study: str) -> dict[str, str]:
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


def build_page(params: dict, output_paths: list[str], finals: list[str], benchmarks: list[str],
               html_path: str, summary_path: str, assets_dir: str, git_cwd: str = ".",
               log=print) -> dict:
    """Write one study's page, its assets and its summary script; return the summary."""
    study = params["study"]
    rep = params.get("report") or {}
    quirks = rep.get("quirks") or []
    paths = {output_id(p, params["study_dir"]): p for p in output_paths}
    infos = params.get("outputs", {})
    outs = [_Out(oid, p, output_kind(p), infos.get(oid) or {"caption": ""}) for oid, p in paths.items()]
    tables, errors = read_tables({o.oid: o.path for o in outs if o.kind == "table"})
    for oid, e in errors.items():
        log(f"WARNING: table {oid} unreadable: {e}")
    synthetic = bool(params.get("synthetic")) or any(
        "synthetic" in df.columns and df["synthetic"].astype(str).str.lower().eq("true").any() for df in tables.values())
    Path(assets_dir).mkdir(parents=True, exist_ok=True)
    srcs = copy_assets(paths, assets_dir, study)
    rows = reproduction_rows(study, params.get("reported", []), tables, quirks, params.get("tolerances", {}))

    sections = rep.get("sections") or []
    per, other, unmatched = assign_sections(sections, list(paths))
    by_id = {o.oid: o for o in outs}
    num = _Numbering()
    toc = [(2, '<a href="#reproduction">Reproduction</a>')]
    if quirks:
        toc.append((2, '<a href="#quirks">Quirks</a>'))
    body_secs = []
    for i, (sec, oids, bad) in enumerate(zip(sections, per, unmatched)):
        level = int(sec.get("level", 2))
        sid = f"s{i + 1}-{slug(sec.get('heading', ''))}"
        toc.append((level, f'<a href="#{sid}">{inline(sec.get("heading", ""))}</a>'))
        warn = "".join(f'<p class="warn">No output named <code>{html.escape(b)}</code> in this build.</p>' for b in bad)
        for b in bad:
            log(f"WARNING: section {sec.get('heading')!r}: no output matches {b!r}")
        body_secs.append(f'<section id="{sid}"><h{level}>{inline(sec.get("heading", ""))}</h{level}>'
                         f'{paragraphs(sec.get("text"))}{warn}'
                         f'{_outputs_html([by_id[o] for o in oids], srcs, tables, errors, num)}</section>')
    if other:
        toc.append((2, '<a href="#other-outputs">Other outputs</a>'))
        body_secs.append('<section id="other-outputs"><h2>Other outputs</h2><p class="meta">Outputs of this study '
                         'that no section of <code>report.sections</code> names.</p>'
                         f'{_outputs_html([by_id[o] for o in other], srcs, tables, errors, num)}</section>')
    toc.append((2, '<a href="#provenance">Provenance</a>'))

    prov = {
        "built": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "git": git_state(git_cwd), "config_hash": config_hash(params),
        "preset": params.get("preset", "?"), "data_source": params.get("data_source"), "scale": params.get("scale"),
        "packages": package_versions(), "compute": compute_time(all_benchmarks(benchmarks, params.get("bench_dir")),
                                                                params.get("bench_dir", "")),
        "runs": run_provenance(finals),
        "devices_fallback": ("cpu (NumPy study)" if params.get("engine") == "numpy" else "cpu (no torch runs)"),
    }
    csv_devices = sorted({str(d) for df in tables.values() if "device" in df.columns for d in df["device"].dropna()})
    if not prov["runs"]["devices"] and csv_devices:
        prov["devices_fallback"] = ", ".join(csv_devices)

    meta = [f"study <code>{html.escape(study)}</code>"]
    if params.get("writeup_file"):
        meta.append(f"write-up <code>{html.escape(params['writeup_file'])}</code>")
    meta.append(f"preset <b>{html.escape(str(params.get('preset')))}</b>, data: {html.escape(str(params.get('data_source')))}")
    head = (f'<header class="top"><nav class="crumbs"><a href="index.html">← all write-ups</a></nav>'
            f'<h1>{inline(params.get("title", study))}</h1><p class="meta">{" · ".join(meta)}</p>'
            f'{_synthetic_banner(synthetic)}{paragraphs(rep.get("intro"))}'
            f'<nav class="toc"><b>Contents</b>{toc_html(toc)}</nav></header>')
    main = (f"<main>{reproduction_html(rows, quirks, synthetic)}{quirks_html(quirks)}"
            f"{''.join(body_secs)}{provenance_html(prov)}</main>")
    foot = (f'<footer>{"<span class=synthetic-foot>SYNTHETIC DATA build.</span> " if synthetic else ""}'
            f'Generated by <code>dlrepro.site</code> from the outputs of this study only. '
            f'<a href="index.html">All write-ups</a></footer>')
    from dlrepro.ioutil import dumps_json, write_text

    write_text(html_path, _page(params.get("title", study), head + main + foot, synthetic))
    summary = {"study": study, "title": params.get("title", study), "synthetic": synthetic,
               "verdicts": verdict_counts(rows), "n_reported": len(rows),
               "n_figures": sum(o.kind == "figure" for o in outs), "n_tables": sum(o.kind == "table" for o in outs),
               "compute_s": prov["compute"]["total_s"], "built": prov["built"],
               "unmatched": [b for bad in unmatched for b in bad], "unreadable": sorted(errors)}
    write_text(summary_path, "window.DLREPRO_SUMMARY = window.DLREPRO_SUMMARY || {};\n"
               f"window.DLREPRO_SUMMARY[{json.dumps(study)}] = {dumps_json(summary, sort_keys=True)};\n")
    log(f"page {html_path}: {len(outs)} outputs, {len(rows)} reported numbers {verdict_counts(rows)}")
    return summary


INDEX_JS = """
(function(){
  var S=window.DLREPRO_SUMMARY||{};
  function fmt(s){if(s==null)return '—';if(s<60)return s.toFixed(1)+' s';var m=Math.round(s/60);
    return m<60?m+' min':Math.floor(m/60)+' h '+(m%60)+' min';}
  Array.prototype.forEach.call(document.querySelectorAll('tr[data-study]'),function(tr){
    var s=S[tr.getAttribute('data-study')];var v=tr.querySelector('.verdicts'),c=tr.querySelector('.compute');
    if(!s){v.textContent='page not built yet';return;}
    v.innerHTML='';['match','explained','differs','missing'].forEach(function(k){
      if(s.verdicts[k]){var b=document.createElement('span');b.className='badge v-'+k;b.textContent=k+' '+s.verdicts[k];
        v.appendChild(b);v.appendChild(document.createTextNode(' '));}});
    tr.querySelector('.n-reported').textContent=s.n_reported;
    if(!s.n_reported)v.textContent='no reported numbers';
    c.textContent=fmt(s.compute_s);
    if(s.synthetic)tr.querySelector('.title').insertAdjacentHTML('beforeend',' <span class="badge v-differs">synthetic</span>');
  });
})();
"""


def build_index(params: dict, html_path: str, log=print) -> None:
    """The index: every write-up, with its verdict counts read from the pages' summary
    scripts (so a page rebuild never rebuilds the index)."""
    synthetic = bool(params.get("synthetic"))
    rows = []
    scripts = []
    for s in params["studies"]:
        secs = "; ".join(inline(h) for h in s.get("sections", []))
        rows.append(
            f'<tr data-study="{html.escape(s["study"])}"><td class="t title"><a href="{html.escape(s["study"])}.html">'
            f'{inline(s["title"])}</a><div class="meta"><code>{html.escape(s["study"])}</code>'
            f'{" · " + html.escape(s["writeup_file"]) if s.get("writeup_file") else ""}</div>'
            f'{"<div class=settings>" + secs + "</div>" if secs else ""}</td>'
            f'<td>{s["n_figures"]}</td><td>{s["n_tables"]}</td><td class="n-reported">{s["n_reported"]}</td>'
            f'<td class="t verdicts"><noscript>see the page</noscript></td><td class="compute">—</td></tr>')
        scripts.append(f'<script src="{html.escape(s["study"])}.summary.js"></script>')
    scale = params.get("scale")
    body = (f'<header class="top"><h1>Five deep-learning write-ups, regenerated</h1>'
            f'<p class="meta">preset <b>{html.escape(str(params.get("preset")))}</b>, data: '
            f'{html.escape(str(params.get("data_source")))}'
            f'{" · scale caps " + html.escape(_value_str(scale)) if scale else ""}</p>{_synthetic_banner(synthetic)}'
            f'<p>Each page follows its write-up\'s own order: its problems and questions as headings, every figure '
            f'and table of the study captioned with the run settings that made it, a reproduction table (the '
            f'write-up\'s numbers beside ours, with a verdict) and provenance.</p></header>'
            f'<main><h2>Write-ups</h2><div class="tablewrap" style="max-height:none"><table data-expect="index">'
            f'<thead><tr><th class=t>write-up</th><th>figures</th><th>tables</th><th>reported numbers</th>'
            f'<th class=t>verdicts</th><th>compute time</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            f'<p class="legend"><span class="badge v-match">match</span> within the tolerance · '
            f'<span class="badge v-explained">explained</span> a named quirk accounts for it · '
            f'<span class="badge v-differs">differs</span> · <span class="badge v-missing">missing</span> '
            f'no output holds our number.</p></main>'
            f'<footer>{"<span class=synthetic-foot>SYNTHETIC DATA build.</span> " if synthetic else ""}'
            f'Generated by <code>dlrepro.site</code>.</footer>'
            f'{"".join(scripts)}<script>{INDEX_JS}</script>')
    from dlrepro.ioutil import dumps_json, write_text

    write_text(html_path, _page("dlrepro: the write-ups", body, synthetic))
    log(f"index {html_path}: {len(rows)} write-ups")


# ============================================================================ browser
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
MAX_SHOT_HEIGHT = 16000


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _chromium(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="dlrepro-chromium-") as profile:
        return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


_CHECK_RE = re.compile(r'<body[^>]*\sdata-check="([^"]*)"', re.S)


def check_page(html_path: str | os.PathLike, screenshot: str | os.PathLike | None = None,
               width: int = 1280) -> dict:
    """Load a page in headless Chromium; return its self-check (see ``CHECK_JS``) with a
    list of ``problems``, and write a full-page screenshot when asked."""
    url = Path(html_path).resolve().as_uri()
    res = _chromium([f"--window-size={width},900", "--virtual-time-budget=15000",
                     "--run-all-compositor-stages-before-draw", "--dump-dom", url])
    m = _CHECK_RE.search(res.stdout)
    check = json.loads(html.unescape(m.group(1))) if m else {"loaded": False}
    problems = []
    if not check.get("loaded"):
        problems.append(f"page did not load (chromium rc {res.returncode}): {res.stderr[-500:]}")
    problems += [f"broken image {s}" for s in check.get("broken_images", [])]
    problems += [f"table without rows: {t}" for t in check.get("missing_tables", [])]
    problems += [f"failed resource: {e}" for e in check.get("errors", [])]
    if screenshot is not None:
        # the whole page in one image: Chromium draws at most ~16k device pixels, so a
        # taller page is drawn at a smaller scale
        height = max(600, int(check.get("height") or 1200) + 40)
        scale = min(1.0, MAX_SHOT_HEIGHT / height)
        shot = Path(screenshot).resolve()
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.unlink(missing_ok=True)
        r2 = _chromium(["--hide-scrollbars", f"--force-device-scale-factor={scale:.4f}",
                        f"--window-size={width},{height}", "--virtual-time-budget=15000",
                        f"--screenshot={shot}", url])
        check["screenshot_scale"] = round(scale, 4)
        if not shot.exists() or shot.stat().st_size == 0:
            problems.append(f"no screenshot written (chromium rc {r2.returncode}): {r2.stderr[-500:]}")
        check["screenshot"] = str(shot)
    check["problems"] = problems
    check["page"] = str(html_path)
    return check


def check_site(pages: dict[str, str], screenshot_dir: str | os.PathLike | None = None) -> dict:
    """Check every page (name -> html path); screenshots as ``{screenshot_dir}/{name}.png``."""
    out = {}
    for name, p in pages.items():
        shot = Path(screenshot_dir) / f"{name}.png" if screenshot_dir is not None else None
        out[name] = check_page(p, shot)
    return {"ok": all(not c["problems"] for c in out.values()), "pages": out}
