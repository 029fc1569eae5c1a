# scratch_backprop (seed 002): gradient descent and back-propagation in plain NumPy/SciPy.
# Jobs along the seed's sections: 1.1 gradient descent (scratch_gd); 1.2-1.4 components and
# gradient checks (scratch_components); 1.6 data (scratch_digits_data), one job per digits
# run (scratch_digits_run, checkpointed per epoch), their curves, the final-metrics table,
# and the seed-vs-ours acceptance table (scratch_comparison).
# Needs R, CFG, TARGETS and the SB_* helpers from rules/common.smk.
if SB in CFG.studies:

    rule scratch_gd:
        output:
            runs=_sb_tab("gd_runs", "1.1 gradient descent"),
            paths=_sb_tab("gd_paths", "1.1 gradient descent"),
            grid=_sb_tab("gd_step_grid", "1.1 gradient descent"),
            global_min=_sb_tab("gd_global_minimum", "1.1 gradient descent"),
            contour=_sb_fig("gd_contour_paths", "1.1 gradient descent"),
            values=_sb_fig("gd_f_along_path", "1.1 gradient descent"),
            heatmap=_sb_fig("gd_step_grid_heatmap", "1.1 gradient descent"),
        params:
            settings=SB_SET["gd"],
        log:
            f"{R}/logs/{SB}/scratch_gd.log",
        benchmark:
            f"{R}/benchmarks/{SB}/scratch_gd.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            CONDA_ENV
        script:
            "../workflow_scripts/scratch_gd.py"

    rule scratch_components:
        output:
            values=f"{SB_R}/values/components.json",
            central=_sb_tab("gradient_checks_central", "1.2-1.4 components"),
            check_grad=_sb_tab("gradient_checks_scipy", "1.2-1.4 components"),
            activations=_sb_fig("activations", "1.2-1.4 components"),
        params:
            settings=SB_SET["components"],
        log:
            f"{R}/logs/{SB}/scratch_components.log",
        benchmark:
            f"{R}/benchmarks/{SB}/scratch_components.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            CONDA_ENV
        script:
            "../workflow_scripts/scratch_components.py"

    rule scratch_digits_data:
        output:
            split=f"{SB_R}/data/digits_binary.npz",
            stats=f"{SB_R}/data/digits_binary.stats.json",
        params:
            settings={k: SB_SET["digits"][k] for k in ("positive_below", "train_prop", "split_seed")},
        log:
            f"{R}/logs/{SB}/scratch_digits_data.log",
        benchmark:
            f"{R}/benchmarks/{SB}/scratch_digits_data.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            CONDA_ENV
        script:
            "../workflow_scripts/scratch_digits_data.py"

    rule scratch_digits_run:
        input:
            split=rules.scratch_digits_data.output.split,
        output:
            metrics=f"{SB_R}/runs/digits/{{run}}/metrics.csv",
            final=f"{SB_R}/runs/digits/{{run}}/final.json",
        params:
            plan=lambda wc: SB_PLANS[wc.run],
            checkpoint_dir=lambda wc: f"{R}/.checkpoints/{SB}/digits/{wc.run}",
        wildcard_constraints:
            run="|".join(_sb_re.escape(n) for n in SB_PLANS),
        log:
            f"{R}/logs/{SB}/scratch_digits_run/{{run}}.log",
        benchmark:
            f"{R}/benchmarks/{SB}/scratch_digits_run/{{run}}.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=30,
        conda:
            CONDA_ENV
        script:
            "../workflow_scripts/scratch_digits_run.py"

    rule scratch_digits_curves:
        input:
            metrics=f"{SB_R}/runs/digits/{{run}}/metrics.csv",
        output:
            report(f"{SB_R}/figures/digits_curves_{{run}}.png", caption=SB_CAPTION, category=SB,
                   subcategory="1.6 digits runs", labels={"figure": "learning curves", "run": "{run}"}),
        params:
            title=_sb_curves_title,
            reported=_sb_curves_reported,
        wildcard_constraints:
            run="|".join(_sb_re.escape(n) for n in SB_PLANS),
        log:
            f"{R}/logs/{SB}/scratch_digits_curves/{{run}}.log",
        benchmark:
            f"{R}/benchmarks/{SB}/scratch_digits_curves/{{run}}.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            CONDA_ENV
        script:
            "../workflow_scripts/scratch_digits_curves.py"

    rule scratch_digits_final:
        input:
            finals=[f"{SB_R}/runs/digits/{n}/final.json" for n in SB_PLANS],
        output:
            _sb_tab("digits_final", "1.6 digits runs"),
        params:
            labels=SB_LABELS,
        log:
            f"{R}/logs/{SB}/scratch_digits_final.log",
        benchmark:
            f"{R}/benchmarks/{SB}/scratch_digits_final.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            CONDA_ENV
        script:
            "../workflow_scripts/scratch_digits_final.py"

    rule scratch_comparison:
        input:
            components=rules.scratch_components.output.values,
            stats=rules.scratch_digits_data.output.stats,
            gd_runs=rules.scratch_gd.output.runs,
            gd_min=rules.scratch_gd.output.global_min,
            metrics=[f"{SB_R}/runs/digits/{n}/metrics.csv" for n in SB_REPORTED_RUNS],
        output:
            table=_sb_tab("seed_comparison", "acceptance: seed vs ours"),
            summary=_sb_tab("seed_comparison_summary", "acceptance: seed vs ours"),
        params:
            reported=SB_REPORTED,
            runs=SB_REPORTED_RUNS,
        log:
            f"{R}/logs/{SB}/scratch_comparison.log",
        benchmark:
            f"{R}/benchmarks/{SB}/scratch_comparison.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            CONDA_ENV
        script:
            "../workflow_scripts/scratch_comparison.py"

    TARGETS.extend(
        [f"{SB_R}/tables/{n}.csv" for n in ("gd_runs", "gd_paths", "gd_step_grid", "gd_global_minimum",
                                             "gradient_checks_central", "gradient_checks_scipy",
                                             "digits_final", "seed_comparison", "seed_comparison_summary")]
        + [f"{SB_R}/figures/{n}.png" for n in ("gd_contour_paths", "gd_f_along_path",
                                               "gd_step_grid_heatmap", "activations")]
        + [f"{SB_R}/figures/digits_curves_{n}.png" for n in SB_PLANS]
    )
