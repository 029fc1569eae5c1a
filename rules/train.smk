# One generic rule trains every torch run of every study.


rule train:
    input:
        unpack(train_inputs),
    output:
        metrics=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/metrics.csv",
        final=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/final.json",
        model=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/model.pt",
    params:
        settings=lambda wc: run_of(wc).settings,
        key=lambda wc: run_of(wc).key,
        checkpoint_dir=lambda wc: f"{R}/.checkpoints/{wc.study}/{wc.experiment}/{wc.run}",
    wildcard_constraints:
        study=TORCH_STUDIES,
    log:
        f"{R}/logs/{{study}}/train/{{experiment}}/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/train/{{experiment}}/{{run}}.tsv"
    threads: 1
    resources:
        gpu=lambda wc: wants_gpu(run_of(wc).settings),
        mem_mb=4000,
        runtime=lambda wc: 60 if PRESET == "smoke" else 720,
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/train.py"


rule lr_bounds:
    """lr_min / lr_max chosen from an LR range test run by the rule in dlrepro.training.schedules.lr_finder."""
    input:
        final=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/final.json",
    output:
        f"{R}/{{study}}/runs/{{experiment}}/{{run}}/lr_bounds.json",
    wildcard_constraints:
        study=TORCH_STUDIES,
    log:
        f"{R}/logs/{{study}}/lr_bounds/{{experiment}}/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/lr_bounds/{{experiment}}/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/lr_bounds.py"
