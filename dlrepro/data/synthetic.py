"""Synthetic stand-ins for the write-ups' datasets, written in the published on-disk formats.

The files are byte-for-byte in the formats torchvision reads, so the very same dataset
classes (``datasets.FashionMNIST``, ``datasets.KMNIST``, ``datasets.CIFAR10``) decode them:

* MNIST family: four gzip-compressed IDX files with the published names
  (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-...``),
  28x28 grey images, uint8 labels 0..9.
* CIFAR-10: ``cifar-10-python.tar.gz`` holding ``cifar-10-batches-py/`` with the pickled
  batches ``data_batch_1..5`` and ``test_batch`` (dicts with ``data`` uint8 [n, 3072] in
  CHW row-major order, ``labels``, ``filenames``, ``batch_label``) and ``batches.meta``
  (``label_names``, ``num_cases_per_batch``, ``num_vis``).

Images have class structure a model can learn: every class owns a smooth random
prototype field; each sample perturbs it with its own smooth field, then a random shift,
an intensity change and pixel noise. Output is a pure function of (kind, sizes, seed):
gzip and tar headers carry no time stamps, so equal arguments give equal md5 sums.
Everything written here says ``synthetic`` in its batch labels / readme; the manifest
and the prepared tensors carry ``synthetic: true`` (see ``dlrepro.data``).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np

from dlrepro.ioutil import atomic_path

__all__ = [
    "MNIST_FILES",
    "CIFAR10_ARCHIVE",
    "CIFAR10_FOLDER",
    "CIFAR10_BATCHES",
    "CIFAR10_LABEL_NAMES",
    "mnist_like_images",
    "cifar_like_images",
    "balanced_labels",
    "idx_bytes",
    "write_mnist_like",
    "write_cifar10_like",
]

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")
CIFAR10_LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
                       "dog", "frog", "horse", "ship", "truck"]

N_CLASSES = 10
_CHUNK = 4096  # samples generated at a time (bounds memory; fixed so output is stable)


# --------------------------------------------------------------------------- helpers
def _rng(kind: str, seed: int) -> np.random.Generator:
    """A generator per (dataset kind, seed): fashion and kmnist differ at equal seeds."""
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng([int(seed), zlib.crc32(kind.encode())])


def _upsample(coarse: np.ndarray, size: int) -> np.ndarray:
    """Bicubic upsampling [n, c, k, k] -> [n, c, size, size] (smooth random fields)."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(coarse, dtype=np.float32))
    return F.interpolate(t, size=(size, size), mode="bicubic", align_corners=False).numpy()


def _shift(x: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Shift every image [n, c, h, w] by a random integer offset (cyclic), vectorised
    over the (2*max_shift+1)^2 offsets rather than over samples."""
    if max_shift <= 0:
        return x
    n = x.shape[0]
    dy = rng.integers(-max_shift, max_shift + 1, size=n)
    dx = rng.integers(-max_shift, max_shift + 1, size=n)
    out = np.empty_like(x)
    for sy in range(-max_shift, max_shift + 1):
        for sx in range(-max_shift, max_shift + 1):
            sel = (dy == sy) & (dx == sx)
            if sel.any():
                out[sel] = np.roll(x[sel], shift=(sy, sx), axis=(2, 3))
    return out


def balanced_labels(n: int, rng: np.random.Generator, n_classes: int = N_CLASSES) -> np.ndarray:
    """``n`` labels, every class as often as possible (counts differ by at most one)."""
    return rng.permutation(np.arange(n) % n_classes).astype(np.uint8)


def _check_sizes(n_train: int, n_test: int, minimum: int = N_CLASSES) -> None:
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if int(n) < minimum:
            raise ValueError(f"{name} must be >= {minimum} (one sample per class), got {n}")


# --------------------------------------------------------------------------- images
def _mnist_prototypes(kind: str, rng: np.random.Generator) -> np.ndarray:
    coarse = 4 if kind == "fashion_mnist" else 5
    return rng.normal(size=(N_CLASSES, 1, coarse, coarse))


def mnist_like_images(labels: np.ndarray, protos: np.ndarray, kind: str,
                      rng: np.random.Generator) -> np.ndarray:
    """uint8 [n, 28, 28]: ink drawn inside a 20x20 box (like MNIST), black background.

    ``fashion_mnist`` draws filled silhouettes (super-level sets of the field),
    ``kmnist`` brush-like strokes (the field's zero contours).
    """
    out = np.empty((len(labels), 28, 28), dtype=np.uint8)
    coarse = protos.shape[-1]
    for lo in range(0, len(labels), _CHUNK):
        y = labels[lo:lo + _CHUNK]
        n = len(y)
        field = protos[y] + 0.65 * rng.normal(size=(n, 1, coarse, coarse))
        field = _upsample(field, 20)
        if kind == "fashion_mnist":
            ink = 1.0 / (1.0 + np.exp(-5.0 * (field - 0.2)))
        else:
            ink = np.exp(-(field / 0.3) ** 2)
        img = np.zeros((n, 1, 28, 28), dtype=np.float32)
        img[:, :, 4:24, 4:24] = ink
        img = _shift(img, 2, rng)
        amp = rng.uniform(0.7, 1.0, size=(n, 1, 1, 1))
        grain = 1.0 + 0.15 * rng.normal(size=img.shape)
        out[lo:lo + n] = np.clip(255.0 * amp * img * grain, 0, 255).round().astype(np.uint8)[:, 0]
    return out


def _cifar_prototypes(rng: np.random.Generator) -> np.ndarray:
    field = rng.normal(size=(N_CLASSES, 3, 4, 4))
    colour = 0.3 * rng.normal(size=(N_CLASSES, 3, 1, 1))
    return field + colour


def cifar_like_images(labels: np.ndarray, protos: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """uint8 [n, 3, 32, 32] (CHW): smooth colour fields per class plus per-sample texture."""
    out = np.empty((len(labels), 3, 32, 32), dtype=np.uint8)
    for lo in range(0, len(labels), _CHUNK):
        y = labels[lo:lo + _CHUNK]
        n = len(y)
        field = _upsample(protos[y] + 2.0 * rng.normal(size=(n, 3, 4, 4)), 32)
        field += _upsample(1.0 * rng.normal(size=(n, 3, 8, 8)), 32)
        field = _shift(field.astype(np.float32), 3, rng)
        img = 255.0 / (1.0 + np.exp(-1.2 * field)) + 8.0 * rng.normal(size=field.shape)
        out[lo:lo + n] = np.clip(img, 0, 255).round().astype(np.uint8)
    return out


# --------------------------------------------------------------------------- formats
def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX ("SN3 Pascal Vincent") file: magic 0x00 0x00 0x08 ndim, big-endian dims,
    then the uint8 payload."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"IDX writer supports uint8 only, got {array.dtype}")
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def _gzip(payload: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as fh:
        fh.write(payload)
    return buf.getvalue()


def _write_bytes(path: Path, payload: bytes) -> dict:
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return {"md5": hashlib.md5(payload).hexdigest(), "size": len(payload)}


def write_mnist_like(out_dir: str | os.PathLike, kind: str, n_train: int = 2000,
                     n_test: int = 500, seed: int = 0) -> dict[str, dict]:
    """Write the four published MNIST-family ``.gz`` files into ``out_dir``.

    ``kind`` is ``fashion_mnist`` or ``kmnist`` (picks the drawing style and the random
    stream). Returns ``{file name: {"md5", "size"}}``.
    """
    if kind not in ("fashion_mnist", "kmnist"):
        raise ValueError(f"kind must be fashion_mnist or kmnist, got {kind!r}")
    _check_sizes(n_train, n_test)
    rng = _rng(kind, seed)
    protos = _mnist_prototypes(kind, rng)
    out_dir = Path(out_dir)
    written = {}
    for split, n in (("train", int(n_train)), ("t10k", int(n_test))):
        labels = balanced_labels(n, rng)
        images = mnist_like_images(labels, protos, kind, rng)
        written[f"{split}-images-idx3-ubyte.gz"] = _write_bytes(
            out_dir / f"{split}-images-idx3-ubyte.gz", _gzip(idx_bytes(images)))
        written[f"{split}-labels-idx1-ubyte.gz"] = _write_bytes(
            out_dir / f"{split}-labels-idx1-ubyte.gz", _gzip(idx_bytes(labels)))
    return written


def _tar_member(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(payload))


def write_cifar10_like(out_dir: str | os.PathLike, n_train: int = 2000, n_test: int = 500,
                       seed: int = 0) -> dict[str, dict]:
    """Write ``out_dir/cifar-10-python.tar.gz`` (members under ``cifar-10-batches-py/``).

    The training samples are split over ``data_batch_1..5`` as evenly as possible.
    Returns ``{name: {"md5", "size"}}`` for the archive and for every member (members by
    their bare names, e.g. ``data_batch_1``), so a reader can check the extracted files.
    """
    _check_sizes(n_train, n_test, minimum=max(N_CLASSES, 5))
    rng = _rng("cifar10", seed)
    protos = _cifar_prototypes(rng)
    members: dict[str, bytes] = {}
    train_labels = balanced_labels(int(n_train), rng)
    train_images = cifar_like_images(train_labels, protos, rng)
    test_labels = balanced_labels(int(n_test), rng)
    test_images = cifar_like_images(test_labels, protos, rng)

    def batch(label: str, images: np.ndarray, labels: np.ndarray, offset: int) -> bytes:
        entry = {
            "batch_label": label,
            "labels": [int(v) for v in labels],
            "data": images.reshape(len(images), 3 * 32 * 32),
            "filenames": [f"synthetic_{CIFAR10_LABEL_NAMES[int(v)]}_{offset + i:06d}.png"
                          for i, v in enumerate(labels)],
        }
        return pickle.dumps(entry, protocol=2)

    bounds = np.linspace(0, int(n_train), 6).round().astype(int)
    for i in range(5):
        lo, hi = bounds[i], bounds[i + 1]
        members[f"data_batch_{i + 1}"] = batch(f"synthetic training batch {i + 1} of 5",
                                               train_images[lo:hi], train_labels[lo:hi], lo)
    members["test_batch"] = batch("synthetic testing batch 1 of 1", test_images, test_labels, 0)
    members["batches.meta"] = pickle.dumps(
        {"num_cases_per_batch": int(bounds[1] - bounds[0]), "label_names": list(CIFAR10_LABEL_NAMES),
         "num_vis": 3 * 32 * 32}, protocol=2)
    members["readme.html"] = (
        b"<html><body><p>SYNTHETIC stand-in for CIFAR-10 written by dlrepro.data.synthetic "
        b"(seed " + str(int(seed)).encode() + b"). Not the real data set.</p></body></html>\n")

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        folder = tarfile.TarInfo(CIFAR10_FOLDER)
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        folder.mtime = 0
        folder.uname = folder.gname = ""
        tar.addfile(folder)
        for name, payload in members.items():
            _tar_member(tar, f"{CIFAR10_FOLDER}/{name}", payload)

    written = {CIFAR10_ARCHIVE: _write_bytes(Path(out_dir) / CIFAR10_ARCHIVE, _gzip(raw.getvalue()))}
    for name, payload in members.items():
        written[name] = {"md5": hashlib.md5(payload).hexdigest(), "size": len(payload)}
    return written
