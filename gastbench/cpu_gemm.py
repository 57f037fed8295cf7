"""Which library runs the folded evaluation paths' float32 CPU GEMMs, and a linear layer through it.

Why: a folded path is GEMM-bound, and the library that runs its GEMMs fastest depends on the
CPU. On AMD Zen 5 (CPU family 1Ah: full-width 512-bit FMA units), torch's MKL and numpy's
OpenBLAS run float32 GEMMs with their AVX2 kernels (MKL does not take its AVX-512 path on AMD),
about half of what the oneDNN that torch also bundles reaches with its AVX-512 JIT kernels: on
the 2-core Zen 5 VM this project runs on, single-threaded, 92-99 GFLOP/s (MKL), 96-114
(OpenBLAS), 200-220 (oneDNN) at the families' GEMM shapes (``benchmarks/cpu_gemm.py``, README). On
Zen 4 (512-bit ops on 256-bit units) and Intel CPUs that gap is not there, and the choices
measured there stay (MKL on Intel; numpy's OpenBLAS for GAST-Net on other CPUs, ``gastbench.models._blas``).

The choice is made from the CPU's identity, not by timing, so that one machine always gives
the same rounding (tables repeat to the digit). ``GASTBENCH_BLAS=onednn`` (or ``openblas`` /
``torch``) decides instead, read at each call; :func:`use_library` forces it for a block of code
on one thread (the folded paths' stream threads take their starter's).

:func:`linear` is ``F.linear`` with an optional fused activation and residual add (oneDNN
post-ops), through oneDNN where it is chosen and the call is one it runs (float32, CPU, no
autograd), through torch otherwise. Results differ from torch's by float rounding only.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from typing import Literal

import torch
import torch.nn.functional as F

__all__ = [
    "Activation",
    "Library",
    "chosen_library",
    "cpu_identity",
    "default_library",
    "forced_library",
    "linear",
    "onednn_chosen",
    "onednn_usable",
    "use_library",
]

#: The activations :func:`linear` fuses: torch's exact (erf) GELU, ReLU, tanh.
Activation = Literal["gelu", "relu", "tanh"]
_TORCH_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,
    "relu": F.relu,
    "tanh": torch.tanh,
}
_ZEN5_FAMILY = 0x1A
_LOCAL = threading.local()  # per thread: use_library()'s choice


@functools.cache
def cpu_identity() -> tuple[str, int, frozenset[str]]:
    """``(vendor, CPU family, flags)`` from ``/proc/cpuinfo`` (``("", 0, {})`` where there is none)."""
    vendor, family, flags = "", 0, frozenset[str]()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "vendor_id" and not vendor:
                    vendor = value.strip()
                elif key == "cpu family" and not family:
                    family = int(value.strip()) if value.strip().isdigit() else 0
                elif key == "flags" and not flags:
                    flags = frozenset(value.split())
                if vendor and family and flags:
                    break
    except OSError:
        pass
    return vendor, family, flags


@functools.cache
def onednn_usable() -> bool:
    """Whether this torch has oneDNN and its fused linear op (inductor's ``mkldnn::_linear_pointwise``)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        return hasattr(torch.ops.mkldnn, "_linear_pointwise")
    except (AttributeError, RuntimeError):
        return False


Library = Literal["onednn", "openblas", "torch"]
_LIBRARIES: tuple[Library, ...] = ("onednn", "openblas", "torch")


@functools.cache
def default_library() -> Library:
    """This CPU's default (module doc): oneDNN on AMD family 1Ah or later with AVX-512 (when torch
    has it), torch's BLAS on Intel with MKL, numpy's OpenBLAS elsewhere (GAST-Net's GEMMs only)."""
    vendor, family, flags = cpu_identity()
    if vendor == "AuthenticAMD" and family >= _ZEN5_FAMILY and "avx512f" in flags and onednn_usable():
        return "onednn"
    if vendor == "GenuineIntel" and torch.backends.mkl.is_available():
        return "torch"
    return "openblas"


def chosen_library() -> Library:
    """The library the folded paths' float32 CPU GEMMs go to now, on this thread: the one forced by
    :func:`use_library`, else ``GASTBENCH_BLAS`` (read at each call), else :func:`default_library`.
    ``openblas`` applies to GAST-Net's GEMMs (``gastbench.models._blas``); :func:`linear` runs those through torch."""
    choice = getattr(_LOCAL, "forced", None) or os.environ.get("GASTBENCH_BLAS", "").lower()
    if choice == "onednn" and not onednn_usable():
        return "torch"
    return choice if choice in _LIBRARIES else default_library()


def onednn_chosen() -> bool:
    """Whether :func:`linear` runs through oneDNN now (this thread)."""
    return chosen_library() == "onednn"


def forced_library() -> Library | None:
    """What :func:`use_library` forces on this thread (None: nothing), for carrying it into stream threads."""
    return getattr(_LOCAL, "forced", None)


@contextlib.contextmanager
def use_library(library: Library | None) -> Iterator[None]:
    """Within it (this thread only), the folded paths' GEMMs go to ``library`` (None: the usual choice); for
    comparisons, and for stream threads to run as the thread that started them."""
    if library is not None and library not in _LIBRARIES:
        raise ValueError(f"use_library: {library!r} is none of {', '.join(_LIBRARIES)}")
    before = getattr(_LOCAL, "forced", None)
    _LOCAL.forced = library
    try:
        yield
    finally:
        _LOCAL.forced = before


def _routable(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    tensors = [t for t in (x, weight, bias) if t is not None]
    return (
        all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors)
        and not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))
        and x.numel() > 0
        and onednn_chosen()
    )


def linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    activation: Activation | None = None,
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """``act(x @ weight.T + bias)``, plus ``residual`` (exactly the output's shape) when given.

    An activation and a residual are not fused together (oneDNN's binary post-op takes no
    eltwise one here); asking for both is a ValueError.
    """
    if activation is not None and residual is not None:
        raise ValueError("linear: fuse an activation or a residual add, not both")
    if _routable(x, weight, bias) and (residual is None or residual.dtype == torch.float32):
        lp = torch.ops.mkldnn._linear_pointwise
        if not (weight.is_contiguous() or weight.t().is_contiguous()):
            # a weight with padded rows (a slice of a wider matrix) sends oneDNN to its reference
            # kernel, ~1000x slower; weights are small beside the activations, so copy it
            weight = weight.contiguous()
        if residual is not None:
            return lp.binary(x, residual.contiguous(), weight, bias, "add")
        if activation is None:
            return lp(x, weight, bias, "none", [], "")
        return lp(x, weight, bias, activation, [], "none" if activation == "gelu" else "")
    y = F.linear(x, weight, bias)
    if activation is not None:
        y = _TORCH_ACTIVATIONS[activation](y)
    return y if residual is None else y + residual
