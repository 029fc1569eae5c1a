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
CONDA_ENV = "../envs/dlrepro.yaml"  # relative to the rule files


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
    """Runs that benefit from a GPU ask for one (the `gpu` resource; on SLURM --gpus=1);
    tiny MLP runs stay on CPU slots, and nothing asks for one when `device: cpu`."""
    if CFG.device == "cpu":
        return 0
    return 1 if settings["model"] not in ("kmnist_mlp", "fashion_mlp") else 0


# ---------------------------------------------------------------- data
def raw_dir():
    """The torchvision root of the configured source: {root}/real or {root}/synthetic."""
    sub = "synthetic" if DATA_CFG["source"] == "synthetic" else "real"
    return f"{DATA_CFG['root']}/{sub}"


def data_param(key):
    """A data setting as a fetch param, only where the configured source uses it (so that,
    e.g., changing the synthetic sizes does not re-fetch real data)."""
    used = {"mirror": "mirror", "synthetic": "synthetic"}[key]
    return DATA_CFG.get(key) if DATA_CFG["source"] == used else None


# ---------------------------------------------------------------- training
def train_inputs(wc):
    """The prepared dataset, plus the weights of an `init_from` run and the LR bounds of a
    `bounds_from` range test where the run names them."""
    run = run_of(wc)
    inputs = {"data": f"{R}/data/{run.settings['dataset']}.pt"}
    if run.settings.get("init_from"):
        inputs["init"] = f"{R}/{run.study}/runs/{run.settings['init_from']}/model.pt"
    bounds = (run.settings.get("schedule") or {}).get("bounds_from")
    if bounds:  # e.g. a cyclical-LR run reads lr_min / lr_max found by an LR range test
        inputs["lr_bounds"] = f"{R}/{run.study}/runs/{bounds}/lr_bounds.json"
    return inputs
