"""One write-up's page of the report site (rule `report_page`): dlrepro.site.build.build_page."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.site.build import build_page

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log:
    build_page(sm.params.page, list(sm.input.outputs), list(sm.input.finals), list(sm.input.benchmarks),
               html_path=sm.output.html, summary_path=sm.output.summary, assets_dir=sm.output.assets,
               git_cwd=".", log=log)
