"""Epoch time of the seed-style loop vs this project's engine, side by side in one process.

(a) seed-style: a torchvision dataset object with ToTensor/Normalize transforms and a
    shuffled DataLoader, batches moved to the device one by one (what the write-ups did);
(b) engine: the same data as uint8 tensors on the device, batches sliced by randperm,
    normalised on the device (dlrepro.training.trainer.Trainer.train_epoch).
Same model, batch size, optimizer, precision (fp32) and device for both. Data: synthetic
sets written in the real formats (IDX gzip / CIFAR pickles), so both read the same files.

    python benchmarks/engine_vs_seed.py            # full: a whole epoch of 10k samples each
    python benchmarks/engine_vs_seed.py --quick    # a few batches (CI: proves it runs)

Prints a table; asserts nothing about speed (these machines are shared and noisy).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dlrepro import data as D  # noqa: E402
from dlrepro import models  # noqa: E402
from dlrepro.training.trainer import Trainer, pick_device, set_threads  # noqa: E402

CASES = [  # label, dataset, model, model_args, batch size, optimizer
    ("KMNIST 256-256 MLP (seed 001)", "kmnist", "kmnist_mlp", {"arch": "plain"}, 64, {"name": "adamw", "lr": 1e-3}),
    ("Fashion-MNIST MLP k5 h128 (seed 000)", "fashion_mnist", "fashion_mlp", {"k": 5, "hidden": 128}, 1024,
     {"name": "adam", "lr": 1e-3}),
    ("CIFAR-10 CNN P1a (seed 004)", "cifar10", "cnn_p1a", {}, 1024, {"name": "sgd", "lr": 1e-2}),
    ("ResNet-44 (seed 003 P4)", "cifar10", "resnet_v1", {"depth": 44}, 64, {"name": "adam", "lr": 1e-3}),
]


def seed_style_epoch(model, loader, opt, device, max_batches):
    model.train()
    n = 0
    for i, (x, y) in enumerate(loader):
        if i >= max_batches:
            break
        x, y = x.to(device), y.to(device)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        n += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few batches per case (CI)")
    ap.add_argument("--samples", type=int, default=10000, help="training samples per epoch (full mode)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers of the seed-style loop")
    args = ap.parse_args()
    set_threads(args.threads)
    dev = pick_device(args.device)
    n = 512 if args.quick else args.samples
    print(f"device {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}), "
          f"threads {args.threads}, {n} samples/epoch, seed-style DataLoader workers {args.workers}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        manifests = {}
        for ds in {c[1] for c in CASES}:
            D.fetch(ds, "synthetic", root=tmp, synthetic={"n_train": n, "n_test": 100, "seed": 0})
            manifests[ds] = D.manifest_path(ds, "synthetic", tmp)
            D.prepare(ds, manifests[ds], f"{tmp}/{ds}.pt")
        for label, ds, model_name, margs, bs, opt_spec in CASES:
            if args.quick and model_name == "resnet_v1":
                margs = {"depth": 20}
            max_batches = 3 if args.quick else 10**9
            prepared = D.load_prepared(f"{tmp}/{ds}.pt", dev)
            mean, std = prepared["mean"], prepared["std"]
            tv = D.open_torchvision(manifests[ds], train=True,
                                    transform=transforms.Compose([transforms.ToTensor(),
                                                                  transforms.Normalize(mean, std)]))
            loader = DataLoader(tv, batch_size=bs, shuffle=True, num_workers=args.workers)
            torch.manual_seed(0)
            model = models.build(model_name, **margs).to(dev)
            opt = torch.optim.SGD(model.parameters(), lr=1e-3) if opt_spec["name"] == "sgd" else \
                torch.optim.Adam(model.parameters(), lr=1e-3)
            seed_style_epoch(model, loader, opt, dev, 1)  # warm-up
            t0 = time.perf_counter()
            seen_a = seed_style_epoch(model, loader, opt, dev, max_batches)
            ta = time.perf_counter() - t0
            s = {"dataset": ds, "model": model_name, "model_args": margs, "optimizer": opt_spec,
                 "batch_size": bs, "epochs": 1, "seed": 0, "train_subset": seen_a,
                 "preprocess": {"scale": True, "normalize": "dataset"}}
            tr = Trainer(s, prepared, dev)
            tr.train_epoch(0)  # warm-up
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            tr.train_epoch(1)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            tb = time.perf_counter() - t0
            rows.append((label, bs, seen_a, ta, tb))
            print(f"  {label}: seed-style {ta:.3f} s, engine {tb:.3f} s, x{ta / tb:.2f}", flush=True)
    print()
    print(f"| case | batch | samples | seed-style s/epoch | engine s/epoch | speed-up |")
    print(f"| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, bs, seen, ta, tb in rows:
        print(f"| {label} | {bs} | {seen} | {ta:.3f} | {tb:.3f} | {ta / tb:.2f}x |")


if __name__ == "__main__":
    main()
