# Data: fetch the raw files (download / mirror / synthetic) and prepare device-ready tensors.
# Needs DATA_CFG, RESULTS, raw_dir() and data_param() from rules/common.smk.


rule fetch_data:
    output:
        manifest=f"{raw_dir()}/{{dataset}}.manifest.json",
    log:
        f"{RESULTS}/logs/data/fetch_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/fetch_{{dataset}}.tsv"
    wildcard_constraints:
        dataset=r"fashion_mnist|kmnist|cifar10",
    localrule: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        source=DATA_CFG["source"],
        root=lambda wc, output: os.path.dirname(os.path.dirname(output.manifest)),
        mirror=data_param("mirror"),
        synthetic=data_param("synthetic"),
    script:
        "../workflow_scripts/fetch_data.py"


rule prepare_data:
    input:
        manifest=f"{raw_dir()}/{{dataset}}.manifest.json",
    output:
        data=f"{RESULTS}/data/{{dataset}}.pt",
    log:
        f"{RESULTS}/logs/data/prepare_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/prepare_{{dataset}}.tsv"
    wildcard_constraints:
        dataset=r"fashion_mnist|kmnist|cifar10",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow_scripts/prepare_data.py"
