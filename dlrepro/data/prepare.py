"""Preparing a verified dataset into compact uint8 tensors (``prepare``, rule
``prepare_data``) and reading them back (``load_prepared``, every training job).

Only torch is imported here at module level: a training job imports ``load_prepared``
and nothing else of the data layer, and torchvision alone costs about 3 s per job.
``prepare`` imports the torchvision side (registry, verification, torchvision classes)
when it runs.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from dlrepro import ioutil
from dlrepro.data.integrity import check as check_integrity
from dlrepro.data.integrity import integrity_record
from dlrepro.data.errors import DataError

if TYPE_CHECKING:
    from dlrepro.data.registry import DatasetSpec

__all__ = ["PREPARED_KEYS", "channel_stats", "prepare", "load_prepared", "save_prepared"]

PREPARED_KEYS = ("train_x", "train_y", "test_x", "test_y", "classes", "mean", "std",
                 "synthetic", "dataset", "source", "manifest_md5s", "integrity")

# One logger for the data layer: rule logs name the records "dlrepro.data".
log = logging.getLogger("dlrepro.data")


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
    training pixels in [0, 1], ``synthetic``, ``dataset``, ``source``,
    ``manifest_md5s`` ({path relative to the manifest: md5}) and its ``integrity``
    record (:mod:`dlrepro.data.integrity`); returns that dict.
    """
    # The torchvision side, imported here so that load_prepared does not need it.
    from dlrepro.data.diagnose import decode_failure, diagnose, fix_hint
    from dlrepro.data.registry import spec_of
    from dlrepro.data.torchvision_sets import manifest_class
    from dlrepro.data.verification import verify

    spec = spec_of(dataset)
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
        bad = diagnose(spec, root)  # IDX headers against file sizes: cheap, names the file
        if bad:
            raise DataError(f"damaged raw file(s) of {dataset}:\n  - " + "\n  - ".join(bad) + "\n"
                            + fix_hint(manifest["source"], manifest.get("mirror"), mpath))
    cls = manifest_class(spec, manifest)

    out: dict[str, Any] = {}
    classes = None
    for train in (True, False):
        split = "train" if train else "test"
        try:
            ds = cls(str(root), train=train, download=False)
            x, y = _tensors(spec, ds)
        except Exception as e:  # noqa: BLE001
            raise decode_failure(spec, manifest, mpath, train, e) from e
        classes = [str(c) for c in ds.classes]
        problem = None
        if tuple(x.shape[1:]) != spec.shape or x.dtype != torch.uint8:
            problem = f"images are {x.dtype} {tuple(x.shape)}, expected uint8 [N, {', '.join(map(str, spec.shape))}]"
        elif len(x) != len(y) or len(x) == 0:
            problem = f"{len(x)} images but {len(y)} labels"
        elif int(y.min()) < 0 or int(y.max()) >= len(classes):
            problem = f"labels span {int(y.min())}..{int(y.max())}, outside 0..{len(classes) - 1}"
        if problem:
            raise decode_failure(spec, manifest, mpath, train, ValueError(problem))
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
    save_prepared(out, out_path, raw_manifest=str(mpath))
    log.info("prepared %s: train %s, test %s, mean %s, std %s, synthetic=%s -> %s", dataset,
             tuple(out["train_x"].shape), tuple(out["test_x"].shape), mean, std, out["synthetic"], out_path)
    return out


def save_prepared(obj: dict, path: str | os.PathLike, raw_manifest: str | None = None) -> dict:
    """Write a prepared mapping atomically with its integrity record (content hash, dataset,
    shapes, raw files); ``obj`` gets the record too. Returns the record."""
    missing = [k for k in PREPARED_KEYS if k != "integrity" and k not in obj]
    if missing:
        raise ValueError(f"a prepared data set needs {missing}")
    obj["integrity"] = integrity_record(obj, raw_manifest)
    ioutil.torch_save(obj, path)
    return obj["integrity"]


def load_prepared(path: str | os.PathLike, device: str | torch.device = "cpu", dataset: str | None = None) -> dict:
    """Read a prepared ``.pt``, check it against its integrity record (and that it holds
    ``dataset`` where the caller names one), and put its tensors on ``device`` (images
    stay uint8). A damaged or swapped file raises DataError naming the file."""
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
    if missing == ["integrity"]:
        check_integrity(obj, path, dataset)  # raises: no record
    if missing:
        raise DataError(f"prepared data {path} lacks {missing}; delete it and re-run prepare_data")
    check_integrity(obj, path, dataset)
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in obj.items()}
