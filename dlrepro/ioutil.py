"""Atomic file output: every result is written to a temporary name and renamed.

A crash or a SIGKILL therefore never leaves a truncated CSV, PNG or JSON under
``results/``: either the old file (or none) is there, or the complete new one.

Every JSON file is strict JSON (RFC 8259): a non-finite number (NaN, ±Infinity, e.g. the
losses of a diverged run) is written as ``null``; the writer of such a record says why
(a run's ``status: diverged``). Python's ``json`` would otherwise write the bare tokens
``NaN`` / ``Infinity``, which strict parsers (browsers' ``JSON.parse``, jq, Go, Rust) reject.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary keeps the final suffix (matplotlib and pandas pick formats by it).
    On an exception the temporary is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix or ".tmp",
                               dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def strict_json(obj: Any) -> Any:
    """``obj`` as plain JSON values: NumPy scalars and arrays as Python numbers and lists,
    every non-finite float as None (``null``)."""
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if type(obj).__module__ == "numpy":
        return strict_json(_json_default(obj))
    return obj


def dumps_json(obj: Any, **kwargs) -> str:
    """Strict JSON text of ``obj`` (:func:`strict_json`; never NaN or Infinity)."""
    return json.dumps(strict_json(obj), allow_nan=False, default=_json_default, **kwargs)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as strict JSON (non-finite numbers as null), atomically."""
    write_text(path, dumps_json(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path: str | os.PathLike, df) -> None:
    """Write a pandas DataFrame atomically (no index column)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def mirror_tree(src: str | os.PathLike, dst: str | os.PathLike, skip: tuple[str, ...] = ()) -> int:
    """Make the directory ``dst`` a mirror of the files under ``src`` (hard links where the
    filesystem allows them, else copies), leaving out the top-level entries named in
    ``skip``. Built beside ``dst`` and renamed onto it, so ``dst`` is either the old or
    the complete new tree. Returns the number of files."""
    src, dst = Path(src), Path(dst)
    tmp = dst.with_name(f".{dst.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    n = 0
    try:
        for f in sorted(src.rglob("*")):
            rel = f.relative_to(src)
            if rel.parts[0] in skip or not f.is_file():
                continue
            out = tmp / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(f, out)
            except OSError:
                shutil.copy2(f, out)
            n += 1
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return n


def save_figure(fig, path: str | os.PathLike, **kwargs) -> None:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    kwargs.setdefault("dpi", 120)
    kwargs.setdefault("bbox_inches", "tight")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **kwargs)
    plt.close(fig)


def torch_save(obj: Any, path: str | os.PathLike) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _json_default(o: Any):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
