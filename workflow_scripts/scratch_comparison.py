"""scratch_backprop: every number the write-up printed next to ours, and its claims (rule
`scratch_comparison`), through the one comparison of dlrepro.reproduction."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.logutil import job_log
from dlrepro.reproduction.compare import summary
from dlrepro.studies.scratch_backprop.stages import comparison_stage

sm = snakemake  # noqa: F821
with job_log(sm) as log:
    ledger = {"numbers": sm.params.numbers, "claims": sm.params.claims}
    table = comparison_stage(ledger, sm.params.tolerances, sm.input.components, sm.input.stats, sm.input.gd_runs,
                             sm.input.gd_min, dict(zip(sm.params.runs, sm.input.metrics)),
                             {"table": sm.output.table, "claims": sm.output.claims, "summary": sm.output.summary})
    log(f"reproduction: {summary(table)}")
