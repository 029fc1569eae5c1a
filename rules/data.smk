# Data: fetch the raw files (download / mirror / synthetic) and prepare device-ready tensors.
# Needs DATA_CFG (source, root, mirror, synthetic) and R from rules/common.smk.


def raw_dir():
    """The torchvision root of the configured source: {root}/real or {root}/synthetic."""
    sub = "synthetic" if DATA_CFG["source"] == "synthetic" else "real"
    return f"{DATA_CFG['root']}/{sub}"


def _data_param(key):
    """A data setting as a fetch param, only where the configured source uses it (so that,
    e.g., changing the synthetic sizes does not re-fetch real data)."""
    used = {"mirror": "mirror", "synthetic": "synthetic"}[key]
    return DATA_CFG.get(key) if DATA_CFG["source"] == used else None


rule fetch_data:
    output:
        manifest=f"{raw_dir()}/{{dataset}}.manifest.json",
    params:
        source=DATA_CFG["source"],
        root=DATA_CFG["root"],
        mirror=_data_param("mirror"),
        synthetic=_data_param("synthetic"),
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
    script:
        "../workflow_scripts/prepare_data.py"
