"""Issue 17: a prepared tensor file carries an integrity record (written by prepare_data,
checked on every load): a flipped byte in the tensor data, another dataset's file copied
over it, or a file without a record is refused with a message naming the file."""
import shutil
import struct
import zipfile

import pytest
import torch

from dlrepro import data
from dlrepro.data import DataError

SMALL = {"n_train": 200, "n_test": 50, "seed": 0}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """kmnist.pt and fashion_mnist.pt prepared by prepare() from synthetic raw files."""
    root = tmp_path_factory.mktemp("prep")
    out = {}
    for ds in ("kmnist", "fashion_mnist"):
        data.fetch(ds, "synthetic", root=root, synthetic=SMALL)
        out[ds] = root / "results" / "data" / f"{ds}.pt"
        data.prepare(ds, data.manifest_path(ds, "synthetic", root), out[ds])
    return out


def tensor_data_offset(path, min_size=10_000) -> tuple[int, int]:
    """(offset, size) in the file of the largest stored tensor (torch.save writes an
    uncompressed zip: the storage's bytes lie in the file as they are)."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    assert info.compress_type == zipfile.ZIP_STORED and info.file_size >= min_size
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        header = fh.read(30)
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len, info.file_size


def test_prepare_writes_the_record(prepared):
    d = data.load_prepared(prepared["kmnist"], dataset="kmnist")
    rec = d["integrity"]
    assert rec["dataset"] == "kmnist" and len(rec["sha256"]) == 64
    assert rec["shapes"] == {"train_x": [200, 1, 28, 28], "train_y": [200], "test_x": [50, 1, 28, 28], "test_y": [50]}
    assert rec["raw_manifest"].endswith("kmnist.manifest.json")
    assert rec["raw_files"] == d["manifest_md5s"] and any(p.endswith("-ubyte.gz") for p in rec["raw_files"])


def test_a_flipped_byte_in_the_tensor_data_is_refused(prepared, tmp_path):
    bad = tmp_path / "kmnist.pt"
    shutil.copy(prepared["kmnist"], bad)
    offset, size = tensor_data_offset(bad)
    raw = bytearray(bad.read_bytes())
    raw[offset + size // 2] ^= 0x01
    bad.write_bytes(bytes(raw))
    torch.load(bad, weights_only=True)  # torch itself notices nothing: this is what trained silently
    with pytest.raises(DataError) as exc:
        data.load_prepared(bad, dataset="kmnist")
    msg = str(exc.value)
    assert str(bad) in msg and "damaged" in msg and "content hash" in msg and "re-run prepare_data" in msg


def test_another_datasets_file_copied_over_is_refused(prepared, tmp_path):
    swapped = tmp_path / "kmnist.pt"
    shutil.copy(prepared["fashion_mnist"], swapped)
    data.load_prepared(swapped)  # intact in itself
    with pytest.raises(DataError) as exc:
        data.load_prepared(swapped, dataset="kmnist")
    msg = str(exc.value)
    assert str(swapped) in msg and "holds 'fashion_mnist', not 'kmnist'" in msg


def test_a_file_without_a_record_is_refused(prepared, tmp_path):
    obj = torch.load(prepared["kmnist"], weights_only=True)
    del obj["integrity"]
    old = tmp_path / "kmnist.pt"
    torch.save(obj, old)
    with pytest.raises(DataError, match=r"kmnist.pt has no integrity record"):
        data.load_prepared(old, dataset="kmnist")


def test_a_tampered_record_is_refused(prepared, tmp_path):
    obj = torch.load(prepared["kmnist"], weights_only=True)
    obj["train_y"] = obj["train_y"].flip(0)   # same shapes, other labels, record kept
    labels = tmp_path / "kmnist.pt"
    torch.save(obj, labels)
    with pytest.raises(DataError, match="content hash"):
        data.load_prepared(labels, dataset="kmnist")
    obj = torch.load(prepared["kmnist"], weights_only=True)
    obj["train_x"] = obj["train_x"][:100]
    short = tmp_path / "short.pt"
    torch.save(obj, short)
    with pytest.raises(DataError, match=r"short.pt is damaged: its tensors have shapes"):
        data.load_prepared(short)


def test_training_refuses_damaged_data_before_any_epoch(prepared, tmp_path):
    from dlrepro.training.run import train_run

    settings = {"dataset": "kmnist", "model": "kmnist_mlp", "optimizer": {"name": "sgd", "lr": 0.01},
                "batch_size": 32, "epochs": 1, "seed": 0}
    swapped = tmp_path / "kmnist.pt"
    shutil.copy(prepared["fashion_mnist"], swapped)
    out = tmp_path / "run"
    with pytest.raises(DataError, match="holds 'fashion_mnist', not 'kmnist'"):
        train_run(settings, str(swapped), str(out / "m.csv"), str(out / "f.json"), str(out / "w.pt"),
                  str(tmp_path / "ckpt"), log=lambda m: None)
    assert not out.exists() and not (tmp_path / "ckpt").exists()
