"""scratch_backprop 1.6: binary digits, standardised and split (rule `scratch_digits_data`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.studies.scratch_backprop.stages import data_stage

sm = snakemake  # noqa: F821
with job_log(sm) as log:
    data_stage(sm.params.settings, {"split": sm.output.split, "stats": sm.output.stats,
                                    "samples": sm.output.samples}, log)
