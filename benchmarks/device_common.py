"""Shared pieces of benchmarks/device_run.py: the library names it uses, the log/JSON reporter,
precision modes, timing and the per-part time caps.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch._dynamo
from torch import nn

from gastbench.data import PoseDataset, load_dataset
from gastbench.evaluation import EvalOptions, evaluate, predict_sequences, resolve_device
from gastbench.lifter import Lifter
from gastbench.pretrained import resolve_lifter
from gastbench.training import WindowSampler, build_lifter, loss_fn, resolve_config, train, training_windows
from gastbench.training.budget import EpochBudget

__all__ = [
    "COMPILE_S", "EpochBudget", "EvalOptions", "Lifter", "NO_CUDA", "PoseDataset", "PRECISIONS", "Reporter", "TimeCap",
    "WindowSampler", "build_lifter", "environment", "evaluate", "load_dataset", "loss_fn", "overrides_for",
    "precision", "predict_sequences", "random_lifter", "resolve_config", "resolve_device",
    "sync", "timed", "train", "training_windows",
]  # fmt: skip

PRECISIONS = ("fp32", "tf32", "bf16")
#: Part of a time cap kept for one torch.compile warm-up: a compiled measurement starts only when
#: this much is left, since a first compile (tracing, autotuning) dwarfs the timed steps after it.
COMPILE_S = 60.0

# GAST-Net's graph layers share one function across layers of different widths: each width is a
# guard failure, and the default limit of 8 recompiles would leave later layers uncompiled.
for _name in ("recompile_limit", "cache_size_limit"):
    if hasattr(torch._dynamo.config, _name):
        setattr(torch._dynamo.config, _name, 64)
#: --tiny shrinks every model so that the whole script runs on a CPU in seconds.
TINY_OVERRIDES = {"gast": {"channels": 16}, "videopose3d": {"channels": 32}, "martinez": {"hidden": 32},
                  "semgcn": {"hidden": 16}}  # fmt: skip
NO_CUDA = "skipped: CUDA is not available on this machine"


class Reporter:
    """The run's log file and its per-part JSON files (rewritten after every measurement)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.log_path = out / "device_run.log"
        self.started = time.perf_counter()

    def log(self, message: str) -> None:
        line = f"[{time.perf_counter() - self.started:7.1f}s] {message}"
        print(line, flush=True)
        with open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def write(self, name: str, record: dict[str, Any]) -> Path:
        path = self.out / f"{name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2, default=_jsonable) + "\n", encoding="utf-8")
        tmp.replace(path)  # a reader (or a kill) never sees half a file
        return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def environment(device: torch.device, tiny: bool) -> dict[str, Any]:
    cuda = device.type == "cuda"
    return {
        "device": torch.cuda.get_device_name(device) if cuda else f"cpu ({platform.processor() or platform.machine()})",
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(),
        "tiny": tiny,
    }


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[float, Any]:
    sync(device)
    started = time.perf_counter()
    value = fn()
    sync(device)
    return time.perf_counter() - started, value


@contextmanager
def precision(mode: str, device: torch.device) -> Iterator[None]:
    """``fp32``: IEEE float32 (TF32 off); ``tf32``: TF32 matmuls and convolutions; ``bf16``: bf16 autocast."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    tf32 = mode == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bf16")
    try:
        with autocast:
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def overrides_for(model: str, tiny: bool) -> dict[str, Any]:
    if not tiny:
        return {}
    family = next(k for k in TINY_OVERRIDES if model.startswith(k))
    return dict(TINY_OVERRIDES[family])


def random_lifter(model: str, dataset: PoseDataset, tiny: bool, seed: int = 0) -> Lifter:
    """Random weights with BatchNorm statistics and affines drawn too (a fresh BN is the identity)."""
    lifter, _ = resolve_lifter(model, dataset=dataset.name, input=dataset.input, layout=dataset.layout_2d,
                               random_init=True, seed=seed, **overrides_for(model, tiny))  # fmt: skip
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in lifter.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
                module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=gen))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=gen))
                if module.affine:
                    module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=gen))
                    module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=gen))
    return lifter.eval()


class TimeCap:
    """A part's time cap (``None``: no cap): once spent, the remaining measurements are recorded as skipped.

    A measurement in flight when the cap runs out finishes; the cap only stops new ones from starting.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.started = time.perf_counter()

    def left(self) -> float:
        if self.seconds is None:
            return float("inf")
        return self.seconds - (time.perf_counter() - self.started)

    def over(self, key: str, record: dict[str, Any], rep: Reporter, estimate_s: float = 0.0) -> bool:
        if self.left() > estimate_s:
            return False
        reason = f"time cap of {self.seconds:.0f} s reached"
        record.setdefault("skipped", {})[key] = reason
        rep.log(f"skipped {key}: {reason}")
        return True
