"""N replicate seeds in one job (``replicates: N``) vs one seed.

For each case, one training epoch of (a) the engine's single-seed trainer, (b) N seeds
stacked through torch.func (``vmap``, the GPU path) and (c) N seeds stepped in turn (the
``loop``, the CPU path), same model, batch, data and device, side by side in one
process. Prints the time of N seeds relative to one (the issue's goal: N = 8 at most 2x
the time of one).

    python benchmarks/replicates.py                 # 5000 samples per epoch, N = 8
    python benchmarks/replicates.py --quick         # a few batches (CI: proves it runs)

On a CPU the models are compute-bound, so N seeds cost at least N times one and the
batched kernels of vmap are slower than N plain ones; the saving there is one process,
one data load and one job instead of N. On a GPU the small models leave the device
mostly idle and N seeds fill it.
Asserts nothing about speed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dlrepro.training.trainer import Trainer, pick_device, set_threads  # noqa: E402
from dlrepro.training.replicates import ReplicaTrainer, SeedLoopTrainer  # noqa: E402

CASES = [  # label, model, model_args, input (C, H), batch size, optimizer
    ("KMNIST 256-256 MLP (seed 001)", "kmnist_mlp", {"arch": "plain"}, (1, 28), 64, {"name": "adamw", "lr": 1e-3}),
    ("KMNIST both (BN + dropout)", "kmnist_mlp", {"arch": "both"}, (1, 28), 64, {"name": "adamw", "lr": 1e-3}),
    ("Fashion-MNIST MLP k5 h128 (seed 000)", "fashion_mlp", {"k": 5, "hidden": 128}, (1, 28), 1024,
     {"name": "adam", "lr": 1e-3}),
    ("CIFAR-10 CNN P1a (seed 004)", "cnn_p1a", {}, (3, 32), 1024, {"name": "sgd", "lr": 1e-2}),
]


def fake_data(n: int, channels: int, size: int, device: torch.device) -> dict:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n + 256, channels, size, size), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (n + 256,), generator=g)
    return {"train_x": x[:n].to(device), "train_y": y[:n].to(device), "test_x": x[n:].to(device),
            "test_y": y[n:].to(device), "classes": [str(i) for i in range(10)], "mean": [0.5] * channels,
            "std": [0.25] * channels}


def epoch_seconds(trainer, device: torch.device) -> float:
    trainer.train_epoch(0)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    trainer.train_epoch(1)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few batches per case (CI)")
    ap.add_argument("--samples", type=int, default=5000, help="training samples per epoch (full mode)")
    ap.add_argument("-n", "--replicates", type=int, default=8)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = ap.parse_args()
    set_threads(args.threads)
    dev = pick_device(args.device)
    n = args.replicates
    print(f"device {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}), "
          f"threads {args.threads}, precision {args.precision}, N = {n} replicates")
    rows = []
    for label, model, margs, (c, size), bs, opt in CASES:
        samples = 3 * bs if args.quick else args.samples
        data = fake_data(samples, c, size, dev)
        s = {"dataset": "bench", "model": model, "model_args": margs, "optimizer": opt, "batch_size": bs,
             "epochs": 2, "seed": 0, "precision": args.precision,
             "preprocess": {"scale": True, "normalize": "dataset"}}
        one = epoch_seconds(Trainer(s, data, dev), dev)
        vm = epoch_seconds(ReplicaTrainer({**s, "replicates": n}, data, dev), dev)
        lp = epoch_seconds(SeedLoopTrainer({**s, "replicates": n}, data, dev), dev)
        rows.append((label, bs, samples, one, vm, lp))
        print(f"  {label}: 1 seed {one:.3f} s, {n} seeds vmap {vm:.3f} s ({vm / one:.2f}x), "
              f"loop {lp:.3f} s ({lp / one:.2f}x)", flush=True)
    print()
    print(f"| case | batch | samples | 1 seed s/epoch | {n} seeds vmap | {n} seeds loop | vmap / 1 seed | "
          f"loop / 1 seed |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, bs, samples, one, vm, lp in rows:
        print(f"| {label} | {bs} | {samples} | {one:.3f} | {vm:.3f} | {lp:.3f} | {vm / one:.2f}x | {lp / one:.2f}x |")


if __name__ == "__main__":
    main()
