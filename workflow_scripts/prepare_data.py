"""Decode one dataset's raw files into compact uint8 tensors (rule `prepare_data`)."""
import logging

from dlrepro import data
from dlrepro.logutil import file_logger

sm = snakemake  # noqa: F821  (injected by Snakemake)


class _ToLog(logging.Handler):
    def __init__(self, log):
        super().__init__(logging.INFO)
        self._log = log

    def emit(self, record):
        self._log(f"{record.levelname} {record.name}: {record.getMessage()}")


with file_logger(sm.log[0]) as log:
    logger = logging.getLogger("dlrepro")
    logger.setLevel(logging.INFO)
    logger.addHandler(_ToLog(log))
    out = data.prepare(sm.wildcards.dataset, sm.input.manifest, sm.output.data)
    log(f"wrote {sm.output.data}: train {tuple(out['train_x'].shape)}, test "
        f"{tuple(out['test_x'].shape)}, mean {out['mean']}, std {out['std']}, "
        f"synthetic={out['synthetic']}")
