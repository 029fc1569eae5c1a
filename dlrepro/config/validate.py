"""The JSON schema of the configuration (``schema.yaml``; a numpy study's ``settings`` by
``schemas/<study>.settings.yaml``) and its error messages: every violation is listed with
its key path, and with the file that holds the key where the config came from files."""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from dlrepro.config.load import ConfigError, load_yaml

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")
SCHEMAS_DIR = Path(__file__).with_name("schemas")


@lru_cache(maxsize=None)
def schema() -> dict:
    return load_yaml(SCHEMA_PATH)


def settings_schema(study: str) -> dict | None:
    """The schema of a numpy study's ``settings``, if it has one."""
    path = SCHEMAS_DIR / f"{study}.settings.yaml"
    return load_yaml(path) if path.exists() else None


@lru_cache(maxsize=None)
def sub_schema(name: str) -> dict:
    """The definition ``$defs[name]`` of the main schema (``a/b``: ``$defs.a.b``), as a
    schema of its own (the same object on every call: its validator is cached)."""
    root = schema()
    return {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": f"#/$defs/{name}"}


def has_def(name: str) -> bool:
    node = schema()["$defs"]
    for part in name.split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _validator(sch: dict):
    import jsonschema

    return jsonschema.validators.validator_for(sch)(sch)


@lru_cache(maxsize=None)
def def_validator(name: str):
    """The validator of ``$defs[name]`` (built once: a run's checks use it per run)."""
    return _validator(sub_schema(name))


def key_path(parts) -> str:
    """``("studies", "k", "cases", 0)`` -> ``studies.k.cases[0]``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<top level>"


def _extra_keys(err) -> list[str]:
    return sorted(set(err.instance) - set(err.schema.get("properties", {})))


def _describe(err) -> str:
    if err.validator == "additionalProperties" and "unexpected" in err.message:
        allowed = ", ".join(sorted(k for k in err.schema.get("properties", {}) if k != "name")) or "none"
        of = f" of {err.schema['title']}" if err.schema.get("title") else ""   # e.g. the optimizer adamw
        return f"unknown key {', '.join(map(repr, _extra_keys(err)))}{of} (allowed: {allowed})"
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {err.validator_value}"
    return err.message


def non_finite(instance: Any, locate: Callable[[tuple], str | None] | None = None, path: tuple = ()) -> None:
    """Raise ConfigError naming every NaN or infinite number (YAML ``.nan``, ``.inf``):
    no setting, tolerance or printed number may be one (the schema's bounds let them
    through: NaN compares false with every bound, infinity passes a lower one)."""
    found = list(_non_finite(instance, path))
    if found:
        lines = [f"  {_file(locate, p)}{key_path(p)}: {v!r} is not a finite number (NaN and infinity are never "
                 f"valid here; write the number)" for p, v in found]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))


def _non_finite(node: Any, path: tuple):
    if isinstance(node, float) and not math.isfinite(node):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _non_finite(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _non_finite(v, path + (i,))


def validate(instance: Any, sch: dict | str, where: str = "",
             locate: Callable[[tuple], str | None] | None = None, prefix: tuple = (),
             shown: tuple = ()) -> None:
    """Raise ConfigError listing every schema violation, each with its key path.

    ``sch`` is a schema or the name of a definition of the main schema (``run_resolved``).
    ``locate(parts)`` names the file holding a key path of the merged config (see
    :func:`dlrepro.config.load.file_of`); ``prefix`` is the path of ``instance`` in it;
    ``shown`` is put before each key path in the message (``optimizer`` when
    ``instance`` is a run's optimizer mapping)."""
    validator = def_validator(sch) if isinstance(sch, str) else _validator(sch)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    lines = []
    for err in errors:
        if "propertyNames" in err.schema_path:
            lines.append(f"  {_file(locate, prefix + tuple(err.absolute_path))}{key_path(err.absolute_path)}: "
                         f"bad name {err.instance!r} (names are lower case letters, digits and _)")
            continue
        # Descend into the most specific error of anyOf/oneOf/allOf groups.
        while err.context:
            err = min(err.context, key=lambda e: -len(e.absolute_path))
        parts = prefix + tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict) and _extra_keys(err):
            parts += (_extra_keys(err)[0],)     # the file that holds the unknown key
        path = key_path(shown + tuple(err.absolute_path))
        lines.append(f"  {_file(locate, parts)}{where + ': ' if where else ''}{path}: {_describe(err)}")
    raise ConfigError("invalid configuration:\n" + "\n".join(dict.fromkeys(lines)))


#: run setting -> (the setting that picks its declared options, the table of $defs)
OPTION_TABLES = {"model_args": ("model", "model_args"), "optimizer": ("optimizer.name", "optimizer_options"),
                 "schedule": ("schedule.name", "schedule_options")}


def validate_options(settings: dict, where: str = "", locate: Callable[[tuple], str | None] | None = None,
                     prefix: tuple = (), shown: tuple = ()) -> None:
    """Check a run's (or a study's defaults') ``model_args``, ``optimizer`` and
    ``schedule`` against the options their model / optimizer / schedule declares
    (``$defs.model_args.<model>``, ``optimizer_options.<name>``, ``schedule_options.<name>``),
    where the run names the model / optimizer / schedule."""
    for key, (picker, table) in OPTION_TABLES.items():
        value = settings.get(key)
        node: Any = settings
        for part in picker.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(value, dict) or not isinstance(node, str) or not has_def(f"{table}/{node}"):
            continue
        validate(value, f"{table}/{node}", where=where, locate=locate, prefix=prefix + (key,), shown=shown + (key,))


def _file(locate, parts) -> str:
    f = locate(tuple(parts)) if locate else None
    return f"{f}: " if f else ""
