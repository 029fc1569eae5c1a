"""Datasets in their published on-disk formats, read through torchvision's own classes.

Three sources put the raw files in torchvision's layout and write a manifest
(``{root}/{real|synthetic}/{dataset}.manifest.json``, the ``fetch_data`` rule's output):

``download``
    torchvision's own ``download()`` (real hosts, md5-checked) into ``{root}/real``.
``mirror``
    the published files (same names: ``*-idx?-ubyte.gz``, ``cifar-10-python.tar.gz``) are
    taken from a local directory. Each one is checked against torchvision's md5 *before*
    anything is copied, copied into the torchvision layout under ``{root}/real``, and then
    the real class's ``download()`` runs offline: it finds every file present with the
    right md5 (so it contacts nothing; its mirror list points at an address that does not
    exist) and does its own md5 check and extraction.

    Why not hand torchvision a ``file://`` mirror: in torchvision 0.29.1 ``_urlretrieve``
    reads ``response.length``, which urllib's file:// responses lack; the download dies
    with ``AttributeError`` and leaves an empty file behind.
``synthetic``
    small stand-ins in the exact formats (``dlrepro.data.synthetic``) under ``{root}/synthetic``,
    then the same offline ``download()`` (md5 sums from the generator) and extraction.

``prepare`` verifies the manifest, decodes both splits through the torchvision class
(``download=False``) and saves compact uint8 tensors; ``load_prepared`` reads them back.
Every failure raises :class:`DataError` with a message naming the file and the fix.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
import os
import pickle
import shutil
import tarfile
from pathlib import Path
from typing import Any

import torch
import torchvision
from torchvision import datasets

from dlrepro import ioutil
from dlrepro.data import synthetic as syn

log = logging.getLogger(__name__)

__all__ = [
    "DataError",
    "DatasetSpec",
    "DATASETS",
    "SOURCES",
    "SYNTHETIC_DEFAULTS",
    "PREPARED_KEYS",
    "raw_root",
    "manifest_path",
    "synthetic_params",
    "md5sum",
    "fetch",
    "verify",
    "open_torchvision",
    "prepare",
    "channel_stats",
    "load_prepared",
]

MANIFEST_FORMAT = "dlrepro-data-manifest/1"
SOURCES = ("download", "mirror", "synthetic")
SYNTHETIC_DEFAULTS = {"n_train": 2000, "n_test": 500, "seed": 0}
PREPARED_KEYS = ("train_x", "train_y", "test_x", "test_y", "classes", "mean", "std",
                 "synthetic", "dataset", "source", "manifest_md5s")
# The mirror list the offline classes carry: a file:// address that does not exist, so a
# download() that found a file missing or damaged fails at once instead of going online.
_OFFLINE_URL = "file:///dlrepro-offline-no-network-fetch/"


class DataError(RuntimeError):
    """A data problem with an actionable message (which file, what is wrong, the fix)."""


# --------------------------------------------------------------------------- registry
@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One dataset: its torchvision class and the files it is made of.

    ``files`` are the published files (as named on the dataset's host); ``extracted`` the
    files torchvision extracts from them and actually reads.
    """

    name: str
    cls: type
    family: str  # "mnist" (IDX gz) or "cifar" (pickled batches in a tar.gz)
    files: tuple[str, ...]
    extracted: tuple[str, ...]
    shape: tuple[int, int, int]  # C, H, W

    def rel(self, name: str) -> str:
        """Path of a file relative to the torchvision root (POSIX)."""
        if self.family == "mnist":
            return f"{self.cls.__name__}/raw/{name}"
        if name in self.files:
            return name
        return f"{self.cls.base_folder}/{name}"

    def published_md5(self) -> dict[str, str]:
        """The md5 sums torchvision hard-codes for this dataset (published + extracted)."""
        if self.family == "mnist":
            return {name: md5 for name, md5 in self.cls.resources}
        cls = self.cls
        sums = {cls.filename: cls.tgz_md5}
        sums.update({name: md5 for name, md5 in list(cls.train_list) + list(cls.test_list)})
        sums[cls.meta["filename"]] = cls.meta["md5"]
        return sums

    @property
    def train_files(self) -> tuple[str, ...]:
        return tuple(n for n in self.extracted if n.startswith(("train", "data_batch")))

    @property
    def test_files(self) -> tuple[str, ...]:
        return tuple(n for n in self.extracted if n.startswith(("t10k", "test_batch")))


def _mnist_spec(name: str, cls: type) -> DatasetSpec:
    files = tuple(f for f, _ in cls.resources)
    return DatasetSpec(name, cls, "mnist", files, tuple(f[:-3] for f in files), (1, 28, 28))


DATASETS: dict[str, DatasetSpec] = {
    "fashion_mnist": _mnist_spec("fashion_mnist", datasets.FashionMNIST),
    "kmnist": _mnist_spec("kmnist", datasets.KMNIST),
    "cifar10": DatasetSpec(
        "cifar10", datasets.CIFAR10, "cifar", (datasets.CIFAR10.filename,),
        tuple(n for n, _ in datasets.CIFAR10.train_list + datasets.CIFAR10.test_list)
        + (datasets.CIFAR10.meta["filename"],),
        (3, 32, 32)),
}


def _spec(dataset: str) -> DatasetSpec:
    try:
        return DATASETS[dataset]
    except KeyError:
        raise DataError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}") from None


def raw_root(root: str | os.PathLike, source: str) -> Path:
    """The torchvision root for ``source``: ``{root}/synthetic`` or ``{root}/real``."""
    if source not in SOURCES:
        raise DataError(f"unknown data source {source!r}; use one of {', '.join(SOURCES)}")
    return Path(root) / ("synthetic" if source == "synthetic" else "real")


def manifest_path(dataset: str, source: str, root: str | os.PathLike = "data") -> Path:
    """``{root}/{real|synthetic}/{dataset}.manifest.json``."""
    _spec(dataset)
    return raw_root(root, source) / f"{dataset}.manifest.json"


def synthetic_params(cfg: dict | None) -> dict:
    """The synthetic generator's arguments, defaults filled in and checked."""
    cfg = dict(cfg or {})
    unknown = sorted(set(cfg) - set(SYNTHETIC_DEFAULTS))
    if unknown:
        raise DataError(f"unknown synthetic data setting(s) {unknown}; allowed: {sorted(SYNTHETIC_DEFAULTS)}")
    out = {k: int(cfg.get(k, v)) for k, v in SYNTHETIC_DEFAULTS.items()}
    if out["n_train"] < 10 or out["n_test"] < 10 or out["seed"] < 0:
        raise DataError(f"synthetic data needs n_train >= 10, n_test >= 10, seed >= 0; got {out}")
    return out


def md5sum(path: str | os.PathLike) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest()


# --------------------------------------------------------------------------- torchvision
def _tv_class(spec: DatasetSpec, md5s: dict[str, str], offline: bool) -> type:
    """The torchvision class with its md5 lists (and, offline, its mirrors) replaced.

    The subclass keeps the class name (MNIST's raw folder is named after the class), so
    the real download / md5 / extraction / decoding code runs unchanged.
    """
    base = spec.cls
    attrs: dict[str, Any] = {"__module__": __name__,
                             "__doc__": f"{base.__name__} with md5 sums from a dlrepro manifest."}
    if spec.family == "mnist":
        attrs["resources"] = [(name, md5s[name]) for name in spec.files]
        if offline:
            attrs["mirrors"] = [_OFFLINE_URL]
    else:
        attrs["train_list"] = [[name, md5s[name]] for name, _ in base.train_list]
        attrs["test_list"] = [[name, md5s[name]] for name, _ in base.test_list]
        attrs["meta"] = dict(base.meta, md5=md5s[base.meta["filename"]])
        attrs["tgz_md5"] = md5s[base.filename]
        if offline:
            attrs["url"] = _OFFLINE_URL + base.filename
    return type(base.__name__, (base,), attrs)


# --------------------------------------------------------------------------- diagnosis
def _idx_problem(path: Path) -> str | None:
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


def _cifar_batch_problem(path: Path, is_meta: bool) -> str | None:
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


def _published_problem(path: Path) -> str | None:
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


def _diagnose(spec: DatasetSpec, root: Path, names: tuple[str, ...] | None = None,
              published: bool = False) -> list[str]:
    """Name the damaged files among ``names`` (default: all extracted files)."""
    problems = []
    if published:
        for name in spec.files:
            p = _published_problem(root / spec.rel(name))
            if p:
                problems.append(p)
    for name in names if names is not None else spec.extracted:
        path = root / spec.rel(name)
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif spec.family == "mnist":
            p = _idx_problem(path)
            if p:
                problems.append(p)
        else:
            p = _cifar_batch_problem(path, is_meta=(name == spec.cls.meta["filename"]))
            if p:
                problems.append(p)
    return problems


def _fix_hint(source: str, mirror: str | None, manifest: Path) -> str:
    refetch = (f"delete the damaged file(s) and {manifest}, then re-run the fetch "
               f"(snakemake re-runs rule fetch_data when its manifest is missing; "
               f"or call dlrepro.data.fetch)")
    if source == "mirror":
        return (f"fix: {refetch}. The files came from the mirror {mirror}: if its copy is "
                f"damaged too, replace it there with the published file first.")
    if source == "synthetic":
        return f"fix: {refetch}; the synthetic generator writes the files again."
    return f"fix: {refetch}; torchvision downloads them again."


# --------------------------------------------------------------------------- fetch
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
    spec = _spec(dataset)
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

    cls = _tv_class(spec, expected, offline=(source != "download"))
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
                        + _fix_hint(source, str(mirror_dir) if mirror_dir else None, mpath))

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
        lines = _diagnose(spec, out_root, names=(), published=True)
    if not lines:
        present = tuple(n for n in spec.extracted if (out_root / spec.rel(n)).is_file())
        lines = _diagnose(spec, out_root, names=present)
    head = f"fetching {spec.name} ({source}) failed in torchvision.datasets.{spec.cls.__name__}: " \
           f"{type(err).__name__}: {str(err).strip()}"
    body = ("\n  - " + "\n  - ".join(lines)) if lines else ""
    if source == "download":
        fix = ("fix: if this machine cannot reach the dataset host, set data.source to 'mirror' "
               "(data.mirror: a directory holding the published files) or to 'synthetic'; a "
               "damaged download is replaced by re-running the fetch.")
    else:
        fix = _fix_hint(source, str(mirror_dir) if mirror_dir else None, mpath)
    return DataError(f"{head}{body}\n{fix}")


# --------------------------------------------------------------------------- verify
def _read_manifest(path: Path) -> dict:
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
    manifest = _read_manifest(mpath)
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
            + _fix_hint(manifest["source"], manifest.get("mirror"), mpath))
    return manifest


def open_torchvision(manifest_path: str | os.PathLike, train: bool = True, **kwargs):
    """The verified dataset as a torchvision dataset object (PIL images, ``transform=``...)."""
    mpath = Path(manifest_path)
    manifest = verify(mpath)
    spec = _spec(manifest["dataset"])
    cls = _tv_class(spec, {e["name"]: e["md5"] for e in manifest["files"]}, offline=True)
    try:
        return cls(str(mpath.parent), train=train, download=False, **kwargs)
    except Exception as e:  # noqa: BLE001
        raise _decode_failure(spec, manifest, mpath, train, e) from e


# --------------------------------------------------------------------------- prepare
def _decode_failure(spec, manifest, mpath, train, err) -> DataError:
    names = spec.train_files if train else spec.test_files
    if spec.family == "cifar":
        names = names + (spec.cls.meta["filename"],)
    lines = _diagnose(spec, mpath.parent, names) or [
        "could not tell which file: " + ", ".join(str(mpath.parent / spec.rel(n)) for n in names)]
    return DataError(
        f"torchvision.datasets.{spec.cls.__name__} could not decode the "
        f"{'train' if train else 'test'} split of {spec.name}: {type(err).__name__}: {err}\n  - "
        + "\n  - ".join(lines) + "\n" + _fix_hint(manifest["source"], manifest.get("mirror"), mpath))


def _tensors(spec: DatasetSpec, ds) -> tuple[torch.Tensor, torch.Tensor]:
    if spec.family == "mnist":
        x = ds.data.unsqueeze(1).contiguous()
        y = ds.targets.to(torch.int64)
    else:
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
        y = torch.as_tensor(ds.targets, dtype=torch.int64)
    return x, y


def channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and (population) std of uint8 images [N, C, H, W] scaled to [0, 1].

    Exact (float64 over a 256-bin histogram), without a float copy of the images.
    """
    if x.dtype != torch.uint8 or x.dim() != 4:
        raise ValueError(f"expected uint8 [N, C, H, W], got {x.dtype} {tuple(x.shape)}")
    v = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for c in range(x.shape[1]):
        counts = torch.bincount(x[:, c].reshape(-1), minlength=256).to(torch.float64)
        n = counts.sum()
        mean = (counts * v).sum() / n
        var = ((counts * v * v).sum() / n - mean * mean).clamp_min(0)
        means.append(float(mean))
        stds.append(float(var.sqrt()))
    return means, stds


def prepare(dataset: str, manifest_path: str | os.PathLike, out_path: str | os.PathLike) -> dict:
    """Decode both splits through the torchvision class and save compact tensors.

    Writes (atomically) a dict with ``train_x``/``test_x`` uint8 [N, C, H, W],
    ``train_y``/``test_y`` int64 [N], ``classes``, per-channel ``mean``/``std`` of the
    training pixels in [0, 1], ``synthetic``, ``dataset``, ``source`` and
    ``manifest_md5s`` ({path relative to the manifest: md5}); returns that dict.
    """
    spec = _spec(dataset)
    mpath = Path(manifest_path)
    manifest = verify(mpath)
    if manifest["dataset"] != dataset:
        raise DataError(f"manifest {mpath} describes {manifest['dataset']!r}, not {dataset!r}")
    root = mpath.parent
    if spec.family == "mnist":
        legacy = root / spec.cls.__name__ / "processed"
        if (legacy / "training.pt").exists() and (legacy / "test.pt").exists():
            raise DataError(f"{legacy} holds torchvision's legacy processed files, which the class "
                            f"would read instead of the verified raw files; delete {legacy}")
        bad = _diagnose(spec, root)  # IDX headers against file sizes: cheap, names the file
        if bad:
            raise DataError(f"damaged raw file(s) of {dataset}:\n  - " + "\n  - ".join(bad) + "\n"
                            + _fix_hint(manifest["source"], manifest.get("mirror"), mpath))
    cls = _tv_class(spec, {e["name"]: e["md5"] for e in manifest["files"]}, offline=True)

    out: dict[str, Any] = {}
    classes = None
    for train in (True, False):
        split = "train" if train else "test"
        try:
            ds = cls(str(root), train=train, download=False)
            x, y = _tensors(spec, ds)
        except Exception as e:  # noqa: BLE001
            raise _decode_failure(spec, manifest, mpath, train, e) from e
        classes = [str(c) for c in ds.classes]
        problem = None
        if tuple(x.shape[1:]) != spec.shape or x.dtype != torch.uint8:
            problem = f"images are {x.dtype} {tuple(x.shape)}, expected uint8 [N, {', '.join(map(str, spec.shape))}]"
        elif len(x) != len(y) or len(x) == 0:
            problem = f"{len(x)} images but {len(y)} labels"
        elif int(y.min()) < 0 or int(y.max()) >= len(classes):
            problem = f"labels span {int(y.min())}..{int(y.max())}, outside 0..{len(classes) - 1}"
        if problem:
            raise _decode_failure(spec, manifest, mpath, train, ValueError(problem))
        out[f"{split}_x"], out[f"{split}_y"] = x, y
    mean, std = channel_stats(out["train_x"])
    out.update({
        "classes": classes,
        "mean": mean,
        "std": std,
        "synthetic": bool(manifest["synthetic"]),
        "dataset": dataset,
        "source": manifest["source"],
        "manifest_md5s": {e["path"]: e["md5"] for e in manifest["files"]},
    })
    ioutil.torch_save(out, out_path)
    log.info("prepared %s: train %s, test %s, mean %s, std %s, synthetic=%s -> %s", dataset,
             tuple(out["train_x"].shape), tuple(out["test_x"].shape), mean, std, out["synthetic"], out_path)
    return out


def load_prepared(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    """Read a prepared ``.pt`` and put its tensors on ``device`` (images stay uint8)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"prepared data {path} not found; build it with the prepare_data rule "
                        f"(snakemake {path}) or dlrepro.data.prepare")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise DataError(f"prepared data {path} is unreadable ({type(e).__name__}: {e}); delete it "
                        f"and re-run prepare_data") from e
    missing = [k for k in PREPARED_KEYS if not isinstance(obj, dict) or k not in obj]
    if missing:
        raise DataError(f"prepared data {path} lacks {missing}; delete it and re-run prepare_data")
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in obj.items()}
