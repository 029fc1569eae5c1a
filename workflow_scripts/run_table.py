"""A table of run results next to the write-up's numbers (rule `run_table`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.ioutil import write_csv
from dlrepro.logutil import job_log
from dlrepro.outputs.tables import run_table

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm):
    table = run_table(list(sm.input.finals), list(sm.input.metrics), sm.params.spec, sm.params.printed)
    write_csv(sm.output[0], table)
