"""The reproduction ledger of a study (``studies/<study>.printed.yaml``): validated against
``schemas/ledger.yaml``, its references checked against the study, and expanded into one
plain row per printed number (JSON-able: the rows reach the comparison jobs as params).

A ledger entry names where our number lives (``run: experiment/run``, ``analysis: name``
or ``table: name``, with an optional ``row``; none of them for a study that computes its
values itself), the ``quantity`` (a metric, a column, a final.json key, an expression), the
epoch and how the write-up reduced it, and the value ``printed``. A list under ``printed``
gives one number per element: per epoch when ``epoch`` is a list, else per index (nested
lists too).
"""
from __future__ import annotations

import ast
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from dlrepro.config.load import ConfigError, load_yaml

SCHEMA_PATH = Path(__file__).with_name("schemas") / "ledger.yaml"
WHERE_KEYS = ("run", "analysis", "table")
_NUM_RE = re.compile(r"^[+-]?(\d[\d,]*\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@lru_cache(maxsize=1)
def schema() -> dict:
    return load_yaml(SCHEMA_PATH)


# ----------------------------------------------------------------------------- printed values
def parse_printed(v: Any) -> tuple[float | None, str]:
    """(value, text as printed): ``"74.086%"`` -> (74.086, "74.086"), ``"38,650"`` ->
    (38650.0, "38650"), ``0.8516`` -> (0.8516, "0.8516"); None -> illegible."""
    if v is None:
        return None, ""
    if isinstance(v, bool):
        raise ValueError(f"{v!r} is not a number")
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{v!r} is not a finite number")
        return float(v), (str(v) if isinstance(v, int) else repr(float(v)))
    text = str(v).strip().rstrip("%").strip().replace("\u2212", "-")
    if not _NUM_RE.match(text):
        raise ValueError(f"{v!r} is not a number as printed")
    text = text.replace(",", "")
    return float(text), text


def decimals_of(text: str) -> int:
    """Decimal places a printed text carries (negative for e-notation's larger units):
    ``"0.8460"`` -> 4, ``"38650"`` -> 0, ``"1.5e-3"`` -> 4."""
    mant, _, exp = text.lower().partition("e")
    dec = len(mant.split(".", 1)[1]) if "." in mant else 0
    return dec - (int(exp) if exp else 0)


def half_unit(text: str, fmt: str) -> float:
    """Half a unit of the last digit the write-up printed (the rounding it applied);
    ``sN``: of the N-th significant digit (``"800"`` of a rounded "800K" with ``s2``: 5)."""
    if fmt == "int":
        return 0.5
    m = re.fullmatch(r"f(\d+)", fmt or "")
    if m:
        return 0.5 * 10.0 ** -int(m.group(1))
    m = re.fullmatch(r"s(\d+)", fmt or "")
    if m and float(text) != 0:
        return 0.5 * 10.0 ** (math.floor(math.log10(abs(float(text)))) - int(m.group(1)) + 1)
    return 0.5 * 10.0 ** -decimals_of(text)


# ----------------------------------------------------------------------------- expressions
_FUNCS = {"round": round, "abs": abs}


def expression_names(expr: str) -> set[str]:
    """Column names an expression reads (``round(val_acc, 3) / train_acc`` -> val_acc,
    train_acc); a ValueError for anything but names, numbers, + - * / and round/abs."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as e:
        raise ValueError(f"{expr!r} is not an expression: {e.msg}") from None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
                raise ValueError(f"{expr!r}: only {' and '.join(_FUNCS)} may be called")
        elif isinstance(node, ast.Name):
            if node.id not in _FUNCS:
                names.add(node.id)
        elif not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Load,
                                   ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd)):
            raise ValueError(f"{expr!r}: {type(node).__name__} is not allowed")
    return names


_PATH_RE = re.compile(r"^[A-Za-z_]\w*(\.\w+)+$")


def is_path(quantity: str) -> bool:
    """A dotted key path of final.json (``test.acc``, ``final_eval.train_acc``)."""
    return bool(_PATH_RE.match(quantity))


def evaluate(expr: str, values: dict[str, Any]) -> Any:
    """An expression of :func:`expression_names` over ``values`` (numbers, or pandas
    columns: then a column)."""
    expression_names(expr)
    return eval(compile(ast.parse(expr, mode="eval"), "<quantity>", "eval"),  # noqa: S307
                {"__builtins__": {}, **_FUNCS}, dict(values))


# ----------------------------------------------------------------------------- expansion
def _where(entry: dict) -> tuple[str, str | None]:
    keys = [k for k in WHERE_KEYS if k in entry]
    if len(keys) > 1:
        raise ValueError(f"names {' and '.join(keys)}: a number lives in one place")
    return (keys[0], entry[keys[0]]) if keys else ("value", None)


def _default_id(kind: str, name: str | None, entry: dict) -> str:
    row = "".join(f"[{v}]" for v in (entry.get("row") or {}).values())
    base = f"{name}{row}." if name else ""
    q = re.sub(r"[^A-Za-z0-9_.@/:,+-]+", "_", entry["quantity"]).strip("_")
    red = f".{entry['reduce']}" if entry.get("reduce") and entry["reduce"] != "cumsum" else ""
    return f"{base}{q}{red}"


def _flat(values: Any, idx: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(values, list):
        out = []
        for i, v in enumerate(values):
            out += _flat(v, idx + (i,))
        return out
    return [(idx, values)]


def expand_number(entry: dict) -> list[dict]:
    """One ledger entry -> one row per printed number (ValueError on a bad entry)."""
    kind, name = _where(entry)
    fmt = entry.get("format", "auto")
    base_id = entry.get("id") or _default_id(kind, name, entry)
    epoch = entry.get("epoch", "last" if kind == "run" and not entry.get("reduce") else None)
    if kind != "run" and (entry.get("epoch") is not None or entry.get("reduce")):
        raise ValueError("epoch and reduce apply to run metrics only")
    if kind == "run" and not is_path(entry["quantity"]):
        expression_names(entry["quantity"])
    printed = entry["printed"]
    common = {k: entry.get(k) for k in ("section", "source", "assumption")}
    common.update(where=kind, name=name, row=entry.get("row"), reduce=entry.get("reduce"),
                  format=fmt, scale=float(entry.get("scale", 1)))
    if entry.get("cause") == "unknown_code" and not entry.get("assumption"):
        raise ValueError("cause unknown_code needs `assumption`: what we assumed")
    if entry.get("reduce") in ("max", "min"):
        if entry.get("epoch") is not None:
            raise ValueError("reduce max/min picks from the epochs under `over` (default: all), not `epoch`")
        epoch = None
    elif entry.get("over") is not None:
        raise ValueError("`over` lists the epochs of reduce max/min")
    if isinstance(epoch, list):
        if not isinstance(printed, list) or len(printed) != len(epoch):
            raise ValueError(f"epoch lists {len(epoch)} epochs: printed must be a list of as many values")
        elements = [(e, v, f"@{e}", e, str(e)) for e, v in zip(epoch, printed)]
    elif isinstance(printed, list):
        if kind == "run":
            raise ValueError("a list of printed values needs an epoch list of the same length")
        elements = [(i, v, "[" + ",".join(map(str, i)) + "]", None, ",".join(map(str, i)))
                    for i, v in _flat(printed)]
    else:
        elements = [((), printed, f"@{epoch}" if isinstance(epoch, int) and "id" not in entry else "", epoch, "")]
    rows = []
    for _idx, v, suffix, ep, key in elements:
        value, text = parse_printed(v)
        q = entry["quantity"] + (suffix if suffix.startswith("[") else "")
        rows.append(dict(common, id=base_id + suffix, quantity=q, epoch=ep, over=entry.get("over"),
                         printed=value, printed_text=text,
                         half_unit=half_unit(text, fmt) if value is not None else None,
                         cause=(entry.get("causes") or {}).get(key, entry.get("cause")),
                         note=(entry.get("notes") or {}).get(key, entry.get("note"))))
    return rows


def expand(ledger: dict | None) -> dict:
    """``{numbers: [rows], claims: [...], illegible: [...]}`` of a validated ledger."""
    ledger = ledger or {}
    rows: list[dict] = []
    for i, entry in enumerate(ledger.get("numbers", [])):
        try:
            rows += expand_number(entry)
        except ValueError as e:
            raise ConfigError(f"numbers[{i}]: {e}") from None
    seen: dict[str, int] = {}
    for r in rows:
        seen[r["id"]] = seen.get(r["id"], 0) + 1
    dup = sorted(k for k, n in seen.items() if n > 1)
    if dup:
        raise ConfigError(f"numbers: duplicate id(s) {', '.join(dup[:8])}{' ...' if len(dup) > 8 else ''} "
                          "(give the entries an `id`)")
    return {"numbers": rows, "claims": list(ledger.get("claims", [])),
            "illegible": list(ledger.get("illegible", [])), "transcripts": dict(ledger.get("transcripts", {}))}


def claim_operands(claim: dict) -> list:
    """The operands a claim reads (subject, among, left, right), those inside a ``diff``
    in its place: number ids, constants and ``{run|analysis|table, quantity}`` mappings."""
    def leaves(op):
        if isinstance(op, dict) and "diff" in op:
            return [x for o in op["diff"] for x in leaves(o)]
        return [op]
    tops = [claim[k] for k in ("subject", "left", "right") if k in claim] + list(claim.get("among", []))
    return [x for op in tops for x in leaves(op)]


def check_references(expanded: dict, runs: set[str], analyses: set[str], tables: set[str],
                     engine: str) -> None:
    """Every number and claim operand names a run / analysis / table the study has."""
    problems = []

    def check(where: str, name: str | None, label: str) -> None:
        if where == "run" and name not in runs:
            problems.append(f"{label}: no run {name!r} in the study (runs are experiment/run)")
        elif where == "analysis" and name not in analyses:
            problems.append(f"{label}: no analysis {name!r} in the study")
        elif where == "table" and name not in tables:
            problems.append(f"{label}: no table {name!r} in the study")
        elif where == "value" and engine == "torch":
            problems.append(f"{label}: names no run, analysis or table")

    for r in expanded["numbers"]:
        check(r["where"], r["name"], f"number {r['id']}")
    ids = {r["id"] for r in expanded["numbers"]}
    for c in expanded["claims"]:
        for op in claim_operands(c):
            if isinstance(op, str) and op not in ids:
                problems.append(f"claim {c['id']}: {op!r} is no number id of the ledger")
            elif isinstance(op, dict):
                w, n = _where(op)
                check(w, n, f"claim {c['id']}")
    if problems:
        raise ConfigError("; ".join(dict.fromkeys(problems)))


# ----------------------------------------------------------------------------- tables
def table_metric(n: dict) -> str | None:
    """The name a run table (dlrepro.outputs.tables) gives the quantity of a run number:
    ``val_acc`` (last epoch), ``val_acc@20``, ``test_acc`` (test.acc), ``best_val_acc``
    (val_acc, max over epochs); an expression by the last part of its id
    (``models/plain.overfit_ratio`` -> ``overfit_ratio``); None for anything else."""
    q, ep, red = n["quantity"], n.get("epoch"), n.get("reduce")
    if red == "max" and q == "val_acc":
        return "best_val_acc"
    if red:
        return None
    if is_path(q):
        return q.replace(".", "_") if q.count(".") == 1 else None
    simple = re.fullmatch(r"[A-Za-z_]\w*", q) is not None
    name = q if simple else n["id"].rsplit(".", 1)[-1].split("@")[0]
    if isinstance(ep, int):
        return f"{name}@{ep}"
    return name if ep == "last" else None


def printed_by_run(numbers: list[dict], study: str, run_keys: list[str]) -> dict:
    """``{"study/experiment/run": {table metric: printed value in our units}}`` of the
    given runs (what a run table shows beside ours)."""
    out: dict[str, dict] = {}
    wanted = {k.split("/", 1)[1]: k for k in run_keys}
    for n in numbers:
        if n["where"] != "run" or n["name"] not in wanted or n["printed"] is None:
            continue
        m = table_metric(n)
        if m:
            out.setdefault(wanted[n["name"]], {})[m] = n["printed"] / n["scale"]
    return out
