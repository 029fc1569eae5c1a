"""Decode one dataset's raw files into compact uint8 tensors (rule `prepare_data`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)

from dlrepro.data.prepare import prepare
from dlrepro.logutil import job_log

sm = snakemake  # noqa: F821  (injected by Snakemake)


with job_log(sm) as log:
    out = prepare(sm.wildcards.dataset, sm.input.manifest, sm.output.data)
    log(f"wrote {sm.output.data}: train {tuple(out['train_x'].shape)}, test "
        f"{tuple(out['test_x'].shape)}, mean {out['mean']}, std {out['std']}, "
        f"synthetic={out['synthetic']}, integrity record sha256 {out['integrity']['sha256']}")
