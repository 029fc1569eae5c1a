"""Check every report page in headless Chromium and screenshot it (rule `report_screenshots`)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
import os

from dlrepro.ioutil import write_json
from dlrepro.logutil import job_log
from dlrepro.site.browser import check_site

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log:
    result = check_site(dict(sm.params.pages), os.path.dirname(sm.output.check))
    for name, c in result["pages"].items():
        log(f"{name}: {c.get('images', 0)} images, {c.get('tables', 0)} tables, "
            f"{len(c['problems'])} problems" + "".join(f"\n  - {p}" for p in c["problems"]))
    write_json(sm.output.check, result)
    if not result["ok"]:
        raise SystemExit("report check failed: " + "; ".join(
            f"{n}: {p}" for n, c in result["pages"].items() for p in c["problems"]))
