"""The integrity record of a prepared tensor file (``results/<preset>/data/<dataset>.pt``).

``prepare_data`` writes it into the file (key ``integrity``): the content hash (SHA-256
over every tensor's dtype, shape and bytes and the other prepared fields), the dataset's
name, the tensors' shapes, and the raw files it came from (the manifest and the md5 of
each file). Every load checks it (:func:`check`): a flipped byte anywhere in the tensors,
or another dataset's file copied over this one, is refused with a message naming the
file and the fix, instead of being trained on. The hash is also what a training
checkpoint is keyed on (:mod:`dlrepro.training.run`).

torch only (a training job must not import torchvision); no file access here.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import torch

from dlrepro.data.errors import DataError

__all__ = ["INTEGRITY_FORMAT", "TENSOR_KEYS", "check", "content_hash", "integrity_record"]

INTEGRITY_FORMAT = 1
TENSOR_KEYS = ("train_x", "train_y", "test_x", "test_y")
#: the fields besides the tensors that the hash covers (all of a prepared file but the record)
META_KEYS = ("classes", "mean", "std", "synthetic", "dataset", "source", "manifest_md5s")


def content_hash(obj: dict) -> str:
    """SHA-256 of a prepared mapping's content: each tensor's name, dtype, shape and bytes,
    then the other fields as canonical JSON."""
    h = hashlib.sha256()
    for key in TENSOR_KEYS:
        t = obj[key].detach().to("cpu").contiguous()
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.numpy().data)
    meta = {k: obj.get(k) for k in META_KEYS}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return h.hexdigest()


def integrity_record(obj: dict, raw_manifest: str | None = None) -> dict:
    """The record ``prepare_data`` stores beside the tensors."""
    return {"format": INTEGRITY_FORMAT, "sha256": content_hash(obj), "dataset": obj["dataset"],
            "shapes": {k: list(obj[k].shape) for k in TENSOR_KEYS},
            "raw_manifest": raw_manifest, "raw_files": dict(obj.get("manifest_md5s") or {})}


def check(obj: Any, path, dataset: str | None = None) -> str:
    """Check a loaded prepared mapping against its record (and the dataset the caller
    expects); return the content hash. Raises DataError naming the file and the fix."""
    fix = f"delete {path} and re-run prepare_data (snakemake {path})"
    rec = obj.get("integrity") if isinstance(obj, dict) else None
    if not isinstance(rec, dict) or rec.get("format") != INTEGRITY_FORMAT or "sha256" not in rec:
        raise DataError(f"prepared data {path} has no integrity record (format {INTEGRITY_FORMAT}): it was "
                        f"not written by this version's prepare_data, so nothing vouches for its content; {fix}")
    bad_types = [k for k in TENSOR_KEYS if not torch.is_tensor(obj.get(k))]
    if bad_types:
        raise DataError(f"prepared data {path}: {', '.join(bad_types)} are not tensors; {fix}")
    shapes = {k: list(obj[k].shape) for k in TENSOR_KEYS}
    if shapes != rec.get("shapes"):
        raise DataError(f"prepared data {path} is damaged: its tensors have shapes {shapes}, its integrity "
                        f"record says {rec.get('shapes')}; {fix}")
    actual = content_hash(obj)
    if actual != rec["sha256"]:
        raise DataError(f"prepared data {path} is damaged: its content hash is {actual}, but prepare_data "
                        f"recorded {rec['sha256']} (a byte changed after it was written: disk, copy or edit); "
                        f"{fix}")
    if obj.get("dataset") != rec.get("dataset"):
        raise DataError(f"prepared data {path} says dataset {obj.get('dataset')!r}, its integrity record "
                        f"{rec.get('dataset')!r}; {fix}")
    if dataset is not None and obj["dataset"] != dataset:
        raise DataError(f"prepared data {path} holds {obj['dataset']!r}, not {dataset!r} (another data set's "
                        f"file was copied over it; it came from {rec.get('raw_manifest') or 'unknown raw files'}); "
                        f"{fix}")
    return actual
