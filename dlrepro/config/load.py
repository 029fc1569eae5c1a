"""Reading the configuration files and merging them into one mapping.

``config.yaml`` holds the build settings and ``studies:``, the list of studies to build.
Each study is three files in ``studies_dir`` (default ``studies/``), each holding part of
the study's mapping, deep-merged in this order:

``<study>.yaml``          the definition: title, engine, writeup_file, resources, defaults,
                          experiments, figures, tables, analyses, settings, smoke_scale
``<study>.printed.yaml``  the reproduction ledger: every number the write-up printed, its
                          claims, its illegible numbers (merged as the study's ``printed``;
                          schemas/ledger.yaml); never a run setting
``<study>.page.yaml``     the page prose: ``report`` (intro, sections, quirks)

A key goes in exactly one of them (:func:`file_kind`); a key in the wrong file, a missing
file or a study listed twice is a :class:`ConfigError` naming the file. The merged
mapping is the one :func:`dlrepro.config.resolve` validates and expands; an error names
the file that holds the bad key (:func:`file_of`).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Callable

import yaml

_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster, same result


class _Loader(_BASE_LOADER):
    """The safe loader, except that a key given twice in one mapping is an error (PyYAML
    keeps the last one silently: an edited setting could be overridden further down)."""


def _unique_keys_mapping(loader, node, deep=False):
    seen: dict = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor` merges; keys written beside it override on purpose
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:
            continue  # an unhashable key: the constructor below reports it
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {first.line + 1}; a key may appear "
                f"once in a mapping: delete one of them)", key_node.start_mark)
        seen[key] = key_node.start_mark
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_keys_mapping)
_LOADER = _Loader
STUDY_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_STUDIES_DIR = "studies"

#: file kind -> the suffix of ``studies/<study><suffix>.yaml``
SUFFIXES = {"study": "", "printed": ".printed", "page": ".page"}
#: key paths inside a study that the printed and page files hold ("*": any name)
KIND_PATHS = {
    "printed": [("printed",)],
    "page": [("report",)],
}


class ConfigError(ValueError):
    """A configuration problem; the message names the offending key path (and file)."""


def load_yaml(path: str | Path, label: str | None = None) -> Any:
    """Parse one YAML file; a syntax error or a key given twice in a mapping is a
    ConfigError naming ``file:line:column`` (the file as ``label`` names it, e.g.
    relative to the project)."""
    path = Path(path)
    label = label or str(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{label}: no such file") from None
    except OSError as e:
        raise ConfigError(f"{label}: cannot be read ({e.strerror})") from None
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        raise ConfigError(f"{where}: invalid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{label}: invalid YAML: {e}") from None


def deep_merge(base: dict, over: dict) -> dict:
    """Return ``base`` updated recursively by ``over`` (neither is modified)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# ----------------------------------------------------------------------------- which file
def _matches(parts: tuple, pattern: tuple) -> bool:
    return len(parts) >= len(pattern) and all(p == "*" or p == k for p, k in zip(pattern, parts))


def file_kind(parts: tuple) -> str:
    """Which of a study's files holds the key path ``parts`` (relative to the study):
    ``study``, ``printed`` or ``page``."""
    for kind, patterns in KIND_PATHS.items():
        if any(_matches(tuple(parts), pat) for pat in patterns):
            return kind
    return "study"


def study_file(study: str, kind: str = "study", studies_dir: str = DEFAULT_STUDIES_DIR) -> str:
    return f"{studies_dir}/{study}{SUFFIXES[kind]}.yaml"


def file_of(parts, studies_dir: str = DEFAULT_STUDIES_DIR) -> str | None:
    """The file holding the key path ``parts`` of the merged config (``("studies",
    "kmnist_tricks", "defaults", "optimizer", "lr")`` -> ``studies/kmnist_tricks.yaml``);
    None for a build setting or the list of studies (``config.yaml``)."""
    parts = tuple(parts)
    if len(parts) < 2 or parts[0] != "studies" or not isinstance(parts[1], str):
        return None
    return study_file(parts[1], file_kind(parts[2:]), studies_dir)


def locator(raw: dict) -> Callable[[tuple], str | None]:
    """``file_of`` for a merged config that came from study files (it keeps
    ``studies_dir``); a config built as one mapping (tests) names no file."""
    if "studies_dir" not in raw:
        return lambda parts: None
    studies_dir = raw["studies_dir"]
    return lambda parts: file_of(parts, studies_dir)


# ----------------------------------------------------------------------------- study files
def _on_path(parts: tuple, pattern: tuple) -> bool:
    """``parts`` leads to ``pattern`` (a prefix of it) or lies under it."""
    return _matches(parts, pattern[:len(parts)])


def _walk_kind(node: Any, kind: str, fname: str, path: tuple = ()) -> None:
    """Every key of a printed / page file must lie on one of the kind's paths."""
    patterns = KIND_PATHS[kind]
    if any(_matches(path, p) for p in patterns):
        return                                  # under e.g. experiments.<e>.reported: anything
    if not isinstance(node, dict):
        raise ConfigError(f"{fname}: {'.'.join(map(str, path)) or '<top level>'}: must be a mapping")
    for key, value in node.items():
        sub = path + (key,)
        if not any(_on_path(sub, p) for p in patterns):
            allowed = ", ".join(".".join(p).replace("*", "<name>") for p in patterns)
            raise ConfigError(f"{fname}: {'.'.join(map(str, sub))}: does not belong in this file "
                              f"(it holds only {allowed})")
        _walk_kind(value, kind, fname, sub)


def _misplaced(node: dict, path: tuple = ()) -> tuple | None:
    """The first key path of a study file that belongs in its printed or page file."""
    for key, value in node.items():
        sub = path + (key,)
        if file_kind(sub) != "study":
            return sub
        if isinstance(value, dict) and any(_on_path(sub, p) for ps in KIND_PATHS.values() for p in ps):
            found = _misplaced(value, sub)
            if found:
                return found
    return None


def _read(path: Path, label: str, required: bool) -> dict:
    if not path.is_file():
        if required:
            raise ConfigError(f"{label}: no such file (every study listed in config.yaml needs one)")
        return {}
    data = load_yaml(path, label)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: must be a mapping, not {type(data).__name__}")
    return data


def load_study(root: str | Path, study: str, studies_dir: str = DEFAULT_STUDIES_DIR) -> dict:
    """One study's mapping: its definition, printed numbers and page prose merged."""
    base = Path(root) / studies_dir
    label = {k: study_file(study, k, studies_dir) for k in SUFFIXES}
    spec = _read(base / f"{study}.yaml", label["study"], required=True)
    bad = _misplaced(spec)
    if bad:
        kind = file_kind(bad)
        raise ConfigError(f"{label['study']}: {'.'.join(map(str, bad))}: belongs in {label[kind]}")
    for kind in ("printed", "page"):
        part = _read(base / f"{study}{SUFFIXES[kind]}.yaml", label[kind], required=False)
        if kind == "printed" and part:
            part = {"printed": part}  # the whole file is the study's ledger
        _walk_kind(part, kind, label[kind])
        for group in ("experiments", "analyses"):
            for name in part.get(group) or {}:
                if name not in (spec.get(group) or {}):
                    raise ConfigError(f"{label[kind]}: {group}.{name}: {label['study']} has no "
                                      f"{group[:-1] if group == 'experiments' else 'analysis'} named {name!r}")
        if "settings" in part and not isinstance(spec.get("settings"), dict):
            raise ConfigError(f"{label[kind]}: settings: {label['study']} has no settings")
        spec = deep_merge(spec, part)
    return spec


def merged_config(raw: dict, root: str | Path | None = None) -> dict:
    """``raw`` with ``studies`` (a list of names) replaced by the studies' merged mappings,
    read from ``root / raw.get("studies_dir", "studies")`` (root: the current directory by
    default). A ``studies`` mapping is already merged and is returned as it is."""
    studies = raw.get("studies")
    if not isinstance(studies, list):
        return raw
    studies_dir = raw.get("studies_dir", DEFAULT_STUDIES_DIR)
    seen: set[str] = set()
    for name in studies:
        if not isinstance(name, str) or not STUDY_NAME_RE.match(name):
            raise ConfigError(f"studies: bad study name {name!r} (names are lower case letters, digits and _)")
        if name in seen:
            raise ConfigError(f"studies: {name!r} is listed twice")
        seen.add(name)
    root = Path(root) if root is not None else Path.cwd()
    out = {k: v for k, v in raw.items() if k != "studies"}
    out["studies_dir"] = studies_dir
    out["studies"] = {name: load_study(root, name, studies_dir) for name in studies}
    return out


def load_config(path: str | Path = "config.yaml") -> dict:
    """``config.yaml`` merged with the study files beside it (``studies_dir`` relative to
    the config's folder): the mapping Snakemake's ``config`` becomes after
    :func:`merged_config`. For tests, benchmarks and interactive use."""
    path = Path(path)
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping")
    return merged_config(raw, root=path.resolve().parent)
