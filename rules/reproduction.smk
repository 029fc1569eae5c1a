# The reproduction ledger: every number a write-up printed beside ours, with a verdict, and
# its claims evaluated on its numbers and on ours (dlrepro.reproduction). One job per study;
# it reads only the outputs its ledger names (no training). The NumPy study builds the same
# two tables in its own rule file (rules/scratch_backprop.smk, rule scratch_comparison).


rule reproduction:
    input:
        unpack(reproduction_inputs),
        code=library_dir("reproduction"),
    output:
        table=report(
            PATHS["reproduction"],
            caption=CAPTION,
            category="{study}",
            subcategory="reproduction",
            labels={"table": "reproduction"},
        ),
        claims=report(
            PATHS["claims"],
            caption=CAPTION,
            category="{study}",
            subcategory="reproduction",
            labels={"table": "claims"},
        ),
    log:
        LOGS["reproduction"],
    benchmark:
        BENCHMARKS["reproduction"]
    wildcard_constraints:
        study=one_of(LEDGER_STUDIES),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # the ledger and the tolerances: editing a printed number reruns this job (and the
        # page), never a run
        numbers=lambda wc: CFG.ledgers[wc.study]["numbers"],
        claims=lambda wc: CFG.ledgers[wc.study]["claims"],
        tolerances=lambda wc: study_tolerances(wc.study),
        sources=lambda wc: ledger_sources(wc.study),
    script:
        "../workflow_scripts/reproduction.py"
