"""A computed figure or table (rule `analysis`): dlrepro.analyses.run(kind, ...)."""
from dlrepro.analyses import run_analysis

sm = snakemake  # noqa: F821
run_analysis(sm.params.spec, sm.output[0], data_path=sm.input.get("data"))
