# Training: one generic rule trains every torch run of every study; a range test's
# chosen LR bounds feed the cyclical-LR runs that name it (`schedule.bounds_from`).
# Each job's runtime and mem_mb come from its run's cost estimate; on a cluster, small CPU
# runs share the group `train_small` (profiles/slurm bundles them with group-components).


rule train:
    input:
        unpack(train_inputs),
    output:
        metrics=PATHS["metrics"],
        final=PATHS["final"],
        model=PATHS["model"],
    log:
        LOGS["train"],
    benchmark:
        BENCHMARKS["train"]
    wildcard_constraints:
        study=one_of(TORCH_STUDIES),
    group:
        train_group
    conda:
        CONDA_ENV
    threads: 1
    resources:
        gpu=lambda wc: wants_gpu(run_of(wc)),
        # from the run's cost estimate (rules/common.smk: train_job; config `cluster`); a
        # resubmitted job (profile `retries`, e.g. after a time-out) asks for twice the time
        # and resumes from its checkpoint
        mem_mb=lambda wc: train_job(wc)["mem_mb"],
        runtime=lambda wc, attempt: train_job(wc)["runtime"] * attempt,
    params:
        settings=lambda wc: run_of(wc).settings,
        key=lambda wc: run_of(wc).key,
        checkpoint_dir=lambda wc: f"{RESULTS}/.checkpoints/{wc.study}/{wc.experiment}/{wc.run}",
    script:
        "../workflow_scripts/train.py"


rule lr_bounds:
    """lr_min / lr_max chosen from an LR range test run (dlrepro.training.lr_finder)."""
    input:
        final=PATHS["final"],
    output:
        PATHS["lr_bounds"],
    log:
        f"{RESULTS}/logs/{{study}}/lr_bounds/{{experiment}}/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{study}}/lr_bounds/{{experiment}}/{{run}}.tsv"
    wildcard_constraints:
        study=one_of(TORCH_STUDIES),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow_scripts/lr_bounds.py"
