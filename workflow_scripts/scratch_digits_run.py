"""scratch_backprop 1.6: one digits run, checkpointed per epoch (rule `scratch_digits_run`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.studies.scratch_backprop.stages import digits_run_stage

sm = snakemake  # noqa: F821
with job_log(sm) as log:
    digits_run_stage(sm.params.plan, sm.input.split, {"metrics": sm.output.metrics, "final": sm.output.final},
                     sm.params.checkpoint_dir, log)
