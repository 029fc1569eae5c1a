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
(``download=False``) and saves compact uint8 tensors with an integrity record;
``load_prepared`` reads them back and refuses a file whose content or dataset does not
match its record.
Every failure raises :class:`DataError` with a message naming the file and the fix.

Modules (dependencies run downwards only):

``errors``            :class:`DataError` (no dependencies)
``registry``          the datasets (torchvision class, files, md5 sums, shapes), the sources,
                      where each source puts its files, ``md5sum``
``diagnose``          which raw file is damaged and how (IDX headers, CIFAR pickles, archives);
                      the ``fix:`` hints
``verification``      the manifest format and ``verify`` (files against the manifest)
``torchvision_sets``  torchvision's classes with a manifest's md5 sums; ``open_torchvision``
``fetching``          ``fetch``: download, mirror or synthetic, then the manifest
``integrity``         the prepared file's integrity record (content hash, dataset, shapes,
                      raw files), checked on every load (torch only)
``prepare``           ``prepare``, ``save_prepared`` and ``load_prepared`` (torch only at import time)
``synthetic``         the synthetic stand-ins in the published formats

The public names are re-exported here. ``DataError`` and the ``prepare`` module's names are
imported at once (they need torch only: training jobs import ``load_prepared`` and must not
pay for torchvision); the rest are imported from their modules on first use. The
package attribute ``prepare`` is the function: ``from dlrepro.data.prepare import ...``
reaches the module.
"""
import importlib

from dlrepro.data.errors import DataError
from dlrepro.data.prepare import PREPARED_KEYS, channel_stats, load_prepared, prepare, save_prepared

_LAZY_EXPORTS = {
    "registry": ["DatasetSpec", "DATASETS", "SOURCES", "SYNTHETIC_DEFAULTS", "raw_root",
                 "manifest_path", "synthetic_params", "md5sum"],
    "verification": ["MANIFEST_FORMAT", "verify"],
    "fetching": ["fetch"],
    "torchvision_sets": ["open_torchvision"],
}
_MODULE_OF = {name: mod for mod, names in _LAZY_EXPORTS.items() for name in names}

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
    "save_prepared",
]


def __getattr__(name):
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MODULE_OF))
