# Regenerates the figures and tables of five deep-learning write-ups.
#   snakemake --cores 8 --resources gpu=1                  # full preset (real data)
#   snakemake --cores 2 --config preset=smoke              # whole DAG, synthetic data, minutes
# See README.md; the studies are data in config.yaml.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"
report: "report/workflow.rst"


include: "rules/common.smk"

wildcard_constraints:
    study=r"[a-z][a-z0-9_]*",
    experiment=r"[a-z][a-z0-9_]*",
    run=r"[A-Za-z0-9_.+-]+",
    name=r"[a-z][a-z0-9_]*",
    dataset=r"fashion_mnist|kmnist|cifar10",


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/figures.smk"
include: "rules/scratch.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        lambda wc: TARGETS,
