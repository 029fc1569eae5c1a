"""scratch_backprop 1.6: loss and accuracy curves of one digits run (rule `scratch_digits_curves`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.studies.scratch_backprop.stages import digits_curves_stage

sm = snakemake  # noqa: F821
with job_log(sm) as log:
    digits_curves_stage(sm.input.metrics, sm.output[0], sm.params.title, sm.params.printed)
    log(f"wrote {sm.output[0]}")
