"""Putting a dataset's raw files in place from one of three sources, and writing the
manifest (``{root}/{real|synthetic}/{dataset}.manifest.json``, the ``fetch_data`` rule's
output) that lists every file with its md5.

``download``
    torchvision's own ``download()`` (real hosts, md5-checked) into ``{root}/real``.
``mirror``
    the published files are taken from a local directory: each is md5-checked *before*
    anything is copied, copied into torchvision's layout, then the class's ``download()``
    runs offline (it finds every file present with the right md5) and extracts.
``synthetic``
    stand-ins in the exact formats (``dlrepro.data.synthetic``) under ``{root}/synthetic``,
    then the same offline ``download()`` and extraction.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import torchvision

from dlrepro import ioutil
from dlrepro.data import synthetic as syn
from dlrepro.data.diagnose import diagnose, fix_hint
from dlrepro.data.errors import DataError
from dlrepro.data.registry import DatasetSpec, md5sum, raw_root, spec_of, synthetic_params
from dlrepro.data.torchvision_sets import torchvision_class
from dlrepro.data.verification import MANIFEST_FORMAT

__all__ = ["fetch"]

# One logger for the data layer: rule logs name the records "dlrepro.data".
log = logging.getLogger("dlrepro.data")


def _mirror_candidates(spec: DatasetSpec, mirror: Path, name: str) -> list[Path]:
    return [mirror / spec.name / name, mirror / spec.cls.__name__ / "raw" / name,
            mirror / spec.cls.__name__ / name, mirror / name]


def _check_mirror(spec: DatasetSpec, mirror: Path, expected: dict[str, str],
                  origin: dict[str, str]) -> dict[str, Path]:
    """Find and md5-check every published file in the mirror (before copying anything)."""
    if not mirror.is_dir():
        raise DataError(f"data mirror {mirror} is not a directory; set data.mirror to a directory "
                        f"holding the published files ({', '.join(spec.files)}), e.g. "
                        f"{mirror / spec.name}/")
    found, problems = {}, []
    for name in spec.files:
        cands = _mirror_candidates(spec, mirror, name)
        src = next((c for c in cands if c.is_file()), None)
        if src is None:
            problems.append(f"missing file {name} in the mirror (looked for "
                            + ", ".join(str(c) for c in cands) + ")")
            continue
        actual = md5sum(src)
        if actual != expected[name]:
            problems.append(
                f"checksum mismatch for {src}\n"
                f"      expected md5 {expected[name]} ({_origin_words(spec, origin[name])})\n"
                f"      actual md5   {actual} ({src.stat().st_size} bytes)")
        found[name] = src
    if problems:
        raise DataError(
            f"the mirror {mirror} does not hold the published {spec.name} files "
            f"(nothing was copied):\n  - " + "\n  - ".join(problems)
            + f"\nfix the mirror: put the published files there, byte for byte (the md5 sums "
              f"torchvision.datasets.{spec.cls.__name__} checks); a truncated or damaged copy "
              f"must be downloaded again.")
    return found


def _origin_words(spec: DatasetSpec, origin: str) -> str:
    return {"torchvision": f"torchvision.datasets.{spec.cls.__name__}'s published sum",
            "override": "md5 override given to fetch()",
            "synthetic": "written by the synthetic generator"}.get(origin, origin)


def _install(src: Path, dst: Path, md5: str) -> None:
    """Copy ``src`` onto ``dst`` atomically unless ``dst`` already has the right md5."""
    if dst.is_file() and md5sum(dst) == md5:
        return
    with ioutil.atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    if md5sum(dst) != md5:  # pragma: no cover - the copy itself went wrong
        raise DataError(f"copying {src} to {dst} produced a different md5; check the disk")


def _entry(root: Path, rel: str, role: str, expected_from: str) -> dict:
    path = root / rel
    return {"name": Path(rel).name, "path": rel, "md5": md5sum(path), "size": path.stat().st_size,
            "role": role, "expected_from": expected_from}


def fetch(dataset: str, source: str = "download", root: str | os.PathLike = "data",
          mirror: str | os.PathLike | None = None, synthetic: dict | None = None, *,
          expected_md5: dict[str, str] | None = None) -> dict:
    """Put ``dataset``'s raw files in place and write its manifest; return the manifest.

    ``source`` is ``download`` (torchvision's download into ``{root}/real``), ``mirror``
    (published files from the directory ``mirror``, no network) or ``synthetic`` (stand-ins
    written under ``{root}/synthetic``; ``synthetic`` = {n_train, n_test, seed}).

    ``expected_md5`` ({file name: md5}) replaces torchvision's published sums for the
    files named (download / mirror only). Data verified that way is not known to be the
    published data set, so the manifest marks it ``synthetic: true``.

    The manifest is written last and atomically; on any failure there is none.
    """
    spec = spec_of(dataset)
    out_root = raw_root(root, source)
    mpath = out_root / f"{dataset}.manifest.json"
    overrides = {str(k): str(v).lower() for k, v in (expected_md5 or {}).items()}
    unknown = sorted(set(overrides) - set(spec.files) - set(spec.extracted))
    if unknown:
        raise DataError(f"expected_md5 names file(s) {unknown} that are not part of {dataset}; "
                        f"its files: {', '.join(spec.files + spec.extracted)}")
    if source == "synthetic" and overrides:
        raise DataError("expected_md5 does not apply to synthetic data (the generator's sums are used)")
    if source == "mirror" and not mirror:
        raise DataError(f"data source 'mirror' needs a directory: set data.mirror to a directory "
                        f"holding the published {dataset} files ({', '.join(spec.files)})")
    params = synthetic_params(synthetic) if source == "synthetic" else None
    mirror_dir = Path(mirror).expanduser().resolve() if (source == "mirror") else None

    expected: dict[str, str]
    origin: dict[str, str]
    if source == "synthetic":
        mpath.unlink(missing_ok=True)
        if spec.family == "mnist":
            written = syn.write_mnist_like(out_root / spec.cls.__name__ / "raw", dataset, **params)
        else:
            written = syn.write_cifar10_like(out_root, **params)
        expected = {n: w["md5"] for n, w in written.items() if n in spec.files + spec.extracted}
        origin = {n: "synthetic" for n in expected}
        log.info("wrote synthetic %s (%s) under %s", dataset, params, out_root)
    else:
        expected = {**spec.published_md5(), **overrides}
        origin = {n: ("override" if n in overrides else "torchvision") for n in expected}
        if source == "mirror":
            found = _check_mirror(spec, mirror_dir, expected, origin)
            mpath.unlink(missing_ok=True)
            for name, src in found.items():
                _install(src, out_root / spec.rel(name), expected[name])
                log.info("copied %s -> %s (md5 %s)", src, out_root / spec.rel(name), expected[name])
        else:
            mpath.unlink(missing_ok=True)

    # Extract afresh from the verified published files: MNIST's download() only checks
    # that extracted files exist (no md5), CIFAR's re-extracts when a batch's md5 is off.
    any_missing = any(not (out_root / spec.rel(n)).is_file() for n in spec.files)
    if spec.family == "mnist" or any_missing:
        for name in spec.extracted:
            (out_root / spec.rel(name)).unlink(missing_ok=True)

    cls = torchvision_class(spec, expected, offline=(source != "download"))
    try:
        cls(str(out_root), train=False, download=True)
    except Exception as e:  # noqa: BLE001 - re-raised with a diagnosis
        raise _fetch_failure(spec, source, out_root, mirror_dir, mpath, expected, origin, e) from e

    files, problems = [], []
    for name in spec.files + spec.extracted:
        rel = spec.rel(name)
        role = "published" if name in spec.files else "extracted"
        entry = _entry(out_root, rel, role, origin.get(name, "extracted"))
        if name in expected and entry["md5"] != expected[name]:
            problems.append(f"checksum mismatch for {out_root / rel}: expected md5 {expected[name]} "
                            f"({_origin_words(spec, origin[name])}), actual {entry['md5']}")
        files.append(entry)
    if problems:  # pragma: no cover - torchvision checked these already
        raise DataError("after fetching:\n  - " + "\n  - ".join(problems) + "\n"
                        + fix_hint(source, str(mirror_dir) if mirror_dir else None, mpath))

    manifest = {
        "format": MANIFEST_FORMAT,
        "dataset": dataset,
        "torchvision_class": spec.cls.__name__,
        "torchvision_version": torchvision.__version__,
        "source": source,
        "mirror": str(mirror_dir) if mirror_dir else None,
        "synthetic": source == "synthetic" or bool(overrides),
        "synthetic_params": params,
        "md5_overrides": overrides,
        "files": files,
    }
    if overrides:
        manifest["note"] = ("files with expected_from=override were not checked against the "
                            "published md5 sums; the data is therefore labelled synthetic")
    ioutil.write_json(mpath, manifest)
    log.info("wrote %s (%d files)", mpath, len(files))
    return manifest


def _fetch_failure(spec, source, out_root, mirror_dir, mpath, expected, origin, err) -> DataError:
    lines = []
    for name in spec.files:
        path = out_root / spec.rel(name)
        if path.is_file():
            actual = md5sum(path)
            if actual != expected[name]:
                lines.append(f"checksum mismatch for {path}\n      expected md5 {expected[name]} "
                             f"({_origin_words(spec, origin[name])})\n      actual md5   {actual} "
                             f"({path.stat().st_size} bytes)")
        elif source == "download":
            lines.append(f"{path}: not downloaded")
    if not lines:
        lines = diagnose(spec, out_root, names=(), published=True)
    if not lines:
        present = tuple(n for n in spec.extracted if (out_root / spec.rel(n)).is_file())
        lines = diagnose(spec, out_root, names=present)
    head = f"fetching {spec.name} ({source}) failed in torchvision.datasets.{spec.cls.__name__}: " \
           f"{type(err).__name__}: {str(err).strip()}"
    body = ("\n  - " + "\n  - ".join(lines)) if lines else ""
    if source == "download":
        fix = ("fix: if this machine cannot reach the dataset host, set data.source to 'mirror' "
               "(data.mirror: a directory holding the published files) or to 'synthetic'; a "
               "damaged download is replaced by re-running the fetch.")
    else:
        fix = fix_hint(source, str(mirror_dir) if mirror_dir else None, mpath)
    return DataError(f"{head}{body}\n{fix}")


