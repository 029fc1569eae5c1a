"""What the templates show, as plain data: the settings line of a caption, a CSV as rows
of formatted cells, the outputs of a section as figure grids, galleries and tables, the
reproduction table and the contents. No HTML here: templates/macros.html renders these."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import pandas as pd

from dlrepro.reproduction.verdicts import VERDICTS, counts
from dlrepro.site.formatting import cut, fmt_num, is_missing
from dlrepro.site.settings import merge_summaries

SETTINGS_SHOWN = 40        # keys shown in a caption's settings line (the rest are counted)
SETTING_CHARS = 160        # a longer value is cut
TABLE_ROWS_SHOWN = 400     # a longer CSV shows its first rows (the rest: in the CSV)
FOLD_MATCHES_ABOVE = 150   # a longer reproduction table shows its matches folded away


def settings_view(summary: dict | None) -> dict | None:
    """The parts of a settings line: how many runs of which experiments, what varies
    between them, what they share (at most SETTINGS_SHOWN keys)."""
    if not summary or (not summary.get("common") and not summary.get("varying")):
        return None
    parts = []
    n = summary.get("n_runs", 0)
    if summary.get("experiments") and n > 1:
        parts.append({"kind": "runs", "n": n,
                      "text": ", ".join(f"{e} ({c})" for e, c in summary["experiments"].items())})
    if summary.get("varying"):
        parts.append({"kind": "varying",
                      "items": [(k, cut(", ".join(v), SETTING_CHARS)) for k, v in summary["varying"].items()]})
    if summary.get("common"):
        items = list(summary["common"].items())
        parts.append({"kind": "common", "label": "settings" if n <= 1 else "common",
                      "items": [(k, cut(str(v), SETTING_CHARS)) for k, v in items[:SETTINGS_SHOWN]],
                      "more": max(0, len(items) - SETTINGS_SHOWN)})
    return {"parts": parts}


def table_view(df: pd.DataFrame, max_rows: int = TABLE_ROWS_SHOWN) -> dict:
    """A CSV as formatted cells. The ``synthetic`` column is the page's stamp and columns
    empty in every row are listed, not shown; numbers get 5 significant digits, ``*diff``
    columns a sign."""
    cols = [c for c in df.columns if c != "synthetic" and not df[c].isna().all()]
    hidden = [str(c) for c in df.columns if c != "synthetic" and c not in cols]
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) for c in cols}
    rows = []
    for _, r in df.head(max_rows).iterrows():
        cells = []
        for c in cols:
            v = r[c]
            num = numeric[c] and not isinstance(v, bool)
            text = fmt_num(v, diff=str(c).endswith("diff")) if num else ("—" if is_missing(v) else str(v))
            cells.append({"text": text, "numeric": num})
        rows.append(cells)
    return {"columns": [{"name": str(c), "numeric": numeric[c]} for c in cols], "rows": rows,
            "more": max(0, len(df) - max_rows), "hidden": hidden}


@dataclass
class Output:
    """One output of the study as the page shows it (caption and settings from params)."""
    oid: str
    src: str          # href relative to the page
    kind: str         # figure | table | file
    info: dict


class Numbering:
    """Figure and table numbers, in page order."""

    def __init__(self):
        self.fig = 0
        self.tab = 0


def _figure(o: Output, num: Numbering) -> dict:
    num.fig += 1
    return {"oid": o.oid, "src": o.src, "num": num.fig, "caption": o.info.get("caption", ""),
            "settings": settings_view(o.info.get("settings"))}


def _gallery(group: list[Output], num: Numbering) -> dict:
    """The runs of one experiment's learning curves as one numbered figure of thumbnails;
    each thumbnail names the settings that vary between the runs."""
    num.fig += 1
    info = group[0].info
    merged = merge_summaries([g.info.get("settings") for g in group])
    thumbs = []
    for g in group:
        common = (g.info.get("settings") or {}).get("common") or {}
        thumbs.append({"oid": g.oid, "src": g.src, "label": g.info.get("label") or g.oid.split("/")[-1],
                       "own": [(k, str(v)) for k, v in common.items() if k in merged["varying"]]})
    return {"kind": "gallery", "num": num.fig, "anchor_of": info.get("group", group[0].oid),
            "group": info.get("group", ""), "caption": info.get("group_caption") or info.get("caption", ""),
            "settings": settings_view(merged), "thumbs": thumbs}


def _table(o: Output, tables: dict, errors: dict, num: Numbering) -> dict:
    num.tab += 1
    df = tables.get(o.oid)
    return {"kind": "table", "oid": o.oid, "src": o.src, "num": num.tab, "caption": o.info.get("caption", ""),
            "settings": settings_view(o.info.get("settings")),
            "table": table_view(df) if df is not None and len(df) else None, "error": errors.get(o.oid)}


def output_blocks(outs: list[Output], tables: dict, errors: dict, num: Numbering) -> list[dict]:
    """Figures in grids (the runs of one experiment as a gallery), tables full width, in order."""
    blocks: list[dict] = []
    grid: list[dict] = []

    def flush():
        if grid:
            blocks.append({"kind": "grid", "items": list(grid)})
            grid.clear()

    i = 0
    while i < len(outs):
        o = outs[i]
        if o.kind == "figure" and o.info.get("group"):
            j = i
            while j < len(outs) and outs[j].kind == "figure" and outs[j].info.get("group") == o.info["group"]:
                j += 1
            if j - i > 1:
                flush()
                blocks.append(_gallery(outs[i:j], num))
            else:
                grid.append(_figure(o, num))
            i = j
            continue
        if o.kind == "figure":
            grid.append(_figure(o, num))
        else:
            flush()
            blocks.append(_table(o, tables, errors, num) if o.kind == "table" else
                          {"kind": "file", "oid": o.oid, "src": o.src, "caption": o.info.get("caption", "")})
        i += 1
    flush()
    return blocks


def assign_sections(sections: list[dict], oids: list[str]) -> tuple[list[list[str]], list[str], list[list[str]]]:
    """Outputs of each section (the first section that names one wins; by name, glob or
    folder prefix), the outputs no section names, and per section the entries that
    matched nothing."""
    def hit(o: str, pat: str) -> bool:
        return o == pat or fnmatch.fnmatchcase(o, pat) or o.startswith(pat + "/")

    taken: set[str] = set()
    per: list[list[str]] = []
    unmatched: list[list[str]] = []
    for sec in sections:
        mine: list[str] = []
        bad: list[str] = []
        for pat in sec.get("outputs", []):
            pat = pat.strip().strip("/")
            mine += [o for o in oids if o not in taken and o not in mine and hit(o, pat)]
            if not any(hit(o, pat) for o in oids):
                bad.append(pat)
        taken.update(mine)
        per.append(mine)
        unmatched.append(bad)
    return per, [o for o in oids if o not in taken], unmatched


def toc_tree(items: list[tuple[int, str, str]]) -> list[dict]:
    """(level, href, text) in page order -> level-2 entries with their level-3 children."""
    out: list[dict] = []
    for level, href, text in items:
        if level >= 3 and out:
            out[-1]["children"].append({"href": href, "text": text})
        else:
            out.append({"href": href, "text": text, "children": []})
    return out


def _text(v) -> str:
    return "" if is_missing(v) else str(v)


def reproduction_view(rows: list[dict], synthetic: bool, csv: dict[str, str] | None = None) -> dict:
    """The reproduction section, from the rows of ``tables/reproduction.csv``: counts, and
    the rows (matches folded away when there are more than FOLD_MATCHES_ABOVE). On a
    synthetic build the same rows are a pipeline check, never reproduction results."""
    def prepared(rs: list[dict]) -> list[dict]:
        return [{"id": r["id"], "where": _text(r.get("where")), "quantity": _text(r.get("quantity")),
                 "epoch": _text(r.get("epoch")), "printed": _text(r.get("printed")), "ours": r.get("ours"),
                 "diff": r.get("diff"), "tolerance": r.get("tolerance"), "verdict": r["verdict"],
                 "cause": _text(r.get("cause")), "note": _text(r.get("note")), "source": _text(r.get("source")),
                 "section": _text(r.get("section"))} for r in rs]

    c = counts(r["verdict"] for r in rows)
    if len(rows) <= FOLD_MATCHES_ABOVE:
        shown, folded = prepared(rows), None
    else:
        shown = prepared([r for r in rows if r["verdict"] != "match"])
        folded = prepared([r for r in rows if r["verdict"] == "match"])
    return {"synthetic": synthetic, "n_rows": len(rows), "counts": [(v, c[v]) for v in VERDICTS if c[v]],
            "shown": shown, "folded": folded, "csv": csv or {}}


def claims_view(df: pd.DataFrame | None) -> list[dict]:
    """The rows of ``tables/claims.csv``."""
    if df is None:
        return []
    return [{k: _text(v) for k, v in r.items()} for r in df.to_dict("records")]


def claims_counts(df: pd.DataFrame | None) -> dict:
    if df is None or not len(df):
        return {"n": 0}
    return {"n": len(df), "hold_on_writeup": int((df["on_writeup"] == "holds").sum()),
            "hold_on_ours": int((df["on_ours"] == "holds").sum())}


def quirks_view(quirks: list[dict]) -> list[dict]:
    return [{"name": q["name"], "text": q.get("text", ""), "affects": list(q.get("affects", [])),
             "fixed": list((q.get("fixed") or {}).items())} for q in quirks or []]
