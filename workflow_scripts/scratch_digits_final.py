"""scratch_backprop 1.6: final train/test loss and accuracy of every run (rule `scratch_digits_final`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.studies.scratch_backprop.stages import digits_final_stage

sm = snakemake  # noqa: F821
with job_log(sm) as log:
    digits_final_stage(list(sm.input.finals), dict(sm.params.labels), sm.output[0])
    log(f"wrote {sm.output[0]}")
