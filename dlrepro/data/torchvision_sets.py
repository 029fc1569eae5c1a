"""torchvision's own dataset classes, with the md5 sums of a dlrepro manifest (and, offline,
a mirror list that cannot reach the network), so that torchvision's real download, md5,
extraction and decoding code runs unchanged on files dlrepro put in place."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dlrepro.data.diagnose import decode_failure
from dlrepro.data.registry import DatasetSpec, spec_of
from dlrepro.data.verification import verify

__all__ = ["OFFLINE_URL", "torchvision_class", "manifest_class", "open_torchvision"]

# The mirror list the offline classes carry: a file:// address that does not exist, so a
# download() that found a file missing or damaged fails at once instead of going online.
OFFLINE_URL = "file:///dlrepro-offline-no-network-fetch/"


def torchvision_class(spec: DatasetSpec, md5s: dict[str, str], offline: bool) -> type:
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
            attrs["mirrors"] = [OFFLINE_URL]
    else:
        attrs["train_list"] = [[name, md5s[name]] for name, _ in base.train_list]
        attrs["test_list"] = [[name, md5s[name]] for name, _ in base.test_list]
        attrs["meta"] = dict(base.meta, md5=md5s[base.meta["filename"]])
        attrs["tgz_md5"] = md5s[base.filename]
        if offline:
            attrs["url"] = OFFLINE_URL + base.filename
    return type(base.__name__, (base,), attrs)


def manifest_class(spec: DatasetSpec, manifest: dict) -> type:
    """The offline class checking the md5 sums the manifest lists."""
    return torchvision_class(spec, {e["name"]: e["md5"] for e in manifest["files"]}, offline=True)


def open_torchvision(manifest_path: str | os.PathLike, train: bool = True, **kwargs):
    """The verified dataset as a torchvision dataset object (PIL images, ``transform=``...)."""
    mpath = Path(manifest_path)
    manifest = verify(mpath)
    spec = spec_of(manifest["dataset"])
    cls = manifest_class(spec, manifest)
    try:
        return cls(str(mpath.parent), train=train, download=False, **kwargs)
    except Exception as e:  # noqa: BLE001
        raise decode_failure(spec, manifest, mpath, train, e) from e
