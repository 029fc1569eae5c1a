# The write-ups as a browsable static site, built from figure/table outputs only.
#   {RESULTS}/report/index.html          the write-ups, with verdict counts (rule report_index)
#   {RESULTS}/report/static/*            the CSS/JS every page links (rule report_static)
#   {RESULTS}/report/{study}.html        one page per write-up (rule report_page), with
#   {RESULTS}/report/{study}/...         copies of the study's figures and tables, and
#   {RESULTS}/report/{study}.summary.js  the counts the index shows (read by the browser)
#   {RESULTS}/report/screenshots/*.png   headless-Chromium check + one screenshot per page
#                                        (rule report_screenshots; not in `all`: needs chromium)
#   {RESULTS}/site/                      the site again (hard links), as one directory output
#                                        that `snakemake --report report.zip` packs (rule report_site)
# A page depends only on its own study's outputs, the runs' final.json (devices), the
# benchmark files of the jobs that made them (compute time), the site's library files and
# its small config slice (params), so editing one figure rebuilds that figure and its page;
# the index has no file inputs but the site's library files, and no page depends on the
# index (a new count of printed numbers rebuilds the index only).
from dlrepro.site.params import index_params, page_params


rule report_page:
    input:
        code=library_dir("site"),
        static=REPORT_STATIC,
        outputs=lambda wc: study_outputs(wc.study),
        finals=lambda wc: [run_path("final", r) for r in CFG.study_runs(wc.study)],
        benchmarks=lambda wc: report_study_benchmarks(wc.study),
    output:
        html=f"{REPORT_DIR}/{{study}}.html",
        summary=f"{REPORT_DIR}/{{study}}.summary.js",
        assets=directory(f"{REPORT_DIR}/{{study}}"),
    log:
        f"{RESULTS}/logs/report/{{study}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/{{study}}.tsv"
    wildcard_constraints:
        study=one_of(REPORT_STUDIES),
    localrule: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # a function of the wildcards only: Snakemake does not track params derived from
        # `input`, and these must be tracked (captions, report layout, tolerances)
        page=lambda wc: page_params(CFG, wc.study, study_outputs(wc.study)),
    script:
        "../workflow_scripts/build_report_page.py"


rule report_static:
    input:
        code=library_dir("site"),
    output:
        REPORT_STATIC,
    log:
        f"{RESULTS}/logs/report/static.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/static.tsv"
    localrule: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow_scripts/report_static.py"


rule report_index:
    input:
        code=library_dir("site"),
    output:
        html=f"{REPORT_DIR}/index.html",
    log:
        f"{RESULTS}/logs/report/index.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/index.tsv"
    localrule: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        index=lambda wc: index_params(CFG, {s: study_outputs(s) for s in REPORT_STUDIES}),
    script:
        "../workflow_scripts/build_report_index.py"


rule report_screenshots:
    """Opt-in (needs Debian's chromium): load every page in headless Chromium, fail on a
    broken image, a table without rows or a failed resource; one screenshot per page.
    Run: snakemake --cores 1 --config preset=smoke -- report_screenshots"""
    input:
        pages=list(REPORT_PAGES.values()),
        static=REPORT_STATIC,
        assets=[f"{REPORT_DIR}/{s}" for s in REPORT_STUDIES],
    output:
        shots=[f"{REPORT_DIR}/screenshots/{p}.png" for p in REPORT_PAGES],
        check=f"{REPORT_DIR}/screenshots/check.json",
    log:
        f"{RESULTS}/logs/report/screenshots.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/screenshots.tsv"
    localrule: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        pages=REPORT_PAGES,
    script:
        "../workflow_scripts/report_screenshots.py"


rule report_site:
    """The site as one directory output, so that `snakemake --report report.zip` holds it
    (its entry opens index.html): a mirror of the report folder (hard links), screenshots left out."""
    input:
        pages=list(REPORT_PAGES.values()),
        static=REPORT_STATIC,
        assets=[f"{REPORT_DIR}/{s}" for s in REPORT_STUDIES],
    output:
        report(
            directory(REPORT_SITE),
            htmlindex="index.html",
            caption=CAPTION,
            category="write-ups (site)",
            labels={"site": "index.html"},
        ),
    log:
        f"{RESULTS}/logs/report/site.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/site.tsv"
    localrule: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        site=lambda wc, input: os.path.dirname(input.pages[0]),  # the report folder
        skip=["screenshots"],
        caption="The write-up site: one page per write-up with each number the write-up reported "
        "beside ours, the difference and a verdict, and provenance. Open it here (index.html).",
    script:
        "../workflow_scripts/report_site.py"
