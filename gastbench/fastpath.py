"""When a lifter may take its folded evaluation path, and the pieces every such path shares.

A folded path serves eval-mode forwards with autograd off. What is constant at evaluation
(batch norms' running statistics, softmaxed or masked adjacencies, layer norms' affine maps)
is folded into the weights of the GEMM beside it, and all frames of a forward go through one
GEMM per layer. Training, autograd and autocast take the plain path; both compute the same
function (tests compare them to 1e-5 m).

Folded tensors are re-derived on EVERY forward, never cached between calls: a cache keyed on
parameter versions goes stale under ``p.data`` edits (they bump no version counter), while a
fold costs one pass over the weights, a small share of a forward over an evaluation chunk.
So no weight change, by any route, can leave a folded path stale.

What a folded path keeps, for the length of ONE forward, is scratch memory (:class:`Workspace`):
chunks of one forward have equal shapes, and fresh intermediates for each would cost a page
fault per 4 KiB touched once glibc serves them with ``mmap``.

GAST-Net's path (``gastbench.models``) was the first; the baselines use the same helpers.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch
from torch import nn

from . import cpu_gemm

__all__ = [
    "CPU_SESSION",
    "Workspace",
    "autocast_enabled",
    "batch_in_streams",
    "bias_of",
    "bn_affine",
    "chunk_rows",
    "cpu_streams",
    "run_streams",
    "share_chunks",
    "stream_parts",
    "typed_child",
    "use_fast_path",
    "weight_of",
]

_T = TypeVar("_T")
#: One CPU session at a time in the process (torch's and BLAS's thread counts are process-wide);
#: re-entrant, so a session may open another inside (GAST-Net's OpenBLAS streams).
CPU_SESSION = threading.RLock()
_LOCAL = threading.local()  # per thread: whether it runs inside a stream (streams never nest)


def autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (any of cpu/cuda when None)."""
    kinds = (device_type,) if device_type else ("cpu", "cuda")
    try:
        return any(_autocast_on(kind) for kind in kinds)
    except TypeError:  # torch < 2.4 takes no device type
        return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


def _autocast_on(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except RuntimeError:  # a device type autocast does not know (e.g. meta): never autocast
        return False


def use_fast_path(module: nn.Module) -> bool:
    """True when ``module`` may take its folded path: eval mode, no autograd recording, no autocast,
    not being traced by ``torch.compile``.

    Under autocast the plain path runs instead: folded paths accumulate GEMMs in place into
    float32 buffers (``out=``, ``addmm_``), which autocast does not cast, so bf16 operands would
    not fit. Under ``torch.compile`` the compiler fuses the plain path itself; ``out=`` views
    into scratch buffers are what Inductor cannot lower.
    """
    if module.training or torch.is_grad_enabled() or torch.compiler.is_compiling():
        return False
    return not autocast_enabled()


def bn_affine(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode batch norm (any ``_BatchNorm``) as ``x * scale + shift`` over its channels (running statistics)."""
    if not isinstance(bn, nn.modules.batchnorm._BatchNorm):
        raise TypeError(f"bn_affine folds a batch norm, got {type(bn).__name__}")
    var, mean = bn.running_var, bn.running_mean
    if var is None or mean is None:
        raise ValueError(f"{type(bn).__name__} keeps no running statistics: it cannot be folded")
    scale = 1.0 / torch.sqrt(var + bn.eps) if bn.weight is None else bn.weight / torch.sqrt(var + bn.eps)
    shift = -mean * scale
    return scale, shift if bn.bias is None else shift + bn.bias


def weight_of(module: nn.Module) -> torch.Tensor:
    """A layer's ``weight`` as a tensor (a container's items are typed as any module)."""
    weight = module.weight
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"{type(module).__name__} has no weight tensor")
    return weight


def bias_of(module: nn.Module) -> torch.Tensor:
    """A layer's ``bias`` as a tensor (the layers that use this are built with one)."""
    bias = module.bias
    if not isinstance(bias, torch.Tensor):
        raise TypeError(f"{type(module).__name__} was built without a bias")
    return bias


_M = TypeVar("_M", bound=nn.Module)


def typed_child(container: nn.Module, index: int, kind: type[_M]) -> _M:
    """``container[index]`` as the layer it is (a Sequential's items are typed as any module)."""
    child = container[index]  # type: ignore[index]
    if not isinstance(child, kind):
        raise TypeError(f"{type(container).__name__}[{index}] is {type(child).__name__}, not {kind.__name__}")
    return child


def chunk_rows(rows_per_item: int, widest: int, device: torch.device, budget_bytes: int = 1 << 20) -> int:
    """Items (frames, windows) per chunk so that a chunk's widest float32 intermediate
    (``rows_per_item`` rows of ``widest`` channels) stays within ``budget_bytes`` on a CPU
    (a share of one core's L2, so that the ops between two GEMMs read from cache); on other
    devices chunks only bound memory (256x the budget: launches, not caches, cost there)."""
    budget = budget_bytes if device.type == "cpu" else budget_bytes << 8
    return max(1, budget // (4 * max(1, widest) * max(1, rows_per_item)))


class Workspace:
    """Named scratch buffers reused across the chunks of one folded forward.

    Each name is one role (one intermediate of one op); a buffer grows to the largest
    shape asked of it and hands out views of its start. Two tensors alive at once must
    use different names. Contents are never read before being written: every user
    passes the view as an ``out=`` argument or overwrites it.
    """

    def __init__(self, like: torch.Tensor) -> None:
        self.dtype = like.dtype
        self.device = like.device
        self._buffers: dict[str, torch.Tensor] = {}

    def take(self, name: str, *shape: int) -> torch.Tensor:
        """A contiguous ``shape`` view of buffer ``name`` (allocated or grown when too small)."""
        numel = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.numel() < numel:
            buffer = torch.empty(numel, dtype=self.dtype, device=self.device)
            self._buffers[name] = buffer
        return buffer[:numel].view(shape)


def cpu_streams(device: torch.device) -> int:
    """How many single-threaded streams a folded CPU forward may split into: torch's thread count
    (1 off the CPU, or inside a stream already)."""
    if device.type != "cpu" or getattr(_LOCAL, "in_stream", False):
        return 1
    return torch.get_num_threads()


def run_streams(tasks: Sequence[Callable[[], _T]]) -> list[_T]:
    """Run ``tasks`` at once, one thread each, with torch single-threaded meanwhile; results in task order.

    A folded forward is a chain of GEMMs and small in-place ops over cache-sized chunks. On few
    cores, splitting every op over torch's thread pool costs a barrier per op, and a barrier
    waits for the slowest thread: on a shared machine a core lent elsewhere for a time slice
    stalls every op. Independent single-threaded streams (each its share of the chunks) need no
    barrier. torch's thread count is restored, and the stream threads shut down, before returning.
    """
    if len(tasks) < 2 or getattr(_LOCAL, "in_stream", False):
        return [task() for task in tasks]
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()  # per thread: carried over
    library = cpu_gemm.forced_library()  # likewise

    def in_stream(task: Callable[[], _T]) -> _T:
        # OpenMP's and MKL's thread counts are per thread: a fresh thread starts at the machine's
        # default (every core), whatever torch's count says, so its GEMMs and parallel ops would
        # each start a team of their own and the streams would oversubscribe the cores.
        torch.set_num_threads(1)
        _LOCAL.in_stream = True
        try:
            with torch.inference_mode(inference), torch.set_grad_enabled(grad), cpu_gemm.use_library(library):
                return task()
        finally:
            _LOCAL.in_stream = False

    with CPU_SESSION:
        before = torch.get_num_threads()
        torch.set_num_threads(1)  # fresh stream threads take this count at their first op
        try:
            with ThreadPoolExecutor(len(tasks), thread_name_prefix="gastbench-stream") as pool:
                return [f.result() for f in [pool.submit(in_stream, task) for task in tasks]]
        finally:
            torch.set_num_threads(before)


def share_chunks(total: int, step: int, streams: int, make_worker: Callable[[], Callable[[int, int], None]]) -> None:
    """Run ``range(total)`` in chunks of at most ``step`` over ``streams`` streams (:func:`run_streams`),
    each stream taking the next chunk as soon as it is free.

    The chunks are of one size, and as many as ``step`` asks for rounded up to a multiple of the
    streams (on an idle machine the streams then finish together, not one waiting on the other's
    last chunk); they depend on ``total``, ``step`` and ``streams`` only.

    ``make_worker`` is called once per stream (its scratch memory is the stream's own); the
    worker it returns computes one chunk. Chunks are shared out as the streams free up, not
    cut into one fixed share per stream: on a machine whose cores are lent elsewhere for time
    slices, a fixed share leaves the faster stream idle while the slower one finishes. Which
    stream runs a chunk changes nothing in it: every chunk is computed alone, single-threaded,
    from the same boundaries.
    """
    if step < 1:
        raise ValueError(f"share_chunks: step must be >= 1, got {step}")
    if total < 1:
        return
    streams = max(1, min(streams, -(-total // step)))
    count = streams * -(-total // (streams * step))
    step = -(-total // count)
    starts = iter(range(0, total, step))
    lock = threading.Lock()

    def stream() -> None:
        work = make_worker()
        while True:
            with lock:
                start = next(starts, None)
            if start is None:
                return
            work(start, min(start + step, total))

    run_streams([stream] * streams)


def batch_in_streams(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``forward(x)`` with the batch cut into one part per stream (:func:`run_streams`), the
    parts' outputs concatenated in order.

    For a model whose batch items are computed independently (a sequence-to-sequence model's
    clips, the evaluation's mirrored copy among them), so each item's output is what one
    forward gives it. On a CPU, torch's own two-thread GEMMs at a transformer's widths (a few
    hundred channels) scale worse than two single-threaded streams each lifting its own items:
    MotionBERT-Lite, MixSTE and MotionBERT evaluate faster this way
    (``benchmarks/family_throughput.py``). A batch of one, another device, or a forward inside
    a stream already runs as it is.
    """
    streams = min(cpu_streams(x.device), x.shape[0])
    if streams < 2:
        return forward(x)
    bounds = [round(k * x.shape[0] / streams) for k in range(streams + 1)]
    parts = run_streams([functools.partial(forward, x[a:b]) for a, b in zip(bounds, bounds[1:])])
    return torch.cat(parts)


#: A stretch of time is split off into its own stream only if it has this many times the
#: receptive field's overlap (RF-1 frames computed twice) in output frames.
_MIN_PART_OVERLAPS = 4


def stream_parts(
    batch: int, frames: int, receptive_field: int, strided: bool, streams: int
) -> list[tuple[slice, slice, slice]]:
    """``(batch slice, input time slice, output time slice)`` of each independent part of a forward.

    Sequences are split first; when there are fewer sequences than streams, each sequence's
    output frames are split too (dilated graph only), each part reading ``RF-1`` more input
    frames than it outputs, so every output frame is computed exactly as in one forward.
    """
    if streams < 2:
        return [(slice(None), slice(None), slice(None))]
    groups = min(batch, streams)
    bounds = [round(k * batch / groups) for k in range(groups + 1)]
    if strided:
        return [(slice(bounds[g], bounds[g + 1]), slice(None), slice(None)) for g in range(groups)]
    out_frames = frames - receptive_field + 1
    longest = out_frames // (_MIN_PART_OVERLAPS * max(1, receptive_field - 1))
    pieces = max(1, min(streams // groups, longest))
    cuts = [round(k * out_frames / pieces) for k in range(pieces + 1)]
    margin = receptive_field - 1
    return [
        (slice(bounds[g], bounds[g + 1]), slice(cuts[p], cuts[p + 1] + margin), slice(cuts[p], cuts[p + 1]))
        for g in range(groups)
        for p in range(pieces)
    ]
