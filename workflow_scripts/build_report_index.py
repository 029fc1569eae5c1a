"""The index of the report site (rule `report_index`): dlrepro.site.build.build_index."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.site.build import build_index

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log:
    build_index(sm.params.index, sm.output[0], log=log)
