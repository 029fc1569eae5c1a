"""Fetch one dataset's raw files and write its manifest (rule `fetch_data`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from pathlib import Path

from dlrepro.data.errors import DataError
from dlrepro.data.fetching import fetch
from dlrepro.data.registry import manifest_path
from dlrepro.logutil import job_log

sm = snakemake  # noqa: F821  (injected by Snakemake)


with job_log(sm) as log:
    p = sm.params
    log(f"fetch {sm.wildcards.dataset}: source={p.source} root={p.root} mirror={p.mirror} "
        f"synthetic={p.synthetic}")
    target = manifest_path(sm.wildcards.dataset, p.source, p.root)
    if Path(target).resolve() != Path(sm.output.manifest).resolve():
        raise DataError(f"rule output {sm.output.manifest} is not where fetch writes ({target})")
    manifest = fetch(sm.wildcards.dataset, p.source, root=p.root, mirror=p.mirror,
                     synthetic=p.synthetic)
    log(f"wrote {sm.output.manifest}: {len(manifest['files'])} files, synthetic={manifest['synthetic']}")
