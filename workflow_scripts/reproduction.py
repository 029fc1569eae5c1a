"""A study's reproduction and claims tables (rule `reproduction`): dlrepro.reproduction."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.ioutil import write_csv
from dlrepro.logutil import job_log
from dlrepro.reproduction.compare import claims_table, reproduction_table, summary
from dlrepro.reproduction.ours import StudyOutputs

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log:
    src = sm.params.sources
    outputs = StudyOutputs(
        runs={r: {"metrics": m, "final": f} for r, m, f in zip(src["run"], sm.input.metrics, sm.input.finals)},
        analyses=dict(zip(src["analysis"], sm.input.analyses)),
        tables=dict(zip(src["table"], sm.input.tables)),
    )
    table = reproduction_table(sm.wildcards.study, sm.params.numbers, outputs, sm.params.tolerances)
    claims = claims_table(sm.params.claims, sm.params.numbers, outputs)
    write_csv(sm.output.table, table)
    write_csv(sm.output.claims, claims)
    log(f"reproduction of {sm.wildcards.study}: {summary(table, claims)}")
