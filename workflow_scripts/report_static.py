"""The CSS/JS every page of the report site links (rule `report_static`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from pathlib import Path

from dlrepro.logutil import job_log
from dlrepro.site.render import write_static

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log:
    site_dir = Path(sm.output[0]).parent.parent
    for path in write_static(site_dir):
        log(f"wrote {path}")
