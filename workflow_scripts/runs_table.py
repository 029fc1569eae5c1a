"""Every torch run of the build in one tidy table (rule `runs_table`): dlrepro.outputs.runs_table."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.ioutil import write_csv
from dlrepro.logutil import job_log
from dlrepro.outputs.runs_table import runs_table

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log:
    table = runs_table(list(sm.input.finals))
    write_csv(sm.output[0], table)
    log(f"{len(table)} runs, {len(table.columns)} columns")
