"""float32 GEMMs of GAST-Net's fused CPU path through numpy's bundled OpenBLAS or oneDNN, when chosen.

Why: the fused path is GEMM-bound (``benchmarks/gast_gemm_bound.py``), and which BLAS runs
GAST-Net's GEMM shapes (thousands of rows, K = 128-512) faster depends on the CPU. On the 2-core
AMD EPYC machines this project first ran on, the OpenBLAS that numpy wheels bundle beat torch's
MKL by up to 1.28x; on a 2-core Intel Xeon (AVX-512) MKL beat OpenBLAS (OpenBLAS at 0.90x of it,
the README's ``gast_layers.py`` run); on AMD Zen 5 oneDNN (through torch) outruns both by ~2x. Which
library a CPU gets, and ``GASTBENCH_BLAS=onednn|openblas|torch`` to decide instead, is
:mod:`gastbench.cpu_gemm`'s call; this module runs GAST-Net's GEMMs through it.
``benchmarks/gast_layers.py`` times the whole model with either, side by side.

The library is found with threadpoolctl (the ecosystem's registry of loaded BLAS and OpenMP
runtimes), which also sets and restores its thread count; only the public ``cblas_sgemm`` entry
point is bound through ctypes. OpenBLAS runs a GEMM only inside a *CPU session* --
:func:`gemm_threads` (one stream: OpenBLAS gets torch's thread count, torch's own ops run on the
calling thread meanwhile) or :func:`run_streams` (one single-threaded stream per core). A session
takes a process-wide lock (sessions of several threads queue, each restoring exactly what it
found), sets torch's and OpenBLAS's thread counts, runs, and restores both; its worker threads are
shut down when it ends. oneDNN needs no session (its threads follow torch's count), and its
single-threaded streams are :func:`run_streams`'s too. Outside a session, and for anything not
float32 on the CPU without autograd, the GEMM is torch's. ``GASTBENCH_BLAS=torch`` turns the
routing off for the process, :func:`torch_blas` for a block of code. Results differ from torch's
by float rounding only (a different summation blocking); for one split and thread count they
repeat bit for bit.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from .. import cpu_gemm, fastpath
from ..fastpath import CPU_SESSION

__all__ = [
    "blas_name",
    "bundled_openblas",
    "bundled_openblas_found",
    "cpu_streams",
    "gemm",
    "gemm_sum",
    "gemm_threads",
    "openblas_available",
    "run_streams",
    "torch_blas",
]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_T = TypeVar("_T")


@dataclass(frozen=True)
class _OpenBLAS:
    path: str
    sgemm: Callable[..., None]
    threads: Any  # threadpoolctl's controller of this one library: limit() sets and restores its threads


def _bind_sgemm(path: str) -> Callable[..., None] | None:
    """The library's ``cblas_sgemm``, if it is an ILP64 build whose symbol names say so."""
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    # numpy >= 2 wheels: scipy-openblas, ``scipy_`` prefix; numpy 1.22-1.26 wheels: no prefix. Both
    # are ILP64 builds whose symbols carry the ``64_`` suffix: 64-bit integers, known for certain.
    # An unsuffixed library is left alone (its integer width cannot be told from outside).
    for prefix in ("scipy_", ""):
        sgemm = getattr(lib, f"{prefix}cblas_sgemm64_", None)
        if sgemm is None:
            continue
        i, f, p, e = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p, ctypes.c_int
        sgemm.argtypes = [e, e, e, i, i, i, f, p, i, p, i, f, p, i]
        sgemm.restype = None
        return sgemm
    return None


@functools.cache  # found once per process: every fused GEMM asks
def _find() -> _OpenBLAS | None:
    """numpy's bundled OpenBLAS, bound, if this numpy has one (whether it is used is :func:`_openblas`'s call)."""
    try:
        import numpy
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    bundled = os.path.join(os.path.dirname(os.path.dirname(numpy.__file__)), "numpy.libs")
    controller = ThreadpoolController().select(internal_api="openblas")
    for lib in controller.lib_controllers:
        if os.path.dirname(lib.filepath) != bundled:
            continue  # another package's OpenBLAS: not the one this numpy ships
        sgemm = _bind_sgemm(lib.filepath)
        if sgemm is not None:
            return _OpenBLAS(lib.filepath, sgemm, controller.select(filepath=lib.filepath))
    return None


_LOCAL = threading.local()  # per thread: whether it runs inside a session


def _openblas() -> _OpenBLAS | None:
    """The OpenBLAS this thread's fused GEMMs use now, or None (``gastbench.cpu_gemm.chosen_library``)."""
    return _find() if cpu_gemm.chosen_library() == "openblas" else None


def cpu_streams(device: torch.device) -> int:
    """How many single-threaded streams a fused CPU forward may split into: torch's thread count
    when OpenBLAS or oneDNN runs the GEMMs (1 off CPU, with torch's BLAS, or inside a stream already)."""
    if device.type != "cpu" or getattr(_LOCAL, "depth", False) or not _streams_chosen():
        return 1
    return torch.get_num_threads()


def _streams_chosen() -> bool:
    """Whether the GEMM library chosen now runs in single-threaded streams: OpenBLAS (found) or oneDNN."""
    return _openblas() is not None or cpu_gemm.onednn_chosen()


def run_streams(tasks: Sequence[Callable[[], _T]]) -> list[_T]:
    """:func:`gastbench.fastpath.run_streams` with OpenBLAS single-threaded too, and its GEMMs allowed.

    Independent single-threaded streams need no barrier between ops and keep each core's caches
    to one stream: on 2 cores they beat one stream of 2-thread GEMMs and 1-thread torch ops
    (README, ``benchmarks/gast_layers.py``). OpenBLAS's thread count is restored afterwards.
    """
    lib = _openblas()
    if len(tasks) < 2 or not _streams_chosen():
        return [task() for task in tasks]

    def allowed(task: Callable[[], _T]) -> Callable[[], _T]:
        def run() -> _T:
            before = getattr(_LOCAL, "depth", 0)  # a task may run on the caller's thread
            _LOCAL.depth = 1  # gemm() may use OpenBLAS; nested forwards do not split again
            try:
                return task()
            finally:
                _LOCAL.depth = before

        return run

    if lib is None:  # oneDNN: its threads follow torch's count, which each stream sets to one
        return fastpath.run_streams([allowed(task) for task in tasks])
    with CPU_SESSION, lib.threads.limit(limits=1):
        return fastpath.run_streams([allowed(task) for task in tasks])


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_blas() -> contextlib.AbstractContextManager[None]:
    """Within it (this thread and the streams it starts), every fused-path GEMM runs through torch: for comparisons."""
    return cpu_gemm.use_library("torch")


def bundled_openblas() -> contextlib.AbstractContextManager[None]:
    """Within it (this thread and its streams), fused-path GEMMs take numpy's OpenBLAS where there is one: for comparisons."""
    return cpu_gemm.use_library("openblas")


def bundled_openblas_found() -> bool:
    """Whether this numpy bundles an OpenBLAS the fused path can bind (used or not)."""
    return _find() is not None


def openblas_available() -> bool:
    """Whether the fused path's GEMMs go through numpy's bundled OpenBLAS."""
    return _openblas() is not None


def blas_name() -> str:
    """What runs the fused path's CPU GEMMs (for benchmark headers)."""
    lib = _openblas()
    if lib is not None:
        return f"OpenBLAS ({os.path.basename(lib.path)})"
    return "oneDNN (torch)" if cpu_gemm.onednn_chosen() else "torch"


def _operand(x: torch.Tensor) -> tuple[int, int] | None:
    """``(transpose flag, leading dimension)`` of a row-major view of ``x``, or None when BLAS cannot read it."""
    rows, cols = x.shape
    if x.stride(1) == 1 and (rows == 1 or x.stride(0) >= cols):
        return _NO_TRANS, max(x.stride(0), cols, 1)
    if x.stride(0) == 1 and (cols == 1 or x.stride(1) >= rows):
        return _TRANS, max(x.stride(1), rows, 1)
    return None


def _routable(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> bool:
    tensors = (a, b, out)
    return (
        all(t.device.type == "cpu" and t.dtype == torch.float32 and t.dim() == 2 for t in tensors)
        and not any(t.requires_grad for t in tensors)
        and out.stride(1) == 1
        and (out.shape[0] == 1 or out.stride(0) >= out.shape[1])
        and min(a.shape[0], a.shape[1], b.shape[1]) > 0
    )


@contextmanager
def gemm_threads(device: torch.device) -> Iterator[None]:
    """A one-stream CPU session: OpenBLAS's GEMMs get torch's thread count, torch's own ops
    (element-wise, ``bmm``, softmax) run on the calling thread meanwhile.

    Both pools' workers spin a while after each call, so two pools of two threads on two cores
    fight (a gast-t27 forward ran 2.4x slower than with torch alone); one pool at a time does not.
    Used where a forward is not split into streams (:func:`run_streams`). Re-entrant; restores
    both thread counts on exit. A no-op off CPU or without OpenBLAS.
    """
    lib = _openblas()
    if lib is None or device.type != "cpu" or getattr(_LOCAL, "depth", False):
        yield
        return
    with CPU_SESSION, lib.threads.limit(limits=torch.get_num_threads()), _torch_threads(1):
        _LOCAL.depth = 1
        try:
            yield
        finally:
            _LOCAL.depth = 0


def gemm_sum(
    terms: Sequence[tuple[torch.Tensor, torch.Tensor]], out: torch.Tensor, *, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """``out = sum(a @ b for a, b in terms)`` (``+ bias`` broadcast over rows); returns ``out``.

    Through oneDNN each GEMM adds the sum so far as it writes (a fused post-op) and the sum is
    copied into ``out`` once; otherwise the GEMMs accumulate into ``out`` in place (:func:`gemm`).
    """
    if not terms:
        raise ValueError("gemm_sum: no terms")
    if cpu_gemm.onednn_chosen() and all(_routable(a, b, out) for a, b in terms):
        total: torch.Tensor | None = None
        for a, b in terms:
            total = cpu_gemm.linear(a, b.t(), bias if total is None else None, residual=total)
        assert total is not None
        return out.copy_(total)
    first, *rest = terms
    gemm(*first, out, bias=bias)
    for a, b in rest:
        gemm(a, b, out, accumulate=True)
    return out


def gemm(
    a: torch.Tensor,
    b: torch.Tensor,
    out: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    accumulate: bool = False,
) -> torch.Tensor:
    """``out = a @ b`` (``+ bias`` broadcast over rows; ``+= a @ b`` with ``accumulate``); returns ``out``.

    ``out`` is written in place either way, so callers hand it scratch views (``Workspace``).
    """
    if cpu_gemm.onednn_chosen() and _routable(a, b, out):
        # oneDNN's op returns a fresh tensor: one pass more over the output than an in-place GEMM,
        # small beside what its kernels gain where it is chosen (gastbench.cpu_gemm).
        return out.copy_(cpu_gemm.linear(a, b.t(), bias, residual=out if accumulate else None))
    lib = _openblas() if getattr(_LOCAL, "depth", False) else None  # OpenBLAS only inside a CPU session
    if lib is not None and _routable(a, b, out):
        ops_a, ops_b = _operand(a), _operand(b)
        if ops_a is not None and ops_b is not None:
            if bias is not None:
                out.copy_(bias.expand_as(out))
            beta = 1.0 if (accumulate or bias is not None) else 0.0
            m, k = a.shape
            lib.sgemm(_ROW_MAJOR, ops_a[0], ops_b[0], m, b.shape[1], k, 1.0, a.data_ptr(), ops_a[1],
                      b.data_ptr(), ops_b[1], beta, out.data_ptr(), max(out.stride(0), out.shape[1], 1))  # fmt: skip
            return out
    if accumulate:
        return out.addmm_(a, b)
    if bias is not None:
        return torch.addmm(bias, a, b, out=out)
    return torch.mm(a, b, out=out)
