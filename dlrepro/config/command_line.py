"""The configuration as a user types it on the command line, and the checks that need the
machine rather than the files; both run at DAG time from ``rules/common.smk``.

:func:`coerce` -- Snakemake parses a nested ``--config`` value with YAML's base loader, so
every scalar in it arrives as a string (``--config 'overrides={replicates: 2}'`` gives
``{"replicates": "2"}``, which the schema refuses). A string is turned into the number,
boolean or null it spells where the schema wants that type there and does not accept a
string (unambiguous); anything else is left for the schema to judge.

:func:`check_config_files` -- ``config.yaml`` and every ``--configfile`` read strictly
(file:line:column of a YAML error, a key given twice refused) before Snakemake reads them.

:func:`environment_problems` -- a data mirror that is not a directory, ``device: cuda``
where torch sees no GPU.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from dlrepro.config.load import ConfigError, load_yaml
from dlrepro.config.validate import schema

__all__ = ["check_config_files", "coerce", "environment_problems"]

_JSON_TYPES = {"string": str, "boolean": bool, "null": type(None), "object": dict, "array": list}


def _deref(sch: Any, root: dict) -> dict:
    while isinstance(sch, dict) and "$ref" in sch:
        node: Any = root
        for part in sch["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        sch = node
    return sch if isinstance(sch, dict) else {}


def _subschemas(sch: dict, root: dict) -> list[dict]:
    sch = _deref(sch, root)
    out = [sch]
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in sch.get(key, []):
            out += _subschemas(sub, root)
    return out


def _child(sch: dict, key: str, root: dict) -> list[dict]:
    out = []
    for sub in _subschemas(sch, root):
        if key in sub.get("properties", {}):
            out.append(sub["properties"][key])
        elif isinstance(sub.get("additionalProperties"), dict):
            out.append(sub["additionalProperties"])
    return out


def _types(schemas: list[dict], root: dict) -> set[str] | None:
    """The JSON types the schemas allow at this place (None: not stated)."""
    found: set[str] = set()
    for sch in schemas:
        for sub in _subschemas(sch, root):
            t = sub.get("type")
            if t is not None:
                found.update([t] if isinstance(t, str) else t)
            for v in sub.get("enum", []) + ([sub["const"]] if "const" in sub else []):
                found.add(_type_of(v))
    return found or None


def _type_of(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return next((n for n, t in _JSON_TYPES.items() if isinstance(v, t)), "string")


def _coerce(value: Any, schemas: list[dict], root: dict) -> Any:
    if isinstance(value, dict):
        return {k: _coerce(v, [c for s in schemas for c in _child(s, k, root)], root) for k, v in value.items()}
    if isinstance(value, list):
        items = [i for s in schemas for sub in _subschemas(s, root) for i in [sub.get("items")] if isinstance(i, dict)]
        return [_coerce(v, items, root) for v in value]
    if not isinstance(value, str):
        return value
    types = _types(schemas, root)
    if not types or "string" in types:
        return value  # a string is valid here (or nothing is known): keep what was typed
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    kind = _type_of(parsed)
    if kind in types or (kind == "integer" and "number" in types):
        return _coerce(parsed, schemas, root)
    return value


def coerce(values: Mapping) -> dict:
    """``--config`` values with their strings turned into the types the schema wants there."""
    root = schema()
    return _coerce(dict(values), [root], root)


def check_config_files(paths: Iterable[str | os.PathLike]) -> None:
    """Read each existing YAML (or JSON) config file strictly: a syntax error names
    file:line:column, a duplicated key is an error; the top level must be a mapping."""
    for path in paths:
        if not Path(path).is_file():
            continue
        data = load_yaml(path, str(path))
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"{path}: must be a mapping of settings, not {type(data).__name__}")


def environment_problems(cfg, cwd: str | os.PathLike, check_gpu: bool = True) -> list[str]:
    """What the resolved config asks of this machine that it cannot give, one line each:
    a data mirror that is not a directory, ``device: cuda`` where torch sees no GPU
    (``check_gpu``: jobs run here; on a cluster the job itself checks)."""
    problems = []
    if cfg.data["source"] == "mirror" and cfg.datasets():
        mirror = Path(str(cfg.data["mirror"])).expanduser()
        full = mirror if mirror.is_absolute() else Path(cwd) / mirror
        if not full.is_dir():
            problems.append(
                f"data.mirror: {str(cfg.data['mirror'])!r} is not a directory (looked at {full}); set it to the "
                "directory that holds the published raw files, one sub-folder per dataset (fashion_mnist/, "
                "kmnist/, cifar10/), e.g. --config data='{source: mirror, mirror: /path/to/mirror}'")
    if cfg.device == "cuda" and cfg.runs and check_gpu:
        import torch  # only here: a plain dry run does not pay for it

        if not torch.cuda.is_available():
            problems.append(
                f"device: cuda, but torch {torch.__version__} sees no CUDA device on this machine "
                f"(CUDA build: {torch.version.cuda or 'none'}); set device: auto (a GPU where there is one) "
                "or cpu, e.g. --config device=auto")
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m dlrepro.config.command_line FILE...``: read config files strictly, e.g. a
    --configfile that Snakemake refuses as "not valid JSON or YAML" without saying where."""
    import sys

    paths = sys.argv[1:] if argv is None else argv
    missing = [p for p in paths if not Path(p).is_file()]
    try:
        if missing:
            raise ConfigError(f"{missing[0]}: no such file")
        check_config_files(paths)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
