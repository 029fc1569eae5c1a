"""The report site as one directory output (rule `report_site`), so that `snakemake --report`
packs it: a mirror of the site's folder without its screenshots."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.ioutil import mirror_tree
from dlrepro.logutil import job_log

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log:
    n = mirror_tree(sm.params.site, sm.output[0], skip=tuple(sm.params.skip))
    log(f"{n} files of {sm.params.site} in {sm.output[0]}")
