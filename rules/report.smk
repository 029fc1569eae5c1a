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
# Helpers (REPORT_*, report_study_outputs, ...) live in rules/common.smk.


rule report_page:
    input:
        code=library("site/__init__.py"),
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
    conda:
        CONDA_ENV
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
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/build_report_index.py"



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
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/report_screenshots.py"


TARGETS.extend(REPORT_PAGES.values())
