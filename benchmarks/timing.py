"""Shared timing helpers of the benchmarks: synchronised wall time, interleaved repeats
with median and range, the machine's measured matmul peak, FLOPs of a training step, and
the CPU's name. They print figures; nothing here asserts a speed."""
from __future__ import annotations

import math
import platform
import statistics
import time
from typing import Callable

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds(fn: Callable[[], object], device: torch.device) -> float:
    """Wall seconds of one call, the device synchronised before and after."""
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def interleaved(fns: dict[str, Callable[[], object]], device: torch.device, repeats: int,
                warmup: int = 1, min_time: float = 0.0) -> dict[str, list[float]]:
    """Each function ``warmup`` times, then ``repeats`` rounds in turn (A B A B ...), so
    that a slow spell of a shared machine hits every variant alike. A round of one
    function is as many consecutive calls as make at least ``min_time`` seconds (counted
    once, from one more timed call after the warm-up; at least one call), and gives the
    seconds per call: a call of 20 ms timed alone is mostly timer and scheduler noise."""
    calls: dict[str, int] = {}
    for k, fn in fns.items():
        for _ in range(warmup):
            fn()
        one = seconds(fn, device)
        calls[k] = max(1, math.ceil(min_time / one)) if min_time > 0 and one > 0 else 1
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(seconds(lambda: [fn() for _ in range(calls[k])], device) / calls[k])
    return times


def summary(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


def fmt_range(values: list[float], digits: int = 3) -> str:
    med, lo, hi = summary(values)
    return f"{med:.{digits}f} [{lo:.{digits}f}–{hi:.{digits}f}]"


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype = torch.float32, n: int = 1024,
                       repeats: int = 5) -> float:
    """The best of ``repeats`` timed n x n matmuls (2 n^3 FLOPs each), in GFLOP/s: the
    machine's reachable dense peak at this thread count, measured in the same run."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    a @ b  # warm-up
    best = min(seconds(lambda: a @ b, device) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def train_step_flops(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """FLOPs of one forward + backward pass on a batch (torch.utils.flop_counter: a
    multiply-accumulate counts 2), divided by the batch size: FLOPs per training sample."""
    from torch.utils.flop_counter import FlopCounterMode

    model.train()
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(y)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()
