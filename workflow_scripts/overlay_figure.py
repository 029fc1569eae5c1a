"""One figure of several runs (rule `overlay_figure`): a metric per epoch (kind overlay),
or a final metric against a setting (kind final_vs_setting)."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.outputs.figures import final_vs_setting, overlay

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm):
    title = f"{sm.wildcards.study}: {sm.wildcards.name}"
    if sm.params.spec["kind"] == "final_vs_setting":
        final_vs_setting(list(sm.input.finals), sm.output[0], spec=sm.params.spec, title=title,
                         printed=sm.params.printed)
    else:
        overlay(list(sm.input.metrics), list(sm.input.finals), sm.output[0], spec=sm.params.spec, title=title)
