"""lr_min / lr_max from an LR range test run (rule `lr_bounds`)."""
import json

from dlrepro.ioutil import write_json
from dlrepro.schedules import LR_FINDER_RULE, lr_finder

sm = snakemake  # noqa: F821
with open(sm.input.final) as fh:
    final = json.load(fh)
b = final.get("batches") or []
if not b:
    raise ValueError(f"{sm.input.final} has no per-batch records: set loop.record_batches for the range test")
found = lr_finder([r["lr"] for r in b], [r["loss"] for r in b])
write_json(sm.output[0], {**found, "rule": LR_FINDER_RULE, "source_run": final["run"], "synthetic": final["synthetic"]})
