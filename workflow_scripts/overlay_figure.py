"""One metric of several runs on one axis (rule `overlay_figure`)."""
from dlrepro.figures import overlay

sm = snakemake  # noqa: F821
overlay(list(sm.input.metrics), list(sm.input.finals), sm.output[0], spec=sm.params.spec,
        title=f"{sm.wildcards.study}: {sm.wildcards.name}")
