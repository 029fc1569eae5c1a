# Figures and tables of the torch studies, built from run outputs only (no training).
# Helpers (run selection, specs, targets) live in rules/common.smk.


rule run_curves:
    input:
        code=library("outputs/figures.py", "outputs/plotting.py"),
        metrics=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/metrics.csv",
        final=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/final.json",
    output:
        report(
            f"{R}/{{study}}/figures/curves/{{experiment}}/{{run}}.png",
            caption=CAPTION,
            category="{study}",
            subcategory="curves: {experiment}",
            labels={"figure": "learning curves", "run": "{experiment}/{run}"},
        ),
    params:
        title=lambda wc: f"{wc.study}: {wc.experiment}/{wc.run}",
        caption=lambda wc: CFG.studies[wc.study]["figures"].get("curves", {}).get(
            "caption", "Learning curves") + f" ({wc.experiment}/{wc.run}).",
    wildcard_constraints:
        study=TORCH_STUDIES,
    log:
        f"{R}/logs/{{study}}/figures/curves/{{experiment}}/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/figures/curves/{{experiment}}/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/run_curves.py"



rule overlay_figure:
    input:
        code=library("outputs/figures.py", "outputs/plotting.py"),
        metrics=lambda wc: [f"{run_dir(r)}/metrics.csv" for r in _runs_for(wc.study, _fig_spec(wc))],
        finals=lambda wc: [f"{run_dir(r)}/final.json" for r in _runs_for(wc.study, _fig_spec(wc))],
    output:
        report(
            f"{R}/{{study}}/figures/{{name}}.png",
            caption=CAPTION,
            category="{study}",
            subcategory="figures",
            labels={"figure": "{name}"},
        ),
    params:
        spec=_fig_spec,
        labels=lambda wc: [r.key for r in _runs_for(wc.study, _fig_spec(wc))],
        caption=lambda wc: _fig_spec(wc)["caption"],
        # the write-up's numbers, drawn only by kind final_vs_setting with show_reported
        reported=lambda wc: {r.key: r.reported for r in _runs_for(wc.study, _fig_spec(wc))}
        if _fig_spec(wc).get("show_reported") else {},
    wildcard_constraints:
        study=TORCH_STUDIES,
    log:
        f"{R}/logs/{{study}}/figures/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/figures/{{name}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/overlay_figure.py"



rule run_table:
    input:
        code=library("outputs/tables.py"),
        finals=lambda wc: [f"{run_dir(r)}/final.json" for r in _runs_for(wc.study, _tab_spec(wc))],
        metrics=lambda wc: [f"{run_dir(r)}/metrics.csv" for r in _runs_for(wc.study, _tab_spec(wc))],
    output:
        report(
            f"{R}/{{study}}/tables/{{name}}.csv",
            caption=CAPTION,
            category="{study}",
            subcategory="tables",
            labels={"table": "{name}"},
        ),
    params:
        spec=_tab_spec,
        reported=lambda wc: {r.key: r.reported for r in _runs_for(wc.study, _tab_spec(wc))},
        caption=lambda wc: _tab_spec(wc)["caption"],
    wildcard_constraints:
        study=TORCH_STUDIES,
    log:
        f"{R}/logs/{{study}}/tables/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/tables/{{name}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/run_table.py"



rule analysis:
    input:
        unpack(_analysis_input),
    output:
        report(
            f"{R}/{{study}}/analysis/{{name}}.{{ext}}",
            caption=CAPTION,
            category="{study}",
            subcategory="computed",
            labels={"analysis": "{name}"},
        ),
    params:
        spec=_analysis_spec,
        caption=lambda wc: _analysis_spec(wc)["caption"],
    wildcard_constraints:
        ext="png|csv",
    log:
        f"{R}/logs/{{study}}/analysis/{{name}}.{{ext}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/analysis/{{name}}.{{ext}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/analysis.py"
