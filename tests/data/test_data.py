"""Data layer: real KMNIST files through torchvision, the mirror path, synthetic data in the
published formats, preparation into tensors, and damaged files failing loudly."""
from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torchvision import datasets
from torchvision.datasets.utils import extract_archive

from dlrepro import data
from dlrepro.data import synthetic as syn
from dlrepro.data import DataError

FIXTURES = Path(__file__).resolve().parents[3] / "shared/fixtures/kmnist-t10k"
T10K = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
SMALL = {"n_train": 200, "n_test": 50, "seed": 1}


@pytest.fixture(scope="module")
def fixtures() -> Path:
    if not all((FIXTURES / f).is_file() for f in T10K):
        pytest.skip(f"real KMNIST t10k fixture not found at {FIXTURES} (see its README.md); "
                    f"the real-file tests need ../shared/fixtures/kmnist-t10k beside the repo")
    return FIXTURES


def _readme_md5s(fixtures: Path) -> dict[str, str]:
    text = (fixtures / "README.md").read_text()
    return dict(re.findall(r"\|\s*(t10k-\S+\.gz)\s*\|\s*([0-9a-f]{32})\s*\|", text))


def _kmnist_mirror(tmp: Path, fixtures: Path) -> tuple[Path, dict]:
    """A mirror holding the real KMNIST t10k files and synthetic train files."""
    mirror = tmp / "mirror"
    written = syn.write_mnist_like(mirror / "kmnist", "kmnist", n_train=200, n_test=20, seed=5)
    for f in T10K:
        shutil.copyfile(fixtures / f, mirror / "kmnist" / f)
    return mirror, {f: written[f]["md5"] for f in TRAIN}


def _resign(manifest: Path, rel: str) -> None:
    """Make the manifest agree with a damaged file (so decoding, not md5, must catch it)."""
    m = json.loads(manifest.read_text())
    for e in m["files"]:
        if e["path"] == rel:
            p = manifest.parent / rel
            e["md5"], e["size"] = data.md5sum(p), p.stat().st_size
    manifest.write_text(json.dumps(m))


# --------------------------------------------------------------------------- registry
def test_registry_uses_torchvision_classes():
    assert set(data.DATASETS) == {"fashion_mnist", "kmnist", "cifar10"}
    assert data.DATASETS["fashion_mnist"].cls is datasets.FashionMNIST
    assert data.DATASETS["kmnist"].cls is datasets.KMNIST
    assert data.DATASETS["cifar10"].cls is datasets.CIFAR10
    assert data.DATASETS["kmnist"].files == syn.MNIST_FILES
    assert data.DATASETS["cifar10"].files == (syn.CIFAR10_ARCHIVE,)
    assert set(data.DATASETS["cifar10"].extracted) == set(syn.CIFAR10_BATCHES)
    assert data.manifest_path("kmnist", "mirror", "d") == Path("d/real/kmnist.manifest.json")
    assert data.manifest_path("cifar10", "synthetic") == Path("data/synthetic/cifar10.manifest.json")


def test_load_prepared_does_not_import_torchvision():
    """Training jobs read prepared tensors only; torchvision costs seconds per job."""
    code = ("import sys\n"
            "from dlrepro.data.prepare import load_prepared\n"
            "from dlrepro.data import DataError, load_prepared as again\n"
            "assert again is load_prepared\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torchvision'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


def test_public_names_resolve():
    for name in data.__all__:
        assert getattr(data, name) is not None
    import dlrepro.data.prepare  # noqa: F401 - the submodule must not shadow the function
    assert callable(data.prepare) and callable(data.fetch) and callable(data.verify)


def test_argument_errors(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'mnist'"):
        data.fetch("mnist", "synthetic", root=tmp_path)
    with pytest.raises(DataError, match="unknown data source"):
        data.fetch("kmnist", "ftp", root=tmp_path)
    with pytest.raises(DataError, match="needs a directory"):
        data.fetch("kmnist", "mirror", root=tmp_path)
    with pytest.raises(DataError, match="not a directory"):
        data.fetch("kmnist", "mirror", root=tmp_path, mirror=tmp_path / "nope")
    with pytest.raises(DataError, match="unknown synthetic data setting"):
        data.fetch("kmnist", "synthetic", root=tmp_path, synthetic={"n_val": 3})
    with pytest.raises(DataError, match="not part of kmnist"):
        data.fetch("kmnist", "download", root=tmp_path, expected_md5={"x.gz": "0" * 32})
    with pytest.raises(DataError, match="manifest .* not found"):
        data.verify(tmp_path / "none.manifest.json")
    with pytest.raises(DataError, match="not found"):
        data.load_prepared(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(DataError, match="unreadable"):
        data.load_prepared(tmp_path / "junk.pt")


# --------------------------------------------------------------------------- real files
def test_fixture_md5s_are_torchvisions(fixtures):
    published = dict(datasets.KMNIST.resources)
    readme = _readme_md5s(fixtures)
    assert set(readme) == set(T10K)
    for f in T10K:
        assert data.md5sum(fixtures / f) == published[f] == readme[f]


def test_real_kmnist_t10k_decodes_through_torchvision(fixtures, tmp_path):
    raw = tmp_path / "KMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in T10K:
        shutil.copyfile(fixtures / f, raw / f)
        extract_archive(str(raw / f))
    # only the test split exists: the class's resource list says so, the code is torchvision's
    t10k_only = type("KMNIST", (datasets.KMNIST,), {"resources": datasets.KMNIST.resources[2:]})
    ds = t10k_only(str(tmp_path), train=False)
    assert len(ds) == 10_000
    assert ds.data.shape == (10_000, 28, 28) and ds.data.dtype == torch.uint8
    assert ds.targets.dtype == torch.int64
    assert ds.targets.bincount().tolist() == [1000] * 10  # KMNIST's test split is balanced
    assert ds.targets[:10].tolist() == [2, 9, 3, 8, 3, 3, 8, 3, 2, 5]
    assert int(ds.data.min()) == 0 and int(ds.data.max()) == 255
    assert 0.12 < float(ds.data.float().mean()) / 255 < 0.26  # ink on black, like the train split
    first = ds.data[0]
    assert 0.05 < float((first > 128).float().mean()) < 0.5  # a character, not blank or noise
    assert ds.classes == ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


# --------------------------------------------------------------------------- mirror
def test_mirror_rejects_files_that_are_not_the_published_ones(fixtures, tmp_path):
    mirror, _ = _kmnist_mirror(tmp_path, fixtures)
    root = tmp_path / "data"
    with pytest.raises(DataError) as err:
        data.fetch("kmnist", "mirror", root=root, mirror=mirror)
    msg = str(err.value)
    for f in TRAIN:  # the synthetic train files fail against torchvision's sums ...
        assert f"mirror/kmnist/{f}" in msg
        assert dict(datasets.KMNIST.resources)[f] in msg
    assert "t10k" not in msg  # ... the real test files pass
    assert "fix the mirror" in msg and "nothing was copied" in msg
    assert not (root / "real" / "KMNIST").exists()
    assert not data.manifest_path("kmnist", "mirror", root).exists()


def test_mirror_with_real_test_split(fixtures, tmp_path):
    mirror, train_md5 = _kmnist_mirror(tmp_path, fixtures)
    root = tmp_path / "data"
    # only the two (synthetic) train files get other sums; t10k is checked against torchvision
    manifest = data.fetch("kmnist", "mirror", root=root, mirror=mirror, expected_md5=train_md5)
    mpath = data.manifest_path("kmnist", "mirror", root)
    assert json.loads(mpath.read_text()) == manifest
    by_name = {e["name"]: e for e in manifest["files"]}
    readme = _readme_md5s(fixtures)
    for f in T10K:
        assert by_name[f]["expected_from"] == "torchvision" and by_name[f]["md5"] == readme[f]
        assert by_name[f]["path"] == f"KMNIST/raw/{f}"
        assert (root / "real/KMNIST/raw" / f[:-3]).is_file()  # extracted by torchvision
    for f in TRAIN:
        assert by_name[f]["expected_from"] == "override"
    assert manifest["source"] == "mirror" and manifest["mirror"] == str(mirror.resolve())
    assert manifest["synthetic"] is True  # part of it is not the published data

    out = data.prepare("kmnist", mpath, tmp_path / "kmnist.pt")
    assert out["test_x"].shape == (10_000, 1, 28, 28)
    assert out["test_y"][:10].tolist() == [2, 9, 3, 8, 3, 3, 8, 3, 2, 5]
    assert out["train_x"].shape == (200, 1, 28, 28)
    ds = data.open_torchvision(mpath, train=False)
    assert type(ds).__name__ == "KMNIST" and isinstance(ds, datasets.KMNIST)
    img, label = ds[0]
    assert img.size == (28, 28) and label == 2

    # a second fetch finds the files in place and leaves them as they are
    again = data.fetch("kmnist", "mirror", root=root, mirror=mirror, expected_md5=train_md5)
    assert again["files"] == manifest["files"]


def test_mirror_flipped_byte_in_real_file(fixtures, tmp_path):
    mirror, train_md5 = _kmnist_mirror(tmp_path, fixtures)
    damaged = mirror / "kmnist" / "t10k-labels-idx1-ubyte.gz"
    b = bytearray(damaged.read_bytes())
    b[len(b) // 2] ^= 0x01
    damaged.write_bytes(bytes(b))
    with pytest.raises(DataError) as err:
        data.fetch("kmnist", "mirror", root=tmp_path / "data", mirror=mirror, expected_md5=train_md5)
    msg = str(err.value)
    assert str(damaged) in msg
    assert "expected md5 7320c461ea6c1c855c0b718fb2a4b134" in msg
    assert f"actual md5   {data.md5sum(damaged)}" in msg
    assert "fix the mirror" in msg


def test_cifar_mirror_runs_torchvision_checks(tmp_path):
    mirror = tmp_path / "mirror"
    written = syn.write_cifar10_like(mirror, n_train=20, n_test=10, seed=2)
    root = tmp_path / "data"
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz[\s\S]*c58f30108f718f92721af3b95e74349a"):
        data.fetch("cifar10", "mirror", root=root, mirror=mirror)
    # the archive passes now, but torchvision's hard-coded batch sums reject what it holds
    with pytest.raises(DataError) as err:
        data.fetch("cifar10", "mirror", root=root, mirror=mirror,
                   expected_md5={syn.CIFAR10_ARCHIVE: written[syn.CIFAR10_ARCHIVE]["md5"]})
    assert "Dataset not found or corrupted" in str(err.value)
    assert not data.manifest_path("cifar10", "mirror", root).exists()
    sums = {n: w["md5"] for n, w in written.items() if n != "readme.html"}
    manifest = data.fetch("cifar10", "mirror", root=root, mirror=mirror, expected_md5=sums)
    assert manifest["synthetic"] is True
    assert len(data.open_torchvision(data.manifest_path("cifar10", "mirror", root), train=True)) == 20


# --------------------------------------------------------------------------- synthetic
@pytest.mark.parametrize("dataset", ["fashion_mnist", "kmnist", "cifar10"])
def test_synthetic_round_trip(dataset, tmp_path):
    manifest = data.fetch(dataset, "synthetic", root=tmp_path, synthetic=SMALL)
    mpath = tmp_path / "synthetic" / f"{dataset}.manifest.json"
    assert json.loads(mpath.read_text()) == manifest
    assert manifest["synthetic"] is True and manifest["source"] == "synthetic"
    assert manifest["synthetic_params"] == SMALL
    spec = data.DATASETS[dataset]
    names = [e["name"] for e in manifest["files"]]
    assert names == list(spec.files + spec.extracted)
    for e in manifest["files"]:
        p = mpath.parent / e["path"]
        assert data.md5sum(p) == e["md5"] and p.stat().st_size == e["size"]
    root = str(tmp_path / "synthetic")

    if spec.family == "mnist":
        assert (tmp_path / "synthetic" / spec.cls.__name__ / "raw" / "train-images-idx3-ubyte.gz").is_file()
        with gzip.open(tmp_path / "synthetic" / spec.cls.__name__ / "raw" / "t10k-labels-idx1-ubyte.gz") as fh:
            assert fh.read(8) == bytes([0, 0, 8, 1, 0, 0, 0, 50])  # IDX: ubyte, 1 dim, 50 items
        for train, n in ((True, 200), (False, 50)):
            ds = spec.cls(root, train=train)  # the plain torchvision class reads them
            assert ds.data.shape == (n, 28, 28) and ds.data.dtype == torch.uint8
            assert ds.targets.dtype == torch.int64
            assert ds.targets.bincount(minlength=10).tolist() == [n // 10] * 10
    else:
        assert (tmp_path / "synthetic" / "cifar-10-python.tar.gz").is_file()
        # torchvision's hard-coded sums refuse the synthetic batches ...
        with pytest.raises(RuntimeError, match="corrupted"):
            datasets.CIFAR10(root, train=True)
        # ... the class with the manifest's sums runs the same pickle-loading code
        for train, n in ((True, 200), (False, 50)):
            ds = data.open_torchvision(mpath, train=train)
            assert isinstance(ds, datasets.CIFAR10)
            assert ds.data.shape == (n, 32, 32, 3) and str(ds.data.dtype) == "uint8"
            assert sorted(set(ds.targets)) == list(range(10)) and len(ds.targets) == n
            assert ds.classes == syn.CIFAR10_LABEL_NAMES


def test_synthetic_is_deterministic(tmp_path):
    a = data.fetch("kmnist", "synthetic", root=tmp_path / "a", synthetic=SMALL)
    b = data.fetch("kmnist", "synthetic", root=tmp_path / "b", synthetic=SMALL)
    c = data.fetch("kmnist", "synthetic", root=tmp_path / "c", synthetic={**SMALL, "seed": 2})
    f = data.fetch("fashion_mnist", "synthetic", root=tmp_path / "a", synthetic=SMALL)
    md5 = lambda m: [e["md5"] for e in m["files"]]  # noqa: E731
    assert md5(a) == md5(b)
    assert md5(a) != md5(c)
    assert md5(a) != md5(f)


@pytest.mark.parametrize("dataset", ["kmnist", "cifar10"])
def test_prepare_output(dataset, tmp_path):
    manifest = data.fetch(dataset, "synthetic", root=tmp_path, synthetic=SMALL)
    mpath = data.manifest_path(dataset, "synthetic", tmp_path)
    out_path = tmp_path / "results" / "data" / f"{dataset}.pt"
    data.prepare(dataset, mpath, out_path)
    d = data.load_prepared(out_path, device="cpu")
    assert set(d) == set(data.PREPARED_KEYS)
    c, h, w = data.DATASETS[dataset].shape
    assert d["train_x"].shape == (200, c, h, w) and d["test_x"].shape == (50, c, h, w)
    assert d["train_x"].dtype == torch.uint8 and d["train_y"].dtype == torch.int64
    assert d["train_x"].device.type == "cpu"
    assert d["train_y"].bincount().tolist() == [20] * 10
    x = d["train_x"].double() / 255
    assert d["mean"] == pytest.approx(x.mean(dim=(0, 2, 3)).tolist(), abs=1e-9)
    assert d["std"] == pytest.approx(x.std(dim=(0, 2, 3), unbiased=False).tolist(), abs=1e-9)
    assert len(d["mean"]) == c
    assert d["synthetic"] is True and d["dataset"] == dataset and d["source"] == "synthetic"
    assert d["manifest_md5s"] == {e["path"]: e["md5"] for e in manifest["files"]}
    assert len(d["classes"]) == 10 and all(isinstance(s, str) for s in d["classes"])
    if dataset == "cifar10":  # channel order: prepared CHW equals torchvision's HWC
        ds = data.open_torchvision(mpath, train=False)
        assert torch.equal(d["test_x"][7].permute(1, 2, 0), torch.from_numpy(ds.data[7]))


def _linear_accuracy(d: dict) -> float:
    g = torch.Generator().manual_seed(0)
    prep = lambda x: ((x.double() / 255).flatten(1) - torch.tensor(d["mean"]).repeat_interleave(  # noqa: E731
        x[0, 0].numel()).double()).float()
    xtr, xte = prep(d["train_x"]), prep(d["test_x"])
    model = torch.nn.Linear(xtr.shape[1], 10)
    with torch.no_grad():
        model.weight.normal_(0, 0.01, generator=g)
        model.bias.zero_()
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-3)
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xtr), d["train_y"]).backward()
        opt.step()
    with torch.no_grad():
        return float((model(xte).argmax(1) == d["test_y"]).float().mean())


@pytest.mark.parametrize("dataset", ["fashion_mnist", "kmnist", "cifar10"])
def test_linear_model_learns_synthetic(dataset, tmp_path):
    data.fetch(dataset, "synthetic", root=tmp_path, synthetic={"n_train": 1000, "n_test": 300, "seed": 0})
    d = data.prepare(dataset, data.manifest_path(dataset, "synthetic", tmp_path), tmp_path / "d.pt")
    acc = _linear_accuracy(d)
    assert acc > 0.35, f"linear model reaches only {acc:.2f} on synthetic {dataset} (chance 0.10)"


# --------------------------------------------------------------------------- damaged files
def _synthetic(dataset: str, tmp: Path) -> Path:
    data.fetch(dataset, "synthetic", root=tmp, synthetic=SMALL)
    return data.manifest_path(dataset, "synthetic", tmp)


def test_damaged_truncated_gz(tmp_path):
    mpath = _synthetic("kmnist", tmp_path)
    gz = tmp_path / "synthetic/KMNIST/raw/train-images-idx3-ubyte.gz"
    expected = data.md5sum(gz)
    gz.write_bytes(gz.read_bytes()[:1000])
    out = tmp_path / "kmnist.pt"
    with pytest.raises(DataError) as err:
        data.prepare("kmnist", mpath, out)
    msg = str(err.value)
    assert f"checksum mismatch for {gz}" in msg
    assert f"expected md5 {expected}" in msg and f"actual md5   {data.md5sum(gz)} (1000 bytes)" in msg
    assert "delete" in msg and "re-run the fetch" in msg
    assert not out.exists()


def test_damaged_missing_file(tmp_path):
    mpath = _synthetic("cifar10", tmp_path)
    batch = tmp_path / "synthetic/cifar-10-batches-py/data_batch_3"
    batch.unlink()
    out = tmp_path / "cifar10.pt"
    with pytest.raises(DataError, match=rf"missing file {re.escape(str(batch))} \(expected md5 [0-9a-f]{{32}}"):
        data.prepare("cifar10", mpath, out)
    assert not out.exists()


def test_damaged_idx_header_wrong_size(tmp_path):
    mpath = _synthetic("fashion_mnist", tmp_path)
    rel = "FashionMNIST/raw/train-labels-idx1-ubyte"
    idx = mpath.parent / rel
    b = bytearray(idx.read_bytes())
    b[4:8] = (201).to_bytes(4, "big")  # header claims 201 labels, 200 follow
    idx.write_bytes(bytes(b))
    with pytest.raises(DataError, match=r"checksum mismatch .*train-labels-idx1-ubyte"):
        data.verify(mpath)
    _resign(mpath, rel)  # even with a manifest that agrees, decoding must refuse it
    with pytest.raises(DataError) as err:
        data.prepare("fashion_mnist", mpath, tmp_path / "f.pt")
    assert f"{idx}: IDX header says shape 201 (209 bytes with header) but the file holds 208 bytes" in str(err.value)
    assert not (tmp_path / "f.pt").exists()


def test_damaged_pickle(tmp_path):
    mpath = _synthetic("cifar10", tmp_path)
    rel = "cifar-10-batches-py/test_batch"
    batch = mpath.parent / rel
    batch.write_bytes(batch.read_bytes()[: batch.stat().st_size // 2])
    with pytest.raises(DataError, match=r"checksum mismatch .*test_batch"):
        data.verify(mpath)
    _resign(mpath, rel)
    with pytest.raises(DataError) as err:
        data.prepare("cifar10", mpath, tmp_path / "c.pt")
    msg = str(err.value)
    assert "could not decode the test split" in msg
    assert f"{batch}: not a readable pickle" in msg
    assert not (tmp_path / "c.pt").exists()


def test_damaged_tar(tmp_path):
    mirror = tmp_path / "mirror"
    written = syn.write_cifar10_like(mirror, n_train=20, n_test=10, seed=2)
    tgz = mirror / syn.CIFAR10_ARCHIVE
    tgz.write_bytes(tgz.read_bytes()[:5000])
    sums = {n: w["md5"] for n, w in written.items() if n != "readme.html"}
    root = tmp_path / "data"
    with pytest.raises(DataError) as err:  # checked against the sum it should have
        data.fetch("cifar10", "mirror", root=root, mirror=mirror, expected_md5=sums)
    assert f"checksum mismatch for {tgz}" in str(err.value)
    sums[syn.CIFAR10_ARCHIVE] = data.md5sum(tgz)  # a sum that agrees: unpacking must fail
    with pytest.raises(DataError) as err:
        data.fetch("cifar10", "mirror", root=root, mirror=mirror, expected_md5=sums)
    msg = str(err.value)
    assert f"{root / 'real' / syn.CIFAR10_ARCHIVE}: cannot be unpacked" in msg
    assert f"mirror {mirror}" in msg
    assert not data.manifest_path("cifar10", "mirror", root).exists()


def test_damaged_manifest(tmp_path):
    mpath = _synthetic("kmnist", tmp_path)
    mpath.write_text("{ not json")
    with pytest.raises(DataError, match="unreadable.*delete it and re-run the fetch"):
        data.verify(mpath)


def test_refetch_repairs_damaged_synthetic(tmp_path):
    mpath = _synthetic("kmnist", tmp_path)
    before = json.loads(mpath.read_text())
    (tmp_path / "synthetic/KMNIST/raw/t10k-images-idx3-ubyte").write_bytes(b"junk")
    with pytest.raises(DataError):
        data.verify(mpath)
    data.fetch("kmnist", "synthetic", root=tmp_path, synthetic=SMALL)
    assert data.verify(mpath)["files"] == before["files"]


# --------------------------------------------------------------------------- snakemake
@pytest.mark.slow
def test_snakemake_fetch_and_prepare(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "Snakefile").write_text(
        f'configfile: "{repo}/config.yaml"\n'
        f'include: "{repo}/rules/common.smk"\n'
        f'include: "{repo}/rules/data.smk"\n')
    snakemake = Path(sys.executable).parent / "snakemake"
    cmd = [str(snakemake), "--cores", "1", "--config", "preset=smoke", "--", "results/smoke/data/kmnist.pt"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    d = data.load_prepared(tmp_path / "results/smoke/data/kmnist.pt")
    assert d["synthetic"] is True and d["source"] == "synthetic"
    assert (tmp_path / "data/synthetic/kmnist.manifest.json").is_file()
    assert (tmp_path / "results/smoke/logs/data/fetch_kmnist.log").read_text().strip()
