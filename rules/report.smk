# The write-ups as a browsable static site (issue 7), built from figure/table outputs only.
#   {R}/report/index.html            the write-ups, with verdict counts (rule report_index)
#   {R}/report/{study}.html          one page per write-up (rule report_page), with
#   {R}/report/{study}/...           copies of the study's figures and tables, and
#   {R}/report/{study}.summary.js    the counts the index shows (read by the browser)
#   {R}/report/screenshots/*.png     headless-Chromium check + one screenshot per page
#                                    (rule report_screenshots; not in `all`: needs chromium)
# A page depends only on its own study's outputs, the runs' final.json (devices), the
# study's benchmark files (compute time; the page also counts any other TSV under
# {R}/benchmarks/{study}/, e.g. of jobs that feed its outputs indirectly) and its small
# config slice (params), so editing one figure rebuilds that figure and its page; the
# index has no file inputs at all.
# Included last: every stage before it has added its outputs to TARGETS.
import functools as _rp_functools
import re as _rp_re

from dlrepro import report as _rp

REPORT_DIR = f"{R}/report"
REPORT_STUDIES = list(CFG.studies)


def _rp_is_report(path):
    return path.startswith(f"{REPORT_DIR}/")


def report_study_outputs(study):
    """Every final output of a study (figures, tables, analyses), in TARGETS order."""
    prefix = f"{R}/{study}/"
    return list(dict.fromkeys(t for t in TARGETS if t.startswith(prefix) and not _rp_is_report(t)))


@_rp_functools.lru_cache(maxsize=None)
def _rp_benchmark_of(path):
    """The benchmark file of the job that makes ``path``: None if its rule keeps none, or
    if more than one rule could make it (no guessing: a wrong guess would be an input no
    rule makes; the page still counts every benchmark file under the study's folder)."""
    found = set()
    for r in workflow.rules:
        if not r.is_producer(path):
            continue
        if r.benchmark is None or callable(r.benchmark):
            return None
        try:
            found.add(r.benchmark.apply_wildcards(r.get_wildcards(path)))
        except Exception:  # a rule whose output matches but whose wildcards do not apply
            continue
    return found.pop() if len(found) == 1 else None


def report_study_benchmarks(study):
    """Benchmark TSVs of the study's outputs and of its training runs."""
    paths = report_study_outputs(study) + [f"{run_dir(r)}/final.json" for r in CFG.study_runs(study)]
    found = (_rp_benchmark_of(p) for p in paths)
    return sorted({b for b in found if b and b.startswith(f"{R}/benchmarks/{study}/")})


rule report_page:
    input:
        outputs=lambda wc: report_study_outputs(wc.study),
        finals=lambda wc: [f"{run_dir(r)}/final.json" for r in CFG.study_runs(wc.study)],
        benchmarks=lambda wc: report_study_benchmarks(wc.study),
    output:
        html=f"{REPORT_DIR}/{{study}}.html",
        summary=f"{REPORT_DIR}/{{study}}.summary.js",
        assets=directory(f"{REPORT_DIR}/{{study}}"),
    params:
        # a function of the wildcards only: Snakemake does not track params derived from
        # `input`, and these must be tracked (captions, report layout, tolerances)
        page=lambda wc: _rp.page_params(CFG, wc.study, report_study_outputs(wc.study)),
    wildcard_constraints:
        study="|".join(_rp_re.escape(s) for s in REPORT_STUDIES) or "(?!)",
    log:
        f"{R}/logs/report/{{study}}.log",
    benchmark:
        f"{R}/benchmarks/report/{{study}}.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/build_report_page.py"


rule report_index:
    output:
        f"{REPORT_DIR}/index.html",
    params:
        index=lambda wc: _rp.index_params(CFG, {s: report_study_outputs(s) for s in REPORT_STUDIES}),
    log:
        f"{R}/logs/report/index.log",
    benchmark:
        f"{R}/benchmarks/report/index.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow_scripts/build_report_index.py"


REPORT_PAGES = {"index": f"{REPORT_DIR}/index.html",
                **{s: f"{REPORT_DIR}/{s}.html" for s in REPORT_STUDIES}}


rule report_screenshots:
    """Opt-in (needs Debian's chromium): load every page in headless Chromium, fail on a
    broken image, a table without rows or a failed resource; one screenshot per page.
    Run: snakemake --cores 1 --config preset=smoke -- report_screenshots"""
    input:
        pages=list(REPORT_PAGES.values()),
        assets=[f"{REPORT_DIR}/{s}" for s in REPORT_STUDIES],
    output:
        shots=[f"{REPORT_DIR}/screenshots/{p}.png" for p in REPORT_PAGES],
        check=f"{REPORT_DIR}/screenshots/check.json",
    params:
        pages=REPORT_PAGES,
    log:
        f"{R}/logs/report/screenshots.log",
    benchmark:
        f"{R}/benchmarks/report/screenshots.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../workflow_scripts/report_screenshots.py"


TARGETS.extend(REPORT_PAGES.values())
