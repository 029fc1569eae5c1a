# Read first, before Snakemake reads them: config.yaml and every --configfile, strictly
# (a YAML error names file:line:column, a key given twice is an error, not last-one-wins;
# Snakemake's own reader says only "Config file is not valid JSON or YAML"). The Snakefile
# includes this file before its `configfile:`; rules/common.smk includes it too, for a
# Snakefile that includes the rules only (a second include is ignored).
import os
import sys

# the project: the folder above rules/ (config.yaml, studies/, dlrepro/), also when another
# Snakefile includes these rules
PROJECT = os.path.dirname(workflow.current_basedir)
# Jobs import the package beside this workflow, not another installed copy (a second
# clone, a conda env without it, a cluster node): PYTHONPATH reaches every job's process.
sys.path.insert(0, PROJECT)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        [PROJECT, *(p for p in os.getenv("PYTHONPATH", "").split(os.pathsep) if p and p != PROJECT)]
    )
)

from dlrepro.config import ConfigError
from dlrepro.config.command_line import check_config_files

try:
    check_config_files(["config.yaml", *map(str, workflow.overwrite_configfiles)])
except ConfigError as e:
    raise WorkflowError(str(e)) from None
