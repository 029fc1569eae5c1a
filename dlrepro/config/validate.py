"""The JSON schema of the configuration (``schema.yaml``; a numpy study's ``settings`` by
``schemas/<study>.settings.yaml``) and its error messages: every violation is listed with
its key path, and with the file that holds the key where the config came from files."""
from __future__ import annotations

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


def sub_schema(name: str) -> dict:
    """The definition ``$defs[name]`` of the main schema, as a schema of its own."""
    root = schema()
    return {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": f"#/$defs/{name}"}


def _validator(sch: dict):
    import jsonschema

    cls = jsonschema.validators.validator_for(sch)
    return cls(sch)


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
        allowed = ", ".join(sorted(err.schema.get("properties", {}))) or "none"
        return f"unknown key {', '.join(map(repr, _extra_keys(err)))} (allowed: {allowed})"
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {err.validator_value}"
    return err.message


def validate(instance: Any, sch: dict, where: str = "",
             locate: Callable[[tuple], str | None] | None = None, prefix: tuple = ()) -> None:
    """Raise ConfigError listing every schema violation, each with its key path.

    ``locate(parts)`` names the file holding a key path of the merged config (see
    :func:`dlrepro.config.load.file_of`); ``prefix`` is the path of ``instance`` in it."""
    errors = sorted(_validator(sch).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
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
        path = key_path(err.absolute_path)
        lines.append(f"  {_file(locate, parts)}{where + ': ' if where else ''}{path}: {_describe(err)}")
    raise ConfigError("invalid configuration:\n" + "\n".join(dict.fromkeys(lines)))


def _file(locate, parts) -> str:
    f = locate(tuple(parts)) if locate else None
    return f"{f}: " if f else ""
