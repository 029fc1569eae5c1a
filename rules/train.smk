# One generic rule trains every torch run of every study.


def _train_inputs(wc):
    run = run_of(wc)
    inputs = {"data": f"{R}/data/{run.settings['dataset']}.pt"}
    if run.settings.get("init_from"):
        inputs["init"] = f"{R}/{run.study}/runs/{run.settings['init_from']}/model.pt"
    bounds = (run.settings.get("schedule") or {}).get("bounds_from")
    if bounds:  # e.g. a cyclical-LR run reads lr_min / lr_max found by an LR range test
        inputs["lr_bounds"] = f"{R}/{run.study}/runs/{bounds}/lr_bounds.json"
    return inputs


rule train:
    input:
        unpack(_train_inputs),
    output:
        metrics=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/metrics.csv",
        final=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/final.json",
        model=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/model.pt",
    params:
        settings=lambda wc: run_of(wc).settings,
        key=lambda wc: run_of(wc).key,
        checkpoint_dir=lambda wc: f"{R}/.checkpoints/{wc.study}/{wc.experiment}/{wc.run}",
    log:
        f"{R}/logs/{{study}}/train/{{experiment}}/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/train/{{experiment}}/{{run}}.tsv"
    threads: 1
    resources:
        gpu=lambda wc: wants_gpu(run_of(wc).settings),
        mem_mb=4000,
        runtime=lambda wc: 60 if PRESET == "smoke" else 720,
    script:
        "../workflow_scripts/train.py"


rule lr_bounds:
    """lr_min / lr_max chosen from an LR range test run by the rule in dlrepro.schedules.lr_finder."""
    input:
        final=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/final.json",
    output:
        f"{R}/{{study}}/runs/{{experiment}}/{{run}}/lr_bounds.json",
    log:
        f"{R}/logs/{{study}}/lr_bounds/{{experiment}}/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/lr_bounds/{{experiment}}/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow_scripts/lr_bounds.py"
