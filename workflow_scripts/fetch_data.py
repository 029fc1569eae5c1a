"""Fetch one dataset's raw files and write its manifest (rule `fetch_data`)."""
from pathlib import Path

from dlrepro import data
from dlrepro.logutil import file_logger, route_package_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)


with file_logger(sm.log[0]) as log:
    route_package_logging(log)
    p = sm.params
    log(f"fetch {sm.wildcards.dataset}: source={p.source} root={p.root} mirror={p.mirror} "
        f"synthetic={p.synthetic}")
    target = data.manifest_path(sm.wildcards.dataset, p.source, p.root)
    if Path(target).resolve() != Path(sm.output.manifest).resolve():
        raise data.DataError(f"rule output {sm.output.manifest} is not where fetch writes ({target})")
    manifest = data.fetch(sm.wildcards.dataset, p.source, root=p.root, mirror=p.mirror,
                          synthetic=p.synthetic)
    log(f"wrote {sm.output.manifest}: {len(manifest['files'])} files, synthetic={manifest['synthetic']}")
