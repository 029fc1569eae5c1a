"""The study's DAG helpers (used by rules/scratch_backprop.smk at DAG time; imports
nothing heavy): which job makes which output, every final output with the benchmark file
of its job, and the per-run parameters of the curve figures."""
from __future__ import annotations

STUDY = "scratch_backprop"

# output name -> (the rule that makes it, the report subcategory), in page order
TABLES = {
    "gd_runs": ("scratch_gd", "1.1 gradient descent"),
    "gd_paths": ("scratch_gd", "1.1 gradient descent"),
    "gd_step_grid": ("scratch_gd", "1.1 gradient descent"),
    "gd_global_minimum": ("scratch_gd", "1.1 gradient descent"),
    "gradient_checks_central": ("scratch_components", "1.2-1.4 components"),
    "gradient_checks_scipy": ("scratch_components", "1.2-1.4 components"),
    "digits_final": ("scratch_digits_final", "1.6 digits runs"),
    "reproduction": ("scratch_comparison", "reproduction: write-up vs ours"),
    "claims": ("scratch_comparison", "reproduction: write-up vs ours"),
    "reproduction_summary": ("scratch_comparison", "reproduction: write-up vs ours"),
}
FIGURES = {
    "gd_contour_paths": ("scratch_gd", "1.1 gradient descent"),
    "gd_f_along_path": ("scratch_gd", "1.1 gradient descent"),
    "gd_step_grid_heatmap": ("scratch_gd", "1.1 gradient descent"),
    "activations": ("scratch_components", "1.2-1.4 components"),
    "digits_samples": ("scratch_digits_data", "1.6 digits runs"),
}


def study_dir(results: str) -> str:
    return f"{results}/{STUDY}"


def table_path(results: str, name: str) -> str:
    return f"{study_dir(results)}/tables/{name}.csv"


def figure_path(results: str, name: str) -> str:
    return f"{study_dir(results)}/figures/{name}.png"


def log_path(results: str, job: str) -> str:
    return f"{results}/logs/{STUDY}/{job}.log"


def benchmark_path(results: str, job: str) -> str:
    return f"{results}/benchmarks/{STUDY}/{job}.tsv"


def targets(results: str, run_names: list[str]) -> list[tuple[str, str]]:
    """(output, benchmark of the job that makes it) of every final output, in page order:
    the tables, the figures, then one curve figure per digits run."""
    out = [(table_path(results, n), benchmark_path(results, job)) for n, (job, _) in TABLES.items()]
    out += [(figure_path(results, n), benchmark_path(results, job)) for n, (job, _) in FIGURES.items()]
    out += [(figure_path(results, f"digits_curves_{n}"), benchmark_path(results, f"scratch_digits_curves/{n}"))
            for n in run_names]
    return out


def printed_runs(numbers: list[dict]) -> list[str]:
    """Digits runs whose training log the write-up printed (ledger quantities
    ``digits.<run>.<key>[epoch]``), in ledger order."""
    runs = [n["quantity"].split(".")[1] for n in numbers if n["quantity"].startswith("digits.")]
    return list(dict.fromkeys(runs))


def printed_epochs(plan: dict, numbers: list[dict], run: str) -> dict | None:
    """The write-up's printed epochs of a digits run (``{loss_train: [...], ...}``, None where
    illegible): markers on the as-run curves only (plan init "seed": the write-up's own
    seeded initialisation)."""
    if plan["init"] != "seed":
        return None
    out: dict[str, list] = {}
    prefix = f"digits.{run}."
    for n in numbers:
        if n["quantity"].startswith(prefix):
            key, _, idx = n["quantity"][len(prefix):].partition("[")
            i = int(idx.rstrip("]"))
            vals = out.setdefault(key, [])
            vals += [None] * (i + 1 - len(vals))
            vals[i] = n["printed"]
    return out or None


def curves_title(plan: dict, run: str, labels: dict[str, str]) -> str:
    base = run[: -len("_xavier")] if plan["init"] == "xavier" else run
    variant = "fixed: Xavier init" if plan["init"] == "xavier" else "as run"
    return (f"{run} ({labels.get(base, base)}; {variant}): {' '.join(plan['layers'])}, "
            f"{plan['epochs']} epochs, lr {plan['learning_rate']:g}, mb {plan['mb_size']}")
