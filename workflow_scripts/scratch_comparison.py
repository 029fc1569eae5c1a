"""scratch_backprop: every number the write-up prints next to ours (rule `scratch_comparison`)."""
from dlrepro.logutil import job_log
from dlrepro.studies.scratch_backprop.stages import comparison_stage

sm = snakemake  # noqa: F821
with job_log(sm) as log:
    table = comparison_stage(sm.params.reported, sm.input.components, sm.input.stats, sm.input.gd_runs,
                             sm.input.gd_min, dict(zip(sm.params.runs, sm.input.metrics)),
                             {"table": sm.output.table, "summary": sm.output.summary})
    compared = table["match"].notna()
    log(f"{int(compared.sum())} values compared, {int((table['match'] == True).sum())} match; "  # noqa: E712
        f"{int((table['match'] == False).sum())} do not; {int((~compared).sum())} illegible in the write-up")  # noqa: E712
