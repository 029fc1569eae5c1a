"""scratch_backprop 1.2-1.4: printed values, gradient checks, activation figure (rule `scratch_components`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.studies.scratch_backprop.stages import components_stage

sm = snakemake  # noqa: F821
with job_log(sm) as log:
    components_stage(sm.params.settings, {k: sm.output[k] for k in ("values", "central", "check_grad", "activations")},
                     log)
