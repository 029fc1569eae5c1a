"""Fetch one dataset's raw files and write its manifest (rule `fetch_data`)."""
import logging
from pathlib import Path

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
    p = sm.params
    log(f"fetch {sm.wildcards.dataset}: source={p.source} root={p.root} mirror={p.mirror} "
        f"synthetic={p.synthetic}")
    target = data.manifest_path(sm.wildcards.dataset, p.source, p.root)
    if Path(target).resolve() != Path(sm.output.manifest).resolve():
        raise data.DataError(f"rule output {sm.output.manifest} is not where fetch writes ({target})")
    manifest = data.fetch(sm.wildcards.dataset, p.source, root=p.root, mirror=p.mirror,
                          synthetic=p.synthetic)
    log(f"wrote {sm.output.manifest}: {len(manifest['files'])} files, synthetic={manifest['synthetic']}")
