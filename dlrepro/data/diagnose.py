"""Which raw file is damaged, and how: the binary formats checked by hand (IDX headers
against file sizes, CIFAR's pickled batches, the published archives unpacked), so that a
failure names the file and the fix instead of showing torchvision's bare exception."""
from __future__ import annotations

import gzip
import pickle
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from dlrepro.data.errors import DataError

if TYPE_CHECKING:
    from dlrepro.data.registry import DatasetSpec

__all__ = ["idx_problem", "cifar_batch_problem", "published_problem", "diagnose", "fix_hint",
           "decode_failure"]


def idx_problem(path: Path) -> str | None:
    """Check an (uncompressed) IDX file's header against its size; None when it agrees."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                return f"{path}: not an IDX file (bad magic number {head.hex() or 'empty'})"
            if head[2] != 0x08:
                return f"{path}: IDX element type 0x{head[2]:02x}, expected 0x08 (unsigned byte)"
            ndim = head[3]
            dims_raw = fh.read(4 * ndim)
        if len(dims_raw) < 4 * ndim:
            return f"{path}: IDX header cut short"
        dims = [int.from_bytes(dims_raw[4 * i:4 * i + 4], "big") for i in range(ndim)]
        want = 4 + 4 * ndim
        n = 1
        for d in dims:
            n *= d
        want += n
        have = path.stat().st_size
        if have != want:
            return (f"{path}: IDX header says shape {'x'.join(map(str, dims))} "
                    f"({want} bytes with header) but the file holds {have} bytes")
    except OSError as e:
        return f"{path}: unreadable ({e})"
    return None


def cifar_batch_problem(path: Path, is_meta: bool) -> str | None:
    """Check one of CIFAR's pickled batches (or its meta file); None when it is sound."""
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a damaged file
        return f"{path}: not a readable pickle ({type(e).__name__}: {e})"
    if not isinstance(entry, dict):
        return f"{path}: pickle holds {type(entry).__name__}, expected a dict"
    if is_meta:
        if not isinstance(entry.get("label_names"), list):
            return f"{path}: no 'label_names' list"
        return None
    data, labels = entry.get("data"), entry.get("labels", entry.get("fine_labels"))
    if data is None or labels is None:
        return f"{path}: batch lacks 'data' or 'labels'"
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) != 2 or shape[1] != 3072 or str(data.dtype) != "uint8":
        return f"{path}: 'data' is {getattr(data, 'dtype', type(data))} {shape}, expected uint8 [n, 3072]"
    if len(labels) != shape[0]:
        return f"{path}: {shape[0]} images but {len(labels)} labels"
    return None


def published_problem(path: Path) -> str | None:
    """Can the published file be decompressed / unpacked completely?"""
    try:
        if path.name.endswith(".tar.gz"):
            with tarfile.open(path, "r:gz") as tar:
                for member in tar:
                    if member.isfile():
                        tar.extractfile(member).read()
        elif path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                while fh.read(1 << 20):
                    pass
    except FileNotFoundError:
        return f"{path}: missing"
    except Exception as e:  # noqa: BLE001 - any decompression failure is a damaged file
        return f"{path}: cannot be unpacked ({type(e).__name__}: {e})"
    return None


def diagnose(spec: DatasetSpec, root: Path, names: tuple[str, ...] | None = None,
             published: bool = False) -> list[str]:
    """Name the damaged files among ``names`` (default: all extracted files)."""
    problems = []
    if published:
        for name in spec.files:
            p = published_problem(root / spec.rel(name))
            if p:
                problems.append(p)
    for name in names if names is not None else spec.extracted:
        path = root / spec.rel(name)
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif spec.family == "mnist":
            p = idx_problem(path)
            if p:
                problems.append(p)
        else:
            p = cifar_batch_problem(path, is_meta=(name == spec.cls.meta["filename"]))
            if p:
                problems.append(p)
    return problems


def fix_hint(source: str, mirror: str | None, manifest: Path) -> str:
    """The ``fix: ...`` line of a message about damaged files from ``source``."""
    refetch = (f"delete the damaged file(s) and {manifest}, then re-run the fetch "
               f"(snakemake re-runs rule fetch_data when its manifest is missing; "
               f"or call dlrepro.data.fetch)")
    if source == "mirror":
        return (f"fix: {refetch}. The files came from the mirror {mirror}: if its copy is "
                f"damaged too, replace it there with the published file first.")
    if source == "synthetic":
        return f"fix: {refetch}; the synthetic generator writes the files again."
    return f"fix: {refetch}; torchvision downloads them again."


def decode_failure(spec: DatasetSpec, manifest: dict, mpath: Path, train: bool,
                   err: Exception) -> DataError:
    """The error for a split torchvision could not decode, naming the damaged file(s)."""
    names = spec.train_files if train else spec.test_files
    if spec.family == "cifar":
        names = names + (spec.cls.meta["filename"],)
    lines = diagnose(spec, mpath.parent, names) or [
        "could not tell which file: " + ", ".join(str(mpath.parent / spec.rel(n)) for n in names)]
    return DataError(
        f"torchvision.datasets.{spec.cls.__name__} could not decode the "
        f"{'train' if train else 'test'} split of {spec.name}: {type(err).__name__}: {err}\n  - "
        + "\n  - ".join(lines) + "\n" + fix_hint(manifest["source"], manifest.get("mirror"), mpath))
