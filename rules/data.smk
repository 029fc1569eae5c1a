# Data: fetch the raw files (download / mirror / synthetic) and prepare device-ready tensors.
# Needs DATA_CFG, R, raw_dir() and data_param() from rules/common.smk.


rule fetch_data:
    output:
        manifest=f"{raw_dir()}/{{dataset}}.manifest.json",
    params:
        source=DATA_CFG["source"],
        root=lambda wc, output: os.path.dirname(os.path.dirname(output.manifest)),
        mirror=data_param("mirror"),
        synthetic=data_param("synthetic"),
    wildcard_constraints:
        dataset=r"fashion_mnist|kmnist|cifar10",
    log:
        f"{R}/logs/data/fetch_{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/data/fetch_{{dataset}}.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/fetch_data.py"


rule prepare_data:
    input:
        manifest=f"{raw_dir()}/{{dataset}}.manifest.json",
    output:
        data=f"{R}/data/{{dataset}}.pt",
    wildcard_constraints:
        dataset=r"fashion_mnist|kmnist|cifar10",
    log:
        f"{R}/logs/data/prepare_{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/data/prepare_{{dataset}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        CONDA_ENV
    script:
        "../workflow_scripts/prepare_data.py"
