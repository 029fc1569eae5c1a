"""A computed figure or table (rule `analysis`): dlrepro.outputs.analyses.run_analysis."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.outputs.analyses import run_analysis, run_files_by_key

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm):
    spec = sm.params.spec
    runs = run_files_by_key(list(sm.input.get("runs", [])), spec["runs"]) if spec.get("runs") else None
    run_analysis(spec, sm.output[0], data_path=sm.input.get("data"), runs=runs, printed=sm.params.printed)
