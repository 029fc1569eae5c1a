"""The report site in headless Chromium: every page loads, no broken image, no table
without rows, no failed resource; one screenshot per page.

Needs Debian's `chromium` (CI: .ci/install-system-deps.sh). Installs nothing itself.
The fake site of test_report is always checked; a site the pipeline built is checked too
when DLREPRO_REPORT_DIR names its folder (e.g. results/smoke/report). Screenshots go to
pytest's tmp folder, or to DLREPRO_SCREENSHOT_DIR when set. The pipeline's own check is
the rule `report_screenshots` ({R}/report/screenshots/{page}.png).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dlrepro.site import browser
from test_report import build_fake

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser.find_chromium() is None,
                       reason="chromium is not installed (apt-get install chromium; CI: .ci/install-system-deps.sh)"),
]


def _shots_dir(tmp_path: Path, name: str) -> Path:
    base = os.environ.get("DLREPRO_SCREENSHOT_DIR")
    return Path(base) / name if base else tmp_path / "screenshots"


def _assert_png(path: str, min_height: int = 300) -> None:
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 800 and height >= min_height, (path, width, height)


def test_fake_site_loads_without_broken_images_or_missing_tables(tmp_path):
    b = build_fake(tmp_path)
    res = browser.check_site(b["pages"], _shots_dir(tmp_path, "fake"))
    assert res["ok"], {n: c["problems"] for n, c in res["pages"].items()}
    page, index = res["pages"]["fake"], res["pages"]["index"]
    assert page["loaded"] and page["images"] == 4 and page["broken_images"] == []
    assert page["tables"] == 4 and page["missing_tables"] == []   # reproduction, claims + 2 study tables
    assert page["title"].startswith("[SYNTHETIC]")
    assert index["loaded"] and index["tables"] == 1 and index["errors"] == []   # fake.summary.js loaded
    for c in res["pages"].values():
        _assert_png(c["screenshot"])
    # the full page is captured, not just the first screen
    _assert_png(page["screenshot"], min_height=min(page["height"], browser.MAX_SHOT_HEIGHT))


def test_broken_image_missing_table_and_missing_page_are_caught(tmp_path):
    b = build_fake(tmp_path)
    (b["report"] / "fake" / "figures" / "sweep.png").unlink()
    (b["report"] / "fake.summary.js").unlink()
    res = browser.check_site(b["pages"])
    assert not res["ok"]
    fake = res["pages"]["fake"]["problems"]
    assert any("broken image fake/figures/sweep.png" in p for p in fake), fake
    index = res["pages"]["index"]["problems"]
    assert any("fake.summary.js" in p for p in index), index


def test_empty_table_is_caught(tmp_path):
    b = build_fake(tmp_path)
    html = Path(b["pages"]["fake"])
    text = html.read_text()
    start = text.index('<table data-expect="analysis/step">')
    body = text.index("<tbody>", start)
    end = text.index("</tbody>", body)
    html.write_text(text[:body] + "<tbody>" + text[end:])
    problems = browser.check_page(html)["problems"]
    assert problems == ["table without rows: analysis/step"], problems


@pytest.mark.skipif(not os.environ.get("DLREPRO_REPORT_DIR"),
                    reason="set DLREPRO_REPORT_DIR=results/<preset>/report to check a built site")
def test_built_site(tmp_path):
    site = Path(os.environ["DLREPRO_REPORT_DIR"])
    pages = {p.stem: str(p) for p in sorted(site.glob("*.html"))}
    assert "index" in pages, f"no index.html in {site}"
    shots = _shots_dir(tmp_path, "built")
    res = browser.check_site(pages, shots)
    assert res["ok"], {n: c["problems"] for n, c in res["pages"].items()}
    for c in res["pages"].values():
        _assert_png(c["screenshot"])
    if not os.environ.get("DLREPRO_SCREENSHOT_DIR"):
        shutil.rmtree(shots, ignore_errors=True)
