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


def library(*modules):
    """Library modules that drawing jobs depend on, as inputs: Snakemake tracks a job's
    script but not what it imports, so editing e.g. dlrepro/outputs/figures.py redraws every
    figure (and retrains nothing: training does not list the engine). Relative paths: an
    absolute one is recorded in the metadata, and a copied or moved build would redraw."""
    return [os.path.relpath(os.path.join(workflow.basedir, "dlrepro", m)) for m in modules]




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


# ---------------------------------------------------------------- figures, tables, analyses
TORCH_STUDIES = "|".join(s for s, v in CFG.studies.items() if v["engine"] == "torch") or "no_torch_study"



def _runs_for(study, spec):
    return CFG.study_runs(study, spec.get("experiments"), spec.get("where"))



def _fig_spec(wc):
    return CFG.studies[wc.study]["figures"][wc.name]



def _tab_spec(wc):
    return CFG.studies[wc.study]["tables"][wc.name]



def torch_study_targets(study):
    spec = CFG.studies[study]
    out = []
    for name, fig in spec.get("figures", {}).items():
        if fig["kind"] == "run_curves":
            out += [f"{R}/{study}/figures/curves/{r.experiment}/{r.name}.png"
                    for r in _runs_for(study, fig)]
        else:
            out.append(f"{R}/{study}/figures/{name}.png")
    out += [f"{R}/{study}/tables/{name}.csv" for name in spec.get("tables", {})]
    return out



def _analysis_spec(wc):
    return CFG.studies[wc.study]["analyses"][wc.name]



def analysis_run_files(study, spec):
    """Files of the runs an analysis reads (its optional `runs: [experiment/run, ...]`):
    final.json and metrics.csv of each, and lr_bounds.json of a recorded range test."""
    files = []
    for key in spec.get("runs", []):
        run = CFG.runs[f"{study}/{key}"]
        files += [f"{run_dir(run)}/final.json", f"{run_dir(run)}/metrics.csv"]
        if (run.settings.get("schedule") or {}).get("name") == "range_test" and \
                run.settings.get("loop", {}).get("record_batches"):
            files.append(f"{run_dir(run)}/lr_bounds.json")
    return files



def _analysis_input(wc):
    spec = _analysis_spec(wc)
    inputs = {"data": f"{R}/data/{spec['dataset']}.pt"} if spec.get("dataset") else {}
    if spec.get("runs"):
        inputs["runs"] = analysis_run_files(wc.study, spec)
    return inputs



def analysis_targets(study):
    ext = {"figure": "png", "table": "csv"}
    return [f"{R}/{study}/analysis/{name}.{ext[a['output']]}"
            for name, a in CFG.studies[study].get("analyses", {}).items()]



for _study, _spec in CFG.studies.items():
    if _spec["engine"] == "torch":
        TARGETS.extend(torch_study_targets(_study))
    TARGETS.extend(analysis_targets(_study))


# ---------------------------------------------------------------- scratch_backprop (seed 002)
import re as _sb_re

from dlrepro.studies.scratch_backprop.digits import run_plans as _sb_run_plans

SB = "scratch_backprop"

if SB in CFG.studies:
    SB_SET = study_settings(SB)
    SB_R = f"{R}/{SB}"
    SB_CAPTION = "../report/captions/generic.rst"
    SB_PLANS = _sb_run_plans(SB_SET["digits"])  # run name -> self-contained plan
    SB_LABELS = {r["name"]: r.get("label", r["name"]) for r in SB_SET["digits"]["runs"]}
    SB_REPORTED = SB_SET.get("reported", {})
    SB_REPORTED_RUNS = [n for n in SB_REPORTED.get("epochs", {}) if n in SB_PLANS]

    def _sb_tab(name, sub):
        return report(f"{SB_R}/tables/{name}.csv", caption=SB_CAPTION, category=SB, subcategory=sub,
                      labels={"table": name})

    def _sb_fig(name, sub):
        return report(f"{SB_R}/figures/{name}.png", caption=SB_CAPTION, category=SB, subcategory=sub,
                      labels={"figure": name})

    def _sb_curves_reported(wc):
        """The seed's printed epochs of this run (markers on the as-run curves only)."""
        return SB_REPORTED.get("epochs", {}).get(wc.run) if SB_PLANS[wc.run]["init"] == "seed" else None

    def _sb_curves_title(wc):
        p = SB_PLANS[wc.run]
        base = wc.run[: -len("_xavier")] if p["init"] == "xavier" else wc.run
        variant = "fixed: Xavier init" if p["init"] == "xavier" else "as run"
        return (f"{wc.run} ({SB_LABELS.get(base, base)}; {variant}): {' '.join(p['layers'])}, "
                f"{p['epochs']} epochs, lr {p['learning_rate']:g}, mb {p['mb_size']}")


# ---------------------------------------------------------------- report site
import functools as _rp_functools
import re as _rp_re

from dlrepro import site as _rp


REPORT_DIR = f"{R}/report"



REPORT_STUDIES = list(CFG.studies)



def _rp_is_report(path):
    return path.startswith(f"{REPORT_DIR}/")



def report_study_outputs(study):
    """Every final output of a study (figures, tables, analyses), in TARGETS order."""
    prefix = f"{R}/{study}/"
    return list(dict.fromkeys(t for t in TARGETS if t.startswith(prefix) and not _rp_is_report(t)))


@_rp_functools.lru_cache(maxsize=None)



def _rp_benchmark_of(path):
    """The benchmark file of the job that makes ``path``: None if its rule keeps none, or
    if more than one rule could make it (no guessing - a wrong guess would be an input that
    no job makes; the page still counts every benchmark file under the study's folder)."""
    found = set()
    for r in workflow.rules:
        if not r.is_producer(path):
            continue
        if r.benchmark is None or callable(r.benchmark):
            return None
        try:
            found.add(r.benchmark.apply_wildcards(r.get_wildcards(path)))
        except Exception:  # a rule whose output matches but whose wildcards do not apply
            continue
    return found.pop() if len(found) == 1 else None



def report_study_benchmarks(study):
    """Benchmark TSVs of the study's outputs and of its training runs."""
    paths = report_study_outputs(study) + [f"{run_dir(r)}/final.json" for r in CFG.study_runs(study)]
    found = (_rp_benchmark_of(p) for p in paths)
    return sorted({b for b in found if b and b.startswith(f"{R}/benchmarks/{study}/")})



REPORT_PAGES = {"index": f"{REPORT_DIR}/index.html",
                **{s: f"{REPORT_DIR}/{s}.html" for s in REPORT_STUDIES}}
