# Figures, tables and computed analyses of the torch studies, built from run outputs only
# (no training). Path patterns and spec helpers live in rules/common.smk.


rule run_curves:
    input:
        code=library("outputs/figures.py", "outputs/plotting.py"),
        metrics=PATHS["metrics"],
        final=PATHS["final"],
    output:
        report(
            PATHS["curves"],
            caption=CAPTION,
            category="{study}",
            subcategory="curves: {experiment}",
            labels={"figure": "learning curves", "run": "{experiment}/{run}"},
        ),
    log:
        LOGS["curves"],
    benchmark:
        BENCHMARKS["curves"]
    wildcard_constraints:
        study=one_of(TORCH_STUDIES),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        title=lambda wc: f"{wc.study}: {wc.experiment}/{wc.run}",
        caption=lambda wc: CFG.studies[wc.study]["figures"]
        .get("curves", {})
        .get("caption", "Learning curves")
        + f" ({wc.experiment}/{wc.run}).",
    script:
        "../workflow_scripts/run_curves.py"


rule overlay_figure:
    input:
        code=library("outputs/figures.py", "outputs/plotting.py"),
        metrics=lambda wc: run_files("metrics", wc, figure_spec),
        finals=lambda wc: run_files("final", wc, figure_spec),
    output:
        report(
            PATHS["figure"],
            caption=CAPTION,
            category="{study}",
            subcategory="figures",
            labels={"figure": "{name}"},
        ),
    log:
        LOGS["figure"],
    benchmark:
        BENCHMARKS["figure"]
    wildcard_constraints:
        study=one_of(TORCH_STUDIES),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        spec=figure_spec,
        labels=lambda wc: [r.key for r in runs_for(wc.study, figure_spec(wc))],
        caption=lambda wc: figure_spec(wc)["caption"],
        # the write-up's numbers (the ledger's), drawn only by kind final_vs_setting with show_printed
        printed=lambda wc: (
            printed_of(wc.study, figure_spec(wc)) if figure_spec(wc).get("show_printed") else {}
        ),
    script:
        "../workflow_scripts/overlay_figure.py"


rule run_table:
    input:
        code=library("outputs/tables.py"),
        finals=lambda wc: run_files("final", wc, table_spec),
        metrics=lambda wc: run_files("metrics", wc, table_spec),
    output:
        report(
            PATHS["table"],
            caption=CAPTION,
            category="{study}",
            subcategory="tables",
            labels={"table": "{name}"},
        ),
    log:
        LOGS["table"],
    benchmark:
        BENCHMARKS["table"]
    wildcard_constraints:
        study=one_of(TORCH_STUDIES),
        name=r"(?!reproduction\b|claims\b)[a-z][a-z0-9_]*",  # those two: rule reproduction
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        spec=table_spec,
        printed=lambda wc: printed_of(wc.study, table_spec(wc)),
        caption=lambda wc: table_spec(wc)["caption"],
    script:
        "../workflow_scripts/run_table.py"


rule runs_table:
    """Every torch run of the build in one tidy table: a row per run (dlrepro.outputs.runs_table)."""
    input:
        code=library("outputs/runs_table.py"),
        finals=[run_path("final", r) for r in CFG.runs.values()],
    output:
        report(
            PATHS["runs"],
            caption=CAPTION,
            category="all runs",
            labels={"table": "runs.csv"},
        ),
    log:
        f"{RESULTS}/logs/runs_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/runs_table.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        caption="Every torch run of this build, one row each: study, experiment, run, status, device, "
        "seconds, final-epoch and test metrics, the spread over seeds of a replicated run, and every "
        "setting as a dotted column (``optimizer.lr``). Read it with ``pandas.read_csv``.",
    script:
        "../workflow_scripts/runs_table.py"


rule analysis:
    input:
        unpack(analysis_inputs),
        code=library(
            "outputs/analyses.py",
            "outputs/training_analyses.py",
            "outputs/plotting.py",
            "studies/optim_clr_cutout/analyses.py",
            "studies/optim_clr_cutout/arithmetic.py",
            "studies/optim_clr_cutout/architectures.py",
        ),
    output:
        report(
            PATHS["analysis"],
            caption=CAPTION,
            category="{study}",
            subcategory="computed",
            labels={"analysis": "{name}"},
        ),
    log:
        LOGS["analysis"],
    benchmark:
        BENCHMARKS["analysis"]
    wildcard_constraints:
        ext="png|csv",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        spec=analysis_spec,
        caption=lambda wc: analysis_spec(wc)["caption"],
        # the parts of the ledger's transcripts (the write-up's printed tables) it reads
        printed=lambda wc: {
            k: CFG.ledgers[wc.study]["transcripts"].get(k) for k in analysis_spec(wc).get("transcripts", [])
        },
    script:
        "../workflow_scripts/analysis.py"
