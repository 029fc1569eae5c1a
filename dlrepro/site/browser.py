"""The site in a real browser: every page loaded in headless Chromium (Debian's
``chromium``), its self-check read back (``static/check.js``), one screenshot per page."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
MAX_SHOT_HEIGHT = 16000  # device pixels Chromium draws at most in one screenshot
MIN_SHOT_SCALE = 0.5     # below this a screenshot is unreadable: a taller page is cut instead


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _chromium(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="dlrepro-chromium-") as profile:
        return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


_CHECK_RE = re.compile(r'<body[^>]*\sdata-check="([^"]*)"', re.S)


def check_page(html_path: str | os.PathLike, screenshot: str | os.PathLike | None = None,
               width: int = 1280) -> dict:
    """Load a page in headless Chromium; return its self-check (see ``static/check.js``) with a
    list of ``problems``, and write a full-page screenshot when asked."""
    url = Path(html_path).resolve().as_uri()
    res = _chromium([f"--window-size={width},900", "--virtual-time-budget=15000",
                     "--run-all-compositor-stages-before-draw", "--dump-dom", url])
    m = _CHECK_RE.search(res.stdout)
    check = json.loads(html.unescape(m.group(1))) if m else {"loaded": False}
    problems = []
    if not check.get("loaded"):
        problems.append(f"page did not load (chromium rc {res.returncode}): {res.stderr[-500:]}")
    problems += [f"broken image {s}" for s in check.get("broken_images", [])]
    problems += [f"table without rows: {t}" for t in check.get("missing_tables", [])]
    problems += [f"failed resource: {e}" for e in check.get("errors", [])]
    if screenshot is not None:
        # the whole page in one image: Chromium draws at most ~16k device pixels, so a
        # taller page is drawn at a smaller scale, down to MIN_SHOT_SCALE; a page taller
        # still (a ledger of a thousand numbers) is shown from its top, as far as fits.
        # (Drawing a 158,000-pixel page at scale 0.1 took Chromium over two minutes.)
        height = max(600, int(check.get("height") or 1200) + 40)
        scale = max(MIN_SHOT_SCALE, min(1.0, MAX_SHOT_HEIGHT / height))
        window = min(height, int(MAX_SHOT_HEIGHT / scale))
        shot = Path(screenshot).resolve()
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.unlink(missing_ok=True)
        r2 = _chromium(["--hide-scrollbars", f"--force-device-scale-factor={scale:.4f}",
                        f"--window-size={width},{window}", "--virtual-time-budget=15000",
                        f"--screenshot={shot}", url])
        check["screenshot_cut_at"] = window if window < height else None
        check["screenshot_scale"] = round(scale, 4)
        if not shot.exists() or shot.stat().st_size == 0:
            problems.append(f"no screenshot written (chromium rc {r2.returncode}): {r2.stderr[-500:]}")
        check["screenshot"] = str(shot)
    check["problems"] = problems
    check["page"] = str(html_path)
    return check


def check_site(pages: dict[str, str], screenshot_dir: str | os.PathLike | None = None) -> dict:
    """Check every page (name -> html path); screenshots as ``{screenshot_dir}/{name}.png``."""
    out = {}
    for name, p in pages.items():
        shot = Path(screenshot_dir) / f"{name}.png" if screenshot_dir is not None else None
        out[name] = check_page(p, shot)
    return {"ok": all(not c["problems"] for c in out.values()), "pages": out}
