# Config loading, run expansion, the output path patterns and the DAG helpers of the
# generic stages (data, train, figures, report). A study with rules of its own keeps its
# DAG helpers beside them: rules/scratch_backprop.smk + dlrepro/studies/scratch_backprop/dag.py
# (plain functions, so `snakemake --lint` finds no functions mixed with rules).
import os
import re

from snakemake.logging import logger
from snakemake.utils import update_config


include: "config.smk"  # PROJECT, the package on sys.path / PYTHONPATH, config files read strictly


from dlrepro import jobserver
from dlrepro.config import ConfigError, resolve
from dlrepro.config.command_line import coerce, environment_problems
from dlrepro.config.ledger import claim_operands, printed_by_run
from dlrepro.reproduction.tolerances import tolerances_for_study
from dlrepro.site.params import STATIC_FILES
from dlrepro.training.cost import estimate, job_request, load_costs

try:
    # --config values nested in a mapping arrive as strings ('overrides={replicates: 2}'):
    # each becomes the type the schema wants there, where that is unambiguous
    update_config(config, coerce(workflow.config_settings.config))
    CFG = resolve(config, root=PROJECT)
    if workflow.is_main_process:  # what the DAG host must provide (jobs on a cluster check the device)
        problems = environment_problems(CFG, os.getcwd(), check_gpu=workflow.resource_settings.nodes is None)
        if problems:
            raise ConfigError("this machine cannot run the build:\n  " + "\n  ".join(problems))
except ConfigError as e:
    raise WorkflowError(str(e)) from None
if workflow.is_main_process:
    for note in CFG.notes:  # e.g. the smoke preset trains on the CPU whatever `device` says
        logger.info(note)

RESULTS = CFG.results  # results/{preset}
PRESET = CFG.preset
DATA_CFG = CFG.data
CAPTION = workflow.source_path("../report/captions/generic.rst")
CONDA_ENV = "../envs/dlrepro.yaml"  # relative to the rule files
TORCH_STUDIES = [s for s, v in CFG.studies.items() if v["engine"] == "torch"]
# studies whose reproduction table the generic rule builds from their outputs (a study that
# computes its values itself, the NumPy one, builds it in its own rule file)
LEDGER_STUDIES = [s for s, v in CFG.studies.items() if v["engine"] != "numpy"]


def one_of(names):
    """A wildcard constraint matching exactly these names (nothing when there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def library(*modules):
    """Library modules that drawing jobs depend on, as inputs: Snakemake tracks a job's
    script but not what it imports, so editing e.g. dlrepro/outputs/figures.py redraws
    every figure (and retrains nothing: training does not list the engine). Relative
    paths: an absolute one is recorded in the metadata, and a moved build would redraw."""
    return [os.path.relpath(os.path.join(PROJECT, "dlrepro", m)) for m in modules]


def library_dir(package):
    """Every file of a library subpackage (modules, templates, static files), as inputs."""
    root = os.path.join(PROJECT, "dlrepro", package)
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.join(folder, f) for f in sorted(files) if not f.endswith(".pyc")]
    return [os.path.relpath(f) for f in found]


# ---------------------------------------------------------------- path patterns
# One place for every output pattern of the torch stages; rules use them with their
# wildcards, target functions fill them in. {study}, {experiment}, {run}, {name}, {ext}.
RUN_DIR = f"{RESULTS}/{{study}}/runs/{{experiment}}/{{run}}"
PATHS = {
    "data": f"{RESULTS}/data/{{dataset}}.pt",
    "metrics": f"{RUN_DIR}/metrics.csv",
    "final": f"{RUN_DIR}/final.json",
    "model": f"{RUN_DIR}/model.pt",
    "lr_bounds": f"{RUN_DIR}/lr_bounds.json",
    "curves": f"{RESULTS}/{{study}}/figures/curves/{{experiment}}/{{run}}.png",
    "figure": f"{RESULTS}/{{study}}/figures/{{name}}.png",
    "table": f"{RESULTS}/{{study}}/tables/{{name}}.csv",
    "reproduction": f"{RESULTS}/{{study}}/tables/reproduction.csv",
    "claims": f"{RESULTS}/{{study}}/tables/claims.csv",
    "analysis": f"{RESULTS}/{{study}}/analysis/{{name}}.{{ext}}",
    "runs": f"{RESULTS}/runs.csv",  # every torch run, one row each
}
BENCHMARKS = {
    "train": f"{RESULTS}/benchmarks/{{study}}/train/{{experiment}}/{{run}}.tsv",
    "curves": f"{RESULTS}/benchmarks/{{study}}/figures/curves/{{experiment}}/{{run}}.tsv",
    "figure": f"{RESULTS}/benchmarks/{{study}}/figures/{{name}}.tsv",
    "table": f"{RESULTS}/benchmarks/{{study}}/tables/{{name}}.tsv",
    "reproduction": f"{RESULTS}/benchmarks/{{study}}/tables/reproduction.tsv",
    "analysis": f"{RESULTS}/benchmarks/{{study}}/analysis/{{name}}.{{ext}}.tsv",
}
LOGS = {
    "train": f"{RESULTS}/logs/{{study}}/train/{{experiment}}/{{run}}.log",
    "curves": f"{RESULTS}/logs/{{study}}/figures/curves/{{experiment}}/{{run}}.log",
    "figure": f"{RESULTS}/logs/{{study}}/figures/{{name}}.log",
    "table": f"{RESULTS}/logs/{{study}}/tables/{{name}}.log",
    "reproduction": f"{RESULTS}/logs/{{study}}/tables/reproduction.log",
    "analysis": f"{RESULTS}/logs/{{study}}/analysis/{{name}}.{{ext}}.log",
}


REPORT_DIR = f"{RESULTS}/report"
REPORT_SITE = f"{RESULTS}/site"  # a mirror of REPORT_DIR, one directory output for `snakemake --report`
REPORT_STUDIES = list(CFG.studies)
REPORT_STATIC = [f"{REPORT_DIR}/static/{name}" for name in STATIC_FILES]
REPORT_PAGES = {
    "index": f"{REPORT_DIR}/index.html",
    **{study: f"{REPORT_DIR}/{study}.html" for study in REPORT_STUDIES},
}


def run_path(kind, run, patterns=PATHS):
    """patterns[kind] (PATHS, BENCHMARKS or LOGS) filled in for one resolved run."""
    return patterns[kind].format(study=run.study, experiment=run.experiment, run=run.name)


def run_dir(run):
    return RUN_DIR.format(study=run.study, experiment=run.experiment, run=run.name)


def study_settings(study):
    """The `settings` mapping of a study that is not run by the torch engine."""
    return CFG.studies[study].get("settings", {})


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
def run_of(wc):
    return CFG.runs[f"{wc.study}/{wc.experiment}/{wc.run}"]


def wants_gpu(run):
    """A run asks for the `gpu` resource (on SLURM --gpus=1) unless its study says
    `resources: {gpu: false}` (tiny MLPs stay on CPU slots) or the build runs on the CPU."""
    if CFG.device == "cpu":
        return 0
    return int(CFG.studies[run.study].get("resources", {}).get("gpu", True))


# ---------------------------------------------------------------- training jobs' resources
# runtime and mem_mb of each training job from its own cost estimate (dlrepro.training.cost;
# the measured per-sample figures in the costs file of config `cluster`), on the device the
# job gets. Resources, not params: a new estimate retrains nothing.
COSTS = load_costs(os.path.join(PROJECT, CFG.cluster["costs"]))
SIZES = (
    (DATA_CFG["synthetic"]["n_train"], DATA_CFG["synthetic"]["n_test"])
    if DATA_CFG["source"] == "synthetic"
    else None
)
TRAIN_GROUP = "train_small"  # profiles/slurm: group-components bundles these per submission
_TRAIN_JOBS = {}  # run key -> job_request(...), computed once per run


def train_job(wc):
    """{runtime, mem_mb, small, estimate_s, source} of a training job (see job_request)."""
    run = run_of(wc)
    if run.key not in _TRAIN_JOBS:
        device = "cuda" if wants_gpu(run) else "cpu"
        est = estimate(run.settings, COSTS, device, SIZES)
        startup = COSTS.startup_s.get(device, COSTS.startup_s.get("cpu", 0.0))
        _TRAIN_JOBS[run.key] = job_request(est, CFG.cluster, startup)
    return _TRAIN_JOBS[run.key]


def train_group(wc):
    """The group of a small CPU training job on a cluster (none otherwise). Snakemake uses
    groups only when it submits jobs (a cluster, or a dry run); a local run ignores them."""
    return TRAIN_GROUP if train_job(wc)["small"] else None


def train_inputs(wc):
    """The prepared dataset, plus the weights of an `init_from` run and the LR bounds of a
    `bounds_from` range test where the run names them."""
    run = run_of(wc)
    inputs = {"data": PATHS["data"].format(dataset=run.settings["dataset"])}
    if run.settings.get("init_from"):
        inputs["init"] = f"{RESULTS}/{run.study}/runs/{run.settings['init_from']}/model.pt"
    bounds = (run.settings.get("schedule") or {}).get("bounds_from")
    if bounds:  # e.g. a cyclical-LR run reads lr_min / lr_max found by an LR range test
        inputs["lr_bounds"] = f"{RESULTS}/{run.study}/runs/{bounds}/lr_bounds.json"
    return inputs


# ---------------------------------------------------------------- figures, tables, analyses
def runs_for(study, spec):
    return CFG.study_runs(study, spec.get("experiments"), spec.get("where"))


def figure_spec(wc):
    return CFG.studies[wc.study]["figures"][wc.name]


def table_spec(wc):
    return CFG.studies[wc.study]["tables"][wc.name]


def analysis_spec(wc):
    return CFG.studies[wc.study]["analyses"][wc.name]


def run_files(kind, wc, spec_of):
    """metrics.csv or final.json of every run a figure or table selects."""
    return [run_path(kind, r) for r in runs_for(wc.study, spec_of(wc))]


def analysis_run_files(study, spec):
    """Files of the runs an analysis reads (its optional `runs: [experiment/run, ...]`):
    final.json and metrics.csv of each, and lr_bounds.json of a recorded range test."""
    files = []
    for key in spec.get("runs", []):
        run = CFG.runs[f"{study}/{key}"]
        files += [run_path("final", run), run_path("metrics", run)]
        if (run.settings.get("schedule") or {}).get("name") == "range_test" and run.settings.get(
            "loop", {}
        ).get("record_batches"):
            files.append(run_path("lr_bounds", run))
    return files


def analysis_inputs(wc):
    spec = analysis_spec(wc)
    inputs = {"data": PATHS["data"].format(dataset=spec["dataset"])} if spec.get("dataset") else {}
    if spec.get("runs"):
        inputs["runs"] = analysis_run_files(wc.study, spec)
    return inputs


# ---------------------------------------------------------------- the reproduction ledger
def study_tolerances(study):
    """The tolerances a study's numbers can use (editing another study's reruns nothing here)."""
    return tolerances_for_study(CFG.tolerances or {}, study, CFG.studies)


def printed_of(study, spec):
    """The write-up's final numbers of the runs a table or figure selects, by run key and
    metric name (the ledger's; not a run setting)."""
    keys = [r.key for r in runs_for(study, spec)]
    return printed_by_run(CFG.ledgers[study]["numbers"], study, keys)


def ledger_sources(study):
    """The runs (experiment/run), analyses and tables a study's ledger reads, sorted: the
    names behind reproduction_inputs' files, in the same order (the job's params)."""
    ledger = CFG.ledgers[study]
    where = [(n["where"], n["name"]) for n in ledger["numbers"]]
    for c in ledger["claims"]:
        for op in claim_operands(c):
            if isinstance(op, dict):
                kind = next((k for k in ("run", "analysis", "table") if k in op), "value")
                where.append((kind, op.get(kind)))
    return {kind: sorted({name for k, name in where if k == kind}) for kind in ("run", "analysis", "table")}


def reproduction_inputs(wc):
    """Every output the study's ledger reads: the runs' metrics.csv and final.json, the
    analysis and table CSVs its numbers and claims name."""
    src = ledger_sources(wc.study)
    spec = CFG.studies[wc.study]
    ext = {"figure": "png", "table": "csv"}
    runs = [CFG.runs[f"{wc.study}/{r}"] for r in src["run"]]
    return {
        "metrics": [run_path("metrics", r) for r in runs],
        "finals": [run_path("final", r) for r in runs],
        "analyses": [
            PATHS["analysis"].format(study=wc.study, name=a, ext=ext[spec["analyses"][a]["output"]])
            for a in src["analysis"]
        ],
        "tables": [PATHS["table"].format(study=wc.study, name=t) for t in src["table"]],
    }


# ---------------------------------------------------------------- targets
# Each target function returns (output, benchmark file of the job that makes it) pairs,
# in build order; the report pages use both, `rule all` the outputs.
def torch_study_targets(study):
    spec = CFG.studies[study]
    out = []
    for name, fig in spec.get("figures", {}).items():
        if fig["kind"] == "run_curves":
            out += [(run_path("curves", r), run_path("curves", r, BENCHMARKS)) for r in runs_for(study, fig)]
        else:
            out.append(
                (
                    PATHS["figure"].format(study=study, name=name),
                    BENCHMARKS["figure"].format(study=study, name=name),
                )
            )
    out += [
        (PATHS["table"].format(study=study, name=name), BENCHMARKS["table"].format(study=study, name=name))
        for name in spec.get("tables", {})
    ]
    return out


def reproduction_targets(study):
    """The reproduction and claims tables of a study whose ledger the generic rule reads."""
    if study not in LEDGER_STUDIES:
        return []
    bench = BENCHMARKS["reproduction"].format(study=study)
    return [(PATHS["reproduction"].format(study=study), bench), (PATHS["claims"].format(study=study), bench)]


def analysis_targets(study):
    ext = {"figure": "png", "table": "csv"}
    return [
        (
            PATHS["analysis"].format(study=study, name=name, ext=ext[a["output"]]),
            BENCHMARKS["analysis"].format(study=study, name=name, ext=ext[a["output"]]),
        )
        for name, a in CFG.studies[study].get("analyses", {}).items()
    ]


# Targets of the studies that the torch engine does not run: each one's rule file adds a
# function of no arguments here (read only when `rule all` and the pages ask, so the order
# of the includes does not matter).
STUDY_TARGETS = {}


def study_targets(study):
    """Every final output of one study with its job's benchmark file."""
    engine = CFG.studies[study]["engine"]
    if engine == "torch":
        return torch_study_targets(study) + analysis_targets(study) + reproduction_targets(study)
    if study not in STUDY_TARGETS:
        raise WorkflowError(
            f"study {study!r} (engine {engine}) has no rule file that adds STUDY_TARGETS[{study!r}]"
        )
    return analysis_targets(study) + reproduction_targets(study) + STUDY_TARGETS[study]()


def study_outputs(study):
    return [o for o, _ in study_targets(study)]


def report_study_benchmarks(study):
    """Benchmark files of the jobs that made a study's outputs and trained its runs (the
    page's compute time)."""
    found = [b for _, b in study_targets(study)]
    found += [run_path("train", r, BENCHMARKS) for r in CFG.study_runs(study)]
    return sorted(set(found))


def all_targets():
    """Every final output, the inputs of the default target - each study's figures, tables and analyses, the
    table of all runs, then the report site's pages and its mirror for `snakemake --report`. A pure function
    of the resolved config."""
    runs = [PATHS["runs"]] if CFG.runs else []
    return (
        [out for study in CFG.studies for out in study_outputs(study)]
        + runs
        + list(REPORT_PAGES.values())
        + [REPORT_SITE]
    )
