"""scratch_backprop 1.2-1.4: printed values, gradient checks, activation figure (rule `scratch_components`)."""
from dlrepro.logutil import file_logger
from dlrepro.studies.scratch_backprop.stages import components_stage

sm = snakemake  # noqa: F821
with file_logger(sm.log[0]) as log:
    components_stage(sm.params.settings, {k: sm.output[k] for k in ("values", "central", "check_grad", "activations")},
                     log)
