"""What every benchmark here shares: alternated best-of-N timing, the FLOP count, the machine line.

Methodology (the same for every script): each side runs once untimed (warm-up: oneDNN
kernel selection, first-touch page faults, allocator growth), then the sides are timed in
alternation, ``repeats`` rounds, the order flipped every round, so that a load change on a
shared machine hits both sides alike. The best round counts; the spread is (worst - best)
/ best over the rounds. The evaluator entry point is imported here only, so that moving it
changes one line.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from gastbench import cpu_gemm
from gastbench.evaluation import predict_sequences  # noqa: F401  (re-exported: the one import site)
from gastbench.flop_count import flops_per_frame  # noqa: F401  (re-exported: every table's FLOPs)

__all__ = ["Timing", "alternate", "flops_per_frame", "machine_line", "predict_sequences"]


@dataclass(frozen=True)
class Timing:
    best_s: float
    worst_s: float
    cpu_s: float  # process CPU seconds (user + sys) of the best round

    @property
    def spread(self) -> float:
        return (self.worst_s - self.best_s) / self.best_s


def alternate(sides: dict[str, Callable[[], object]], repeats: int) -> tuple[dict[str, Timing], dict[str, object]]:
    """Warm each side up once, then time them alternately for ``repeats`` rounds; the last outputs too."""
    outputs = {name: fn() for name, fn in sides.items()}  # warm-up
    walls: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else names[::-1]:
            cpu0, start = os.times(), time.perf_counter()
            outputs[name] = sides[name]()
            wall, cpu1 = time.perf_counter() - start, os.times()
            walls[name].append(wall)
            cpus[name].append((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system))
    timings = {}
    for name in names:
        best = min(range(repeats), key=walls[name].__getitem__)
        timings[name] = Timing(walls[name][best], max(walls[name]), cpus[name][best])
    return timings, outputs


def machine_line() -> str:
    """torch, threads, CPUs and their identity, the GEMM library the folded paths use here, the load."""
    load = os.getloadavg()
    vendor, family, _ = cpu_gemm.cpu_identity()
    cpu = f"{platform.processor() or platform.machine()}" + (f", {vendor} family {family:#x}" if vendor else "")
    return (
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs ({cpu}), "
        f"GEMMs: {cpu_gemm.chosen_library()}, 1-min load average {load[0]:.2f}"
    )
