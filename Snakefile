# Regenerates the figures and tables of five deep-learning write-ups.
#   snakemake --cores 8 --resources gpu=1                  # full preset (real data)
#   snakemake --cores 2 --config preset=smoke              # whole DAG, synthetic data, minutes
# See README.md; config.yaml holds the build settings, studies/ the studies as data.
from snakemake.utils import min_version

min_version("9.0")


include: "rules/config.smk"  # config.yaml and --configfile read strictly first (file:line errors)


configfile: "config.yaml"


report: "report/workflow.rst"


wildcard_constraints:
    study=r"[a-z][a-z0-9_]*",
    experiment=r"[a-z][a-z0-9_]*",
    run=r"[A-Za-z0-9_.+-]+",
    name=r"[a-z][a-z0-9_]*",
    dataset=r"fashion_mnist|kmnist|cifar10",


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/figures.smk"
include: "rules/reproduction.smk"
include: "rules/scratch_backprop.smk"
include: "rules/report.smk"


# A local build runs its Python jobs in one warm job server (config `jobserver`): each job
# forks from a process that has imported torch and pandas already (dlrepro/jobserver.py).
onstart:
    jobserver.start(config.get("jobserver", "auto"), local=workflow.local_exec and not workflow.touch)


onsuccess:
    jobserver.stop()


onerror:
    jobserver.stop()


rule all:
    default_target: True
    input:
        all_targets(),
