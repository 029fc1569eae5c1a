"""Configuration: the study files, schema validation, presets and the expansion of sweeps
into runs.

``resolve(raw, root)`` is what the Snakefile calls with Snakemake's ``config`` (the build
settings of ``config.yaml``, whose ``studies:`` lists the studies to build). It reads each
study's files from ``root / studies_dir`` and merges them (:mod:`~dlrepro.config.load`),
validates the result against ``schema.yaml`` (an error names the key path and its file;
:mod:`~dlrepro.config.validate`), applies the chosen preset and expands every experiment
of every torch study into fully resolved runs (:mod:`~dlrepro.config.expand`).
``load_config("config.yaml")`` gives the merged mapping (tests, benchmarks).

Imported at every Snakemake start: it imports yaml and jsonschema only.
"""
from dlrepro.config.expand import (METRIC_DEPENDENT_SCHEDULES, RUN_NAME_RE, Resolved, Run, canonical,
                                   expand_study, fmt_value, get_dotted, replicates_problem, resolve,
                                   resolved_device, settings_hash, study_scale, undot)
from dlrepro.config.load import (ConfigError, deep_merge, file_of, load_config, load_study, load_yaml,
                                 merged_config)
from dlrepro.config.validate import SCHEMA_PATH, SCHEMAS_DIR, schema, validate

__all__ = [
    "ConfigError", "METRIC_DEPENDENT_SCHEDULES", "RUN_NAME_RE", "Resolved", "Run", "SCHEMA_PATH", "SCHEMAS_DIR",
    "canonical", "deep_merge", "expand_study", "file_of", "fmt_value", "get_dotted", "load_config",
    "load_study", "load_yaml", "merged_config", "replicates_problem", "resolve", "resolved_device", "schema",
    "settings_hash", "study_scale", "undot", "validate",
]
