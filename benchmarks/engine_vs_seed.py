"""Epoch time of the write-ups' loop style vs this project's engine, side by side in each
process, repeated and interleaved; the compute floor; the speed switches of the conv nets.

(a) seed-style: a torchvision dataset object with ToTensor/Normalize transforms and a
    shuffled DataLoader, batches moved to the device one by one (what the write-ups did);
(b) engine: the same data as uint8 tensors on the device, batches sliced by randperm,
    normalised on the device (dlrepro.training.trainer.Trainer.train_epoch).
Same model, initial weights, batch size, optimizer, precision (fp32) and device for both;
the engine in its own defaults (on the CPU a conv net trains channels-last, the layout
oneDNN's convolutions are faster in; the write-ups' loop keeps PyTorch's NCHW).
Data: synthetic sets written in the real formats (IDX gzip / CIFAR pickles), so both read
the same files. Each case: one warm-up epoch of each, then ``--repeats`` rounds A B A B
...; a round is as many consecutive epochs as last ``--min-time`` seconds (an MLP epoch of
20 ms timed alone is mostly noise); the table gives the median and [min–max] of the
seconds per epoch and of the per-round ratio.

Compute floor: FLOPs per training sample (forward + backward, torch.utils.flop_counter)
times samples over the median time = achieved GFLOP/s, and its share of the machine's
dense fp32 peak measured in the same run (a matmul probe at the same thread count).

Between processes the times vary more than within one (memory placement, the host's
neighbours): ``--processes`` (default 3) runs the measurement in that many fresh processes,
one after another, and pools their rounds, so the printed range takes in the spread
between processes that a rerun meets too.

Speed switches (conv nets): the engine in fp32 NCHW against bf16 autocast, channels_last, both,
and torch.compile where it works, interleaved, each with the validation accuracy after a
short run from the same initial weights (what the switch costs in fidelity).

    python benchmarks/engine_vs_seed.py --samples 5000 --threads 2 --device cpu
    python benchmarks/engine_vs_seed.py --quick     # a few batches (CI: proves it runs)

Prints tables; asserts nothing about speed (these machines are shared and noisy).
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import cpu_flags, cpu_name, fmt_range, interleaved, matmul_peak_gflops, summary, train_step_flops  # noqa: E402

from dlrepro import data as D  # noqa: E402
from dlrepro import models  # noqa: E402
from dlrepro.training.trainer import Trainer, evaluate, pick_device, set_threads  # noqa: E402

CASES = [  # label, dataset, model, model_args, batch size, optimizer, conv net
    ("KMNIST 256-256 MLP (seed 001)", "kmnist", "kmnist_mlp", {"arch": "plain"}, 64, {"name": "adamw", "lr": 1e-3},
     False),
    ("Fashion-MNIST MLP k5 h128 (seed 000)", "fashion_mnist", "fashion_mlp", {"k": 5, "hidden": 128}, 1024,
     {"name": "adam", "lr": 1e-3}, False),
    ("CIFAR-10 CNN P1a (seed 004)", "cifar10", "cnn_p1a", {}, 1024, {"name": "sgd", "lr": 1e-2}, True),
    ("ResNet-44 (seed 003 P4)", "cifar10", "resnet_v1", {"depth": 44}, 64, {"name": "adam", "lr": 1e-3}, True),
]
SWITCHES = {  # engine variants of the conv nets against fp32 NCHW (the `fast` preset is bf16 +
    # channels_last; unset, the engine trains conv nets channels-last on the CPU)
    "bf16": {"precision": "bf16", "channels_last": False},
    "channels_last": {"channels_last": True},
    "bf16 + channels_last": {"precision": "bf16", "channels_last": True},
    "compile": {"compile": True, "channels_last": False},
}


def torch_optimizer(spec: dict, params):
    if spec["name"] == "sgd":
        return torch.optim.SGD(params, lr=spec["lr"])
    cls = torch.optim.AdamW if spec["name"] == "adamw" else torch.optim.Adam
    return cls(params, lr=spec["lr"])


def seed_style_epoch(model, loader, opt, device, max_batches) -> int:
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
    return n


def engine_settings(ds, model_name, margs, bs, opt_spec, samples, **switch) -> dict:
    return {"dataset": ds, "model": model_name, "model_args": margs, "optimizer": opt_spec, "batch_size": bs,
            "epochs": 1, "seed": 0, "train_subset": samples, "preprocess": {"scale": True, "normalize": "dataset"},
            **switch}


class EngineEpochs:
    """Consecutive epochs of one engine trainer (``train_epoch(e)``, e = 0, 1, ...)."""

    def __init__(self, trainer: Trainer):
        self.tr, self.epoch = trainer, 0

    def __call__(self):
        self.tr.train_epoch(self.epoch)
        self.epoch += 1


def ratio_range(a: list[float], b: list[float]) -> str:
    r = [x / y for x, y in zip(a, b)]
    med, lo, hi = summary(r)
    return f"{med:.2f}x [{lo:.2f}–{hi:.2f}]"


def compare_loops(case, prepared, manifest, dev, n, args, peak) -> dict:
    label, ds, model_name, margs, bs, opt_spec, _ = case
    tv = D.open_torchvision(manifest, train=True, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(prepared["mean"], prepared["std"])]))
    loader = DataLoader(tv, batch_size=bs, shuffle=True, num_workers=args.workers)
    max_batches = 3 if args.quick else -(-n // bs)
    torch.manual_seed(0)
    model = models.build(model_name, **margs).to(dev)
    tr = Trainer(engine_settings(ds, model_name, margs, bs, opt_spec, min(n, max_batches * bs)), prepared, dev)
    tr.model.load_state_dict(model.state_dict())   # the same initial weights
    opt = torch_optimizer(opt_spec, model.parameters())
    seen = min(n, max_batches * bs)
    times = interleaved({"seed": lambda: seed_style_epoch(model, loader, opt, dev, max_batches),
                         "engine": EngineEpochs(tr)}, dev, args.repeats, min_time=args.min_time)
    x = tr.prep(prepared["train_x"][:bs])
    flops = train_step_flops(copy.deepcopy(tr.model), x, prepared["train_y"][:bs])
    out = {"label": label, "bs": bs, "samples": seen, "seed": times["seed"], "engine": times["engine"],
           "flops": flops}
    gflops = engine_gflops(out)
    print(f"  {label}: seed-style {fmt_range(times['seed'])} s, engine {fmt_range(times['engine'])} s, "
          f"{ratio_range(times['seed'], times['engine'])}; {flops / 1e9:.3f} GFLOP/sample, engine "
          f"{gflops:.1f} GFLOP/s = {gflops / peak:.0%} of the fp32 peak", flush=True)
    return out


def engine_gflops(row: dict) -> float:
    """Training FLOPs per sample x samples per epoch over the engine's median epoch time."""
    return row["flops"] * row["samples"] / summary(row["engine"])[0] / 1e9


def short_run_accuracy(case, prepared, dev, n, switch: dict, epochs: int) -> float:
    _, ds, model_name, margs, bs, opt_spec, _ = case
    s = engine_settings(ds, model_name, margs, bs, opt_spec, n, **switch)
    s["eval_subset"] = 1000
    tr = Trainer(s, prepared, dev)
    for e in range(epochs):
        tr.train_epoch(e)
    return evaluate(tr.net, tr.splits["val"], tr.prep, tr.autocast)[1]


def compare_switches(case, prepared, dev, n, args) -> list[dict]:
    label, ds, model_name, margs, bs, opt_spec, _ = case
    samples = min(n, args.switch_samples or n)
    variants = {"fp32 (NCHW)": {"channels_last": False}}
    for name, sw in SWITCHES.items():
        if args.quick and name == "compile":
            continue  # compiling takes minutes: the full run measures it
        try:   # torch.compile needs a working C++ toolchain; say why a switch is missing
            tr = Trainer(engine_settings(ds, model_name, margs, bs, opt_spec, samples, **sw), prepared, dev)
            tr.train_epoch(0)
            variants[name] = sw
        except Exception as e:  # noqa: BLE001  (reported, not hidden)
            print(f"  {label}: {name} not available here: {type(e).__name__}: {str(e)[:160]}", flush=True)
    fns = {name: EngineEpochs(Trainer(engine_settings(ds, model_name, margs, bs, opt_spec, samples, **sw),
                                      prepared, dev)) for name, sw in variants.items()}
    times = interleaved(fns, dev, args.switch_repeats, min_time=args.min_time)
    acc = {name: short_run_accuracy(case, prepared, dev, samples, sw, args.accuracy_epochs)
           for name, sw in variants.items()}
    rows = []
    for name in variants:
        rows.append({"label": label, "name": name, "times": times[name], "base": times["fp32 (NCHW)"],
                     "acc": acc[name]})
        print(f"  {label} [{name}]: {fmt_range(times[name])} s, {ratio_range(rows[-1]['base'], times[name])} "
              f"vs fp32, val acc after {args.accuracy_epochs} epochs {acc[name]:.4f}", flush=True)
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few batches per case (CI)")
    ap.add_argument("--samples", type=int, default=5000, help="training samples per epoch")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds per case and process")
    ap.add_argument("--min-time", type=float, default=1.0,
                    help="seconds of consecutive epochs per timed round (short epochs are timed several at once)")
    ap.add_argument("--processes", type=int, default=None,
                    help="fresh processes, one after another, whose rounds are pooled (a process's own rounds "
                         "vary less than processes do); default 3, 1 with --quick")
    ap.add_argument("--switch-repeats", type=int, default=3, help="interleaved rounds of the speed switches")
    ap.add_argument("--accuracy-epochs", type=int, default=3, help="epochs of the fidelity check")
    ap.add_argument("--switch-samples", type=int, default=None, help="samples per epoch of the switch rows")
    ap.add_argument("--no-switches", action="store_true", help="skip the bf16 / channels_last / compile rows")
    ap.add_argument("--cases", nargs="+", default=None, metavar="TEXT",
                    help="only the cases whose label contains one of these (e.g. ResNet)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers of the seed-style loop")
    ap.add_argument("--rounds-out", default=None, help=argparse.SUPPRESS)  # one process's raw rounds (JSON)
    args = ap.parse_args(argv)
    if args.quick:   # bf16 without the CPU's bf16 instructions is emulated and slow: a few batches
        args.repeats, args.switch_repeats, args.accuracy_epochs, args.min_time = 2, 1, 1, 0.0
        args.switch_samples = args.switch_samples or 64
    args.processes = args.processes or (1 if args.quick else 3)
    return args


def measure(args) -> dict:
    """One process's measurements: the machine, the peak, every case's raw rounds."""
    set_threads(args.threads)
    dev = pick_device(args.device)
    n = 512 if args.quick else args.samples
    peak = matmul_peak_gflops(dev)
    peak_bf16 = matmul_peak_gflops(dev, torch.bfloat16)
    flags = cpu_flags()
    machine = torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_name()
    print(f"device {dev} ({machine}), threads {args.threads}, torch {torch.__version__}, {n} samples/epoch, "
          f"{args.repeats} interleaved rounds, DataLoader workers {args.workers}")
    bf16 = (f"; CPU bf16 instructions: {', '.join(sorted(f for f in flags if 'bf16' in f or 'amx' in f)) or 'none'}"
            if dev.type == "cpu" else "")
    print(f"measured matmul peak: fp32 {peak:.1f} GFLOP/s, bf16 {peak_bf16:.1f} GFLOP/s{bf16}", flush=True)
    rows, switch_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        manifests = {}
        for ds in dict.fromkeys(c[1] for c in CASES
                                if not args.cases or any(t.lower() in c[0].lower() for t in args.cases)):
            D.fetch(ds, "synthetic", root=tmp, synthetic={"n_train": n, "n_test": 1000, "seed": 0})
            manifests[ds] = D.manifest_path(ds, "synthetic", tmp)
            D.prepare(ds, manifests[ds], f"{tmp}/{ds}.pt")
        for case in CASES:
            if args.cases and not any(t.lower() in case[0].lower() for t in args.cases):
                continue
            if args.quick and case[2] == "resnet_v1":
                case = case[:3] + ({"depth": 20},) + case[4:]
            prepared = D.load_prepared(f"{tmp}/{case[1]}.pt", dev)
            rows.append(compare_loops(case, prepared, manifests[case[1]], dev, n, args, peak))
            if case[6] and not args.no_switches:
                switch_rows += compare_switches(case, prepared, dev, n, args)
    return {"device": f"{dev} ({machine})", "peaks": [peak], "peaks_bf16": [peak_bf16], "bf16": bf16,
            "rows": rows, "switch_rows": switch_rows}


def pooled(args) -> dict:
    """``args.processes`` fresh processes, one after another, their rounds pooled row by row."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.processes):
            out = Path(tmp) / f"{i}.json"
            argv = sys.argv[1:] + ["--processes", "1", "--rounds-out", str(out)]
            print(f"process {i + 1} of {args.processes}", flush=True)
            subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv], check=True)
            runs.append(json.loads(out.read_text()))
    res = runs[0]
    for r in runs[1:]:
        for k in ("peaks", "peaks_bf16"):
            res[k] += r[k]
        for mine, theirs in zip(res["rows"], r["rows"]):
            for k in ("seed", "engine"):
                mine[k] += theirs[k]
        for mine, theirs in zip(res["switch_rows"], r["switch_rows"]):
            mine["times"] += theirs["times"]
            mine["base"] += theirs["base"]
            mine.setdefault("accs", [mine["acc"]]).append(theirs["acc"])
    return res


def report(res: dict, args) -> None:
    peak = summary(res["peaks"])[0]
    print()
    print("| case | batch | samples | seed-style s/epoch | engine s/epoch | speed-up (seed / engine) "
          "| GFLOP/sample | engine GFLOP/s | share of fp32 peak |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in res["rows"]:
        g = engine_gflops(r)
        print(f"| {r['label']} | {r['bs']} | {r['samples']} | {fmt_range(r['seed'])} | {fmt_range(r['engine'])} "
              f"| {ratio_range(r['seed'], r['engine'])} | {r['flops'] / 1e9:.4f} | {g:.1f} | {g / peak:.0%} |")
    if res["switch_rows"]:
        print()
        print(f"| case | engine switch | s/epoch | speed-up vs fp32 | val acc after {args.accuracy_epochs} epochs |")
        print("| --- | --- | ---: | ---: | ---: |")
        for r in res["switch_rows"]:
            accs = r.get("accs", [r["acc"]])
            acc = f"{accs[0]:.4f}" if len(set(accs)) == 1 else " / ".join(f"{a:.4f}" for a in accs)
            print(f"| {r['label']} | {r['name']} | {fmt_range(r['times'])} | {ratio_range(r['base'], r['times'])} "
                  f"| {acc} |")
    procs = len(res["peaks"])
    print(f"\n{res['device']}, {args.threads} threads. Median [min–max] over {procs} process(es) x "
          f"{args.repeats} interleaved rounds (switches: x {args.switch_repeats}), each round at least "
          f"{args.min_time:g} s of epochs; fp32 matmul peak measured in each process: "
          f"{', '.join(f'{p:.1f}' for p in res['peaks'])} GFLOP/s (the share uses their median, {peak:.1f}); "
          f"bf16 {', '.join(f'{p:.1f}' for p in res['peaks_bf16'])} GFLOP/s{res['bf16']}")


def main() -> None:
    args = parse_args()
    if args.processes > 1:
        report(pooled(args), args)
        return
    res = measure(args)
    if args.rounds_out:
        Path(args.rounds_out).write_text(json.dumps(res))
    else:
        report(res, args)


if __name__ == "__main__":
    main()
