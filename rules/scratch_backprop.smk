# scratch_backprop (seed 002): gradient descent and back-propagation in plain NumPy/SciPy.
# Jobs along the write-up's sections: 1.1 gradient descent (scratch_gd); 1.2-1.4 components
# and gradient checks (scratch_components); 1.6 data (scratch_digits_data), one job per
# digits run (scratch_digits_run, checkpointed per epoch), their curves, the final-metrics
# table, and the write-up-vs-ours acceptance table (scratch_comparison).
# The study's own DAG helpers are here; RESULTS, CFG, CONDA_ENV come from rules/common.smk.
BACKPROP = "scratch_backprop"

if BACKPROP in CFG.studies:
    from dlrepro.studies.scratch_backprop import dag as backprop_dag
    from dlrepro.studies.scratch_backprop.digits import run_plans as backprop_run_plans

    BACKPROP_SETTINGS = study_settings(BACKPROP)
    BACKPROP_DIR = backprop_dag.study_dir(RESULTS)
    BACKPROP_CAPTION = "../report/captions/generic.rst"
    BACKPROP_PLANS = backprop_run_plans(BACKPROP_SETTINGS["digits"])  # run name -> self-contained plan
    BACKPROP_LABELS = {r["name"]: r.get("label", r["name"]) for r in BACKPROP_SETTINGS["digits"]["runs"]}
    BACKPROP_LEDGER = CFG.ledgers[BACKPROP]  # the write-up's numbers and claims (studies/*.printed.yaml)
    BACKPROP_PRINTED_RUNS = [
        n for n in backprop_dag.printed_runs(BACKPROP_LEDGER["numbers"]) if n in BACKPROP_PLANS
    ]

    BACKPROP_OUT = {
        **{
            name: report(
                backprop_dag.table_path(RESULTS, name),
                caption=BACKPROP_CAPTION,
                category=BACKPROP,
                subcategory=sub,
                labels={"table": name},
            )
            for name, (_, sub) in backprop_dag.TABLES.items()
        },
        **{
            name: report(
                backprop_dag.figure_path(RESULTS, name),
                caption=BACKPROP_CAPTION,
                category=BACKPROP,
                subcategory=sub,
                labels={"figure": name},
            )
            for name, (_, sub) in backprop_dag.FIGURES.items()
        },
    }

    rule scratch_gd:
        output:
            runs=BACKPROP_OUT["gd_runs"],
            paths=BACKPROP_OUT["gd_paths"],
            grid=BACKPROP_OUT["gd_step_grid"],
            global_min=BACKPROP_OUT["gd_global_minimum"],
            contour=BACKPROP_OUT["gd_contour_paths"],
            values=BACKPROP_OUT["gd_f_along_path"],
            heatmap=BACKPROP_OUT["gd_step_grid_heatmap"],
        log:
            backprop_dag.log_path(RESULTS, "scratch_gd"),
        benchmark:
            backprop_dag.benchmark_path(RESULTS, "scratch_gd")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            settings=BACKPROP_SETTINGS["gd"],
        script:
            "../workflow_scripts/scratch_gd.py"

    rule scratch_components:
        output:
            values=f"{BACKPROP_DIR}/values/components.json",
            central=BACKPROP_OUT["gradient_checks_central"],
            check_grad=BACKPROP_OUT["gradient_checks_scipy"],
            activations=BACKPROP_OUT["activations"],
        log:
            backprop_dag.log_path(RESULTS, "scratch_components"),
        benchmark:
            backprop_dag.benchmark_path(RESULTS, "scratch_components")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            settings=BACKPROP_SETTINGS["components"],
        script:
            "../workflow_scripts/scratch_components.py"

    rule scratch_digits_data:
        output:
            split=f"{BACKPROP_DIR}/data/digits_binary.npz",
            stats=f"{BACKPROP_DIR}/data/digits_binary.stats.json",
            samples=BACKPROP_OUT["digits_samples"],
        log:
            backprop_dag.log_path(RESULTS, "scratch_digits_data"),
        benchmark:
            backprop_dag.benchmark_path(RESULTS, "scratch_digits_data")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            settings={
                k: BACKPROP_SETTINGS["digits"][k] for k in ("positive_below", "train_prop", "split_seed")
            },
        script:
            "../workflow_scripts/scratch_digits_data.py"

    rule scratch_digits_run:
        input:
            split=rules.scratch_digits_data.output.split,
        output:
            metrics=f"{BACKPROP_DIR}/runs/digits/{{run}}/metrics.csv",
            final=f"{BACKPROP_DIR}/runs/digits/{{run}}/final.json",
        log:
            backprop_dag.log_path(RESULTS, "scratch_digits_run/{run}"),
        benchmark:
            backprop_dag.benchmark_path(RESULTS, "scratch_digits_run/{run}")
        wildcard_constraints:
            run=one_of(BACKPROP_PLANS),
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=30,
        params:
            plan=lambda wc: BACKPROP_PLANS[wc.run],
            checkpoint_dir=lambda wc: f"{RESULTS}/.checkpoints/{BACKPROP}/digits/{wc.run}",
        script:
            "../workflow_scripts/scratch_digits_run.py"

    rule scratch_digits_curves:
        input:
            metrics=f"{BACKPROP_DIR}/runs/digits/{{run}}/metrics.csv",
        output:
            report(
                f"{BACKPROP_DIR}/figures/digits_curves_{{run}}.png",
                caption=BACKPROP_CAPTION,
                category=BACKPROP,
                subcategory="1.6 digits runs",
                labels={"figure": "learning curves", "run": "{run}"},
            ),
        log:
            backprop_dag.log_path(RESULTS, "scratch_digits_curves/{run}"),
        benchmark:
            backprop_dag.benchmark_path(RESULTS, "scratch_digits_curves/{run}")
        wildcard_constraints:
            run=one_of(BACKPROP_PLANS),
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            title=lambda wc: backprop_dag.curves_title(BACKPROP_PLANS[wc.run], wc.run, BACKPROP_LABELS),
            printed=lambda wc: backprop_dag.printed_epochs(
                BACKPROP_PLANS[wc.run], BACKPROP_LEDGER["numbers"], wc.run
            ),
        script:
            "../workflow_scripts/scratch_digits_curves.py"

    rule scratch_digits_final:
        input:
            finals=[f"{BACKPROP_DIR}/runs/digits/{n}/final.json" for n in BACKPROP_PLANS],
        output:
            BACKPROP_OUT["digits_final"],
        log:
            backprop_dag.log_path(RESULTS, "scratch_digits_final"),
        benchmark:
            backprop_dag.benchmark_path(RESULTS, "scratch_digits_final")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            labels=BACKPROP_LABELS,
        script:
            "../workflow_scripts/scratch_digits_final.py"

    rule scratch_comparison:
        input:
            code=library_dir("reproduction"),
            components=rules.scratch_components.output.values,
            stats=rules.scratch_digits_data.output.stats,
            gd_runs=rules.scratch_gd.output.runs,
            gd_min=rules.scratch_gd.output.global_min,
            metrics=[f"{BACKPROP_DIR}/runs/digits/{n}/metrics.csv" for n in BACKPROP_PRINTED_RUNS],
        output:
            table=BACKPROP_OUT["reproduction"],
            claims=BACKPROP_OUT["claims"],
            summary=BACKPROP_OUT["reproduction_summary"],
        log:
            backprop_dag.log_path(RESULTS, "scratch_comparison"),
        benchmark:
            backprop_dag.benchmark_path(RESULTS, "scratch_comparison")
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            # the ledger and the tolerances (not run settings: editing them reruns this job only)
            numbers=BACKPROP_LEDGER["numbers"],
            claims=BACKPROP_LEDGER["claims"],
            tolerances=study_tolerances(BACKPROP),
            runs=BACKPROP_PRINTED_RUNS,
        script:
            "../workflow_scripts/scratch_comparison.py"

    STUDY_TARGETS[BACKPROP] = lambda: backprop_dag.targets(RESULTS, list(BACKPROP_PLANS))
