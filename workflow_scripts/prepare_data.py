"""Decode one dataset's raw files into compact uint8 tensors (rule `prepare_data`)."""

from dlrepro import data
from dlrepro.logutil import file_logger, route_package_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)


with file_logger(sm.log[0]) as log:
    route_package_logging(log)
    out = data.prepare(sm.wildcards.dataset, sm.input.manifest, sm.output.data)
    log(f"wrote {sm.output.data}: train {tuple(out['train_x'].shape)}, test "
        f"{tuple(out['test_x'].shape)}, mean {out['mean']}, std {out['std']}, "
        f"synthetic={out['synthetic']}")
