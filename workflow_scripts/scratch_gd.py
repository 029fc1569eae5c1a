"""scratch_backprop 1.1: gradient descent runs, global minimum, step-size grid (rule `scratch_gd`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.studies.scratch_backprop.stages import gd_stage

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log:
    gd_stage(sm.params.settings, {k: sm.output[k] for k in
                                  ("runs", "paths", "grid", "global_min", "contour", "values", "heatmap")}, log)
