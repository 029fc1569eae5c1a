"""Numbers and short texts for a human reader, and the Jinja2 filters built on them."""
from __future__ import annotations

import math
import re
from typing import Any

from markupsafe import Markup, escape


def is_missing(x: Any) -> bool:
    """None, NaN, pandas' NA/NaT: no value."""
    if x is None:
        return True
    if isinstance(x, float):
        return math.isnan(x)
    try:
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError, ImportError):
        return False


def as_float(x: Any) -> float | None:
    if is_missing(x):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fmt_num(x: Any, diff: bool = False) -> str:
    """A number for a human: 5 significant digits, integers as integers, a sign on diffs."""
    if is_missing(x):
        return "—"
    if isinstance(x, (bool,)):
        return str(x)
    if isinstance(x, str):
        return x
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v.is_integer() and abs(v) < 1e15 and not diff:
        return f"{int(v):,}" if abs(v) >= 10000 else str(int(v))
    if diff:
        if v == 0:
            return "0"
        return f"{v:+.4f}" if 1e-3 <= abs(v) < 1e4 else f"{v:+.2e}"
    return f"{v:.5g}"


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d} (h:m:s)"


def cut(text: str, n: int) -> str:
    """At most n characters; a longer text ends in an ellipsis."""
    return text if len(text) <= n else text[: n - 1] + "…"


_CODE_RE = re.compile(r"`([^`]+)`")


def inline(text: str | None) -> Markup:
    """Text escaped for HTML, with `backticks` as <code> (the study files' prose)."""
    if not text:
        return Markup("")
    return Markup(_CODE_RE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(str(text)))))


def paragraphs(text: str | None) -> Markup:
    """Blank-line separated paragraphs of prose, each through :func:`inline`."""
    if not text:
        return Markup("")
    parts = [p.strip() for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    return Markup("").join(Markup("<p>%s</p>") % inline(p) for p in parts)


def anchor(output_id: str) -> str:
    """The HTML id of an output (``figures/curves/debug`` -> ``o-figures-curves-debug``)."""
    return "o-" + re.sub(r"[^A-Za-z0-9_-]+", "-", output_id)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def value_str(v: Any) -> str:
    """A setting's value as the study files would write it (``true``, ``null``, ``[a, b]``)."""
    if isinstance(v, bool):
        return str(v).lower()
    if v is None:
        return "null"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value_str(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {value_str(x)}" for k, x in v.items()) + "}"
    return str(v)


FILTERS = {
    "num": fmt_num,
    "diff": lambda x: fmt_num(x, diff=True),
    "seconds": fmt_seconds,
    "inline": inline,
    "paragraphs": paragraphs,
    "anchor": anchor,
    "slug": slug,
    "value": value_str,
    "wbr_slashes": lambda s: Markup("/<wbr>").join(str(s).split("/")),
}
