"""lr_min / lr_max from an LR range test run (rule `lr_bounds`)."""
import json

from dlrepro.ioutil import write_json
from dlrepro.training.schedules import lr_bounds_from_final

sm = snakemake  # noqa: F821
with open(sm.input.final) as fh:
    write_json(sm.output[0], lr_bounds_from_final(json.load(fh)))
