"""scratch_backprop 1.2-1.4: printed values, gradient checks, activation figure (rule `scratch_components`)."""
from dlrepro.logutil import job_log
from dlrepro.studies.scratch_backprop.stages import components_stage

sm = snakemake  # noqa: F821
with job_log(sm) as log:
    components_stage(sm.params.settings, {k: sm.output[k] for k in ("values", "central", "check_grad", "activations")},
                     log)
