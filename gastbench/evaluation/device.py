"""Choosing the device (shared by evaluation and training) and keeping CUDA runs reproducible."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from ..errors import ConfigError

__all__ = ["deterministic", "device_name", "resolve_device"]


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA if available else CPU; a CUDA request without CUDA is a ConfigError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use --device cpu or auto")
    return dev


def device_name(device: torch.device) -> str:
    """How a record names the device: ``cpu`` or ``cuda (<GPU model>)``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """cuDNN autotuning picks algorithms by timing, which breaks digit-for-digit reruns."""
    if device.type != "cuda":
        yield
        return
    saved = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved
