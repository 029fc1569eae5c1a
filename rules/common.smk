# Config loading, run expansion and path helpers shared by every stage.
import json
import os

from dlrepro.config import ConfigError, resolve

try:
    CFG = resolve(config)
except ConfigError as e:
    raise WorkflowError(str(e)) from None

R = CFG.results  # results/{preset}
PRESET = CFG.preset
DATA_CFG = CFG.data
SYNTHETIC = DATA_CFG["source"] == "synthetic"
TARGETS = []  # every final output; each stage adds its own
CAPTION = workflow.source_path("../report/captions/generic.rst")


wildcard_constraints:
    study=r"[a-z][a-z0-9_]*",
    experiment=r"[a-z][a-z0-9_]*",
    run=r"[A-Za-z0-9_.+-]+",
    name=r"[a-z][a-z0-9_]*",
    dataset=r"fashion_mnist|kmnist|cifar10",


def study_settings(study):
    """The `settings` mapping of a study that is not run by the torch engine."""
    return CFG.studies[study].get("settings", {})


def run_of(wc):
    return CFG.runs[f"{wc.study}/{wc.experiment}/{wc.run}"]


def run_dir(run):
    return f"{R}/{run.study}/runs/{run.experiment}/{run.name}"


def wants_gpu(settings):
    """Runs that benefit from a GPU ask for one; tiny MLP runs stay on CPU slots."""
    return 1 if settings["model"] not in ("kmnist_mlp", "fashion_mlp") else 0
