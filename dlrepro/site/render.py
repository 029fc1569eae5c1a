"""The Jinja2 environment of the site (templates/ with autoescape; static/ copied beside
the pages) and the HTML fragments the tests look at, rendered from the macros."""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import jinja2

from dlrepro.ioutil import write_text
from dlrepro.site.formatting import FILTERS
from dlrepro.site.params import STATIC_FILES

SYNTHETIC_BANNER = ("SYNTHETIC DATA: this build used generated stand-in data. It checks the "
                    "pipeline; its numbers are not the write-up's results.")


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dlrepro.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(banner=SYNTHETIC_BANNER, **context)


def macro(name: str):
    """One macro of templates/macros.html as a function returning Markup."""
    return getattr(environment().get_template("macros.html").module, name)


def write_static(site_dir: str | Path) -> list[Path]:
    """Copy the site's CSS and JS to ``{site_dir}/static/`` (every page links them)."""
    out = Path(site_dir) / "static"
    written = []
    for name in STATIC_FILES:
        write_text(out / name, (resources.files("dlrepro.site") / "static" / name).read_text())
        written.append(out / name)
    return written
