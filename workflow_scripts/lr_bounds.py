"""lr_min / lr_max from an LR range test run (rule `lr_bounds`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
import json

from dlrepro.ioutil import write_json
from dlrepro.logutil import job_log
from dlrepro.training.lr_finder import lr_bounds_from_final

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log, open(sm.input.final) as fh:
    bounds = lr_bounds_from_final(json.load(fh))
    log(f"chosen bounds: {bounds}")
    write_json(sm.output[0], bounds)
