"""The datasets: their torchvision classes, published files, md5 sums and image shapes;
the data sources and where each puts its files."""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

from torchvision import datasets

from dlrepro.data.errors import DataError

__all__ = ["DatasetSpec", "DATASETS", "SOURCES", "SYNTHETIC_DEFAULTS", "spec_of", "raw_root",
           "manifest_path", "synthetic_params", "md5sum"]

SOURCES = ("download", "mirror", "synthetic")
SYNTHETIC_DEFAULTS = {"n_train": 2000, "n_test": 500, "seed": 0}


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


def spec_of(dataset: str) -> DatasetSpec:
    """The registry entry for ``dataset``; :class:`DataError` naming the known ones if none."""
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
    spec_of(dataset)
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
