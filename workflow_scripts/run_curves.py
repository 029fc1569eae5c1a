"""Learning curves of one run (rule `run_curves`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.outputs.figures import run_curves

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm):
    run_curves(sm.input.metrics, sm.input.final, sm.output[0], title=sm.params.title)
