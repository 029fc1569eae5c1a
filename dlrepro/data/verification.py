"""The manifest a fetch writes, and checking the raw files against it: every missing or
damaged file is named with its expected and actual md5 and the fix."""
from __future__ import annotations

import json
import os
from pathlib import Path

from dlrepro.data.diagnose import fix_hint
from dlrepro.data.errors import DataError
from dlrepro.data.registry import md5sum

__all__ = ["MANIFEST_FORMAT", "read_manifest", "verify"]

MANIFEST_FORMAT = "dlrepro-data-manifest/1"


def read_manifest(path: Path) -> dict:
    """Read a manifest, checking its format (not yet the files it lists)."""
    if not path.is_file():
        raise DataError(f"manifest {path} not found; run the fetch first (rule fetch_data, "
                        f"or dlrepro.data.fetch)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"manifest {path} is unreadable ({e}); delete it and re-run the fetch") from e
    missing = [k for k in ("dataset", "source", "synthetic", "files") if k not in manifest]
    if missing or manifest.get("format") != MANIFEST_FORMAT:
        raise DataError(f"manifest {path} is not a {MANIFEST_FORMAT} manifest (missing {missing}); "
                        f"delete it and re-run the fetch")
    return manifest


def verify(manifest_path: str | os.PathLike) -> dict:
    """Check every file a manifest lists (presence, size, md5); return the manifest.

    Raises :class:`DataError` naming every missing or damaged file with its expected and
    actual md5 and how to fix it.
    """
    mpath = Path(manifest_path)
    manifest = read_manifest(mpath)
    root = mpath.parent
    problems = []
    for entry in manifest["files"]:
        path = root / entry["path"]
        if not path.is_file():
            problems.append(f"missing file {path} (expected md5 {entry['md5']}, {entry['size']} bytes)")
            continue
        size = path.stat().st_size
        actual = md5sum(path)
        if actual != entry["md5"] or size != entry["size"]:
            problems.append(f"checksum mismatch for {path}\n"
                            f"      expected md5 {entry['md5']} ({entry['size']} bytes)\n"
                            f"      actual md5   {actual} ({size} bytes)")
    if problems:
        raise DataError(
            f"{len(problems)} raw file(s) of {manifest['dataset']} ({manifest['source']}) do not "
            f"match {mpath}:\n  - " + "\n  - ".join(problems) + "\n"
            + fix_hint(manifest["source"], manifest.get("mirror"), mpath))
    return manifest
