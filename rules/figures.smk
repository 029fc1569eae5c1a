# Figures and tables of the torch studies, built from run outputs only (no training).


TORCH_STUDIES = "|".join(s for s, v in CFG.studies.items() if v["engine"] == "torch") or "no_torch_study"


def _runs_for(study, spec):
    return CFG.study_runs(study, spec.get("experiments"), spec.get("where"))


def _fig_spec(wc):
    return CFG.studies[wc.study]["figures"][wc.name]


def _tab_spec(wc):
    return CFG.studies[wc.study]["tables"][wc.name]


rule run_curves:
    input:
        metrics=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/metrics.csv",
        final=f"{R}/{{study}}/runs/{{experiment}}/{{run}}/final.json",
    output:
        report(
            f"{R}/{{study}}/figures/curves/{{experiment}}/{{run}}.png",
            caption=CAPTION,
            category="{study}",
            subcategory="curves: {experiment}",
            labels={"figure": "learning curves", "run": "{experiment}/{run}"},
        ),
    params:
        title=lambda wc: f"{wc.study}: {wc.experiment}/{wc.run}",
        caption=lambda wc: CFG.studies[wc.study]["figures"].get("curves", {}).get(
            "caption", "Learning curves") + f" ({wc.experiment}/{wc.run}).",
    wildcard_constraints:
        study=TORCH_STUDIES,
    log:
        f"{R}/logs/{{study}}/figures/curves/{{experiment}}/{{run}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/figures/curves/{{experiment}}/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/run_curves.py"


rule overlay_figure:
    input:
        metrics=lambda wc: [f"{run_dir(r)}/metrics.csv" for r in _runs_for(wc.study, _fig_spec(wc))],
        finals=lambda wc: [f"{run_dir(r)}/final.json" for r in _runs_for(wc.study, _fig_spec(wc))],
    output:
        report(
            f"{R}/{{study}}/figures/{{name}}.png",
            caption=CAPTION,
            category="{study}",
            subcategory="figures",
            labels={"figure": "{name}"},
        ),
    params:
        spec=_fig_spec,
        labels=lambda wc: [r.key for r in _runs_for(wc.study, _fig_spec(wc))],
        caption=lambda wc: _fig_spec(wc)["caption"],
        # the write-up's numbers, drawn only by kind final_vs_setting with show_reported
        reported=lambda wc: {r.key: r.reported for r in _runs_for(wc.study, _fig_spec(wc))}
        if _fig_spec(wc).get("show_reported") else {},
    wildcard_constraints:
        study=TORCH_STUDIES,
    log:
        f"{R}/logs/{{study}}/figures/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/figures/{{name}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/overlay_figure.py"


rule run_table:
    input:
        finals=lambda wc: [f"{run_dir(r)}/final.json" for r in _runs_for(wc.study, _tab_spec(wc))],
        metrics=lambda wc: [f"{run_dir(r)}/metrics.csv" for r in _runs_for(wc.study, _tab_spec(wc))],
    output:
        report(
            f"{R}/{{study}}/tables/{{name}}.csv",
            caption=CAPTION,
            category="{study}",
            subcategory="tables",
            labels={"table": "{name}"},
        ),
    params:
        spec=_tab_spec,
        reported=lambda wc: {r.key: r.reported for r in _runs_for(wc.study, _tab_spec(wc))},
        caption=lambda wc: _tab_spec(wc)["caption"],
    wildcard_constraints:
        study=TORCH_STUDIES,
    log:
        f"{R}/logs/{{study}}/tables/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/tables/{{name}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/run_table.py"


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


rule analysis:
    input:
        unpack(_analysis_input),
    output:
        report(
            f"{R}/{{study}}/analysis/{{name}}.{{ext}}",
            caption=CAPTION,
            category="{study}",
            subcategory="computed",
            labels={"analysis": "{name}"},
        ),
    params:
        spec=_analysis_spec,
        caption=lambda wc: _analysis_spec(wc)["caption"],
    wildcard_constraints:
        ext="png|csv",
    log:
        f"{R}/logs/{{study}}/analysis/{{name}}.{{ext}}.log",
    benchmark:
        f"{R}/benchmarks/{{study}}/analysis/{{name}}.{{ext}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../workflow_scripts/analysis.py"


def analysis_targets(study):
    ext = {"figure": "png", "table": "csv"}
    return [f"{R}/{study}/analysis/{name}.{ext[a['output']]}"
            for name, a in CFG.studies[study].get("analyses", {}).items()]


for _study, _spec in CFG.studies.items():
    if _spec["engine"] == "torch":
        TARGETS.extend(torch_study_targets(_study))
    TARGETS.extend(analysis_targets(_study))
