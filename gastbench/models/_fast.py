"""When GAST-Net takes its fused eval path, and why that path keeps no state between calls.

The fused path serves eval-mode forwards with autograd off: batch norms folded into the
weights, graph kernels softmaxed once per forward, 1x1 convs as GEMMs in a channels-last
layout. It re-derives those tensors on EVERY forward instead of caching them. A cache
keyed on parameter identity or version counters goes stale under edits it cannot see
(``p.data.mul_(...)`` bumps no version counter), while re-deriving costs one pass over
the weights (~7 M floats for gast-t27, a few milliseconds), well under 1% of a forward
over an evaluation chunk. So no weight change, by any route, can leave the path stale.

What the fused path does keep, for the length of ONE forward, is its scratch memory
(:class:`Workspace`): every chunk of a level has the same shapes, and allocating each
chunk's intermediates afresh costs a page fault per 4 KiB touched (glibc serves large
blocks with ``mmap`` and returns them on free), about a tenth of gast-t27's time on CPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["Workspace", "autocast_enabled", "use_fast_path"]


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
    """True when ``module`` may take the fused path: eval mode, no autograd recording, no autocast,
    not being traced by ``torch.compile``.

    Under autocast the plain path runs instead: the fused path accumulates GEMMs in place into
    a float32 buffer (``addmm_``), which autocast does not cast, so bf16 operands would not fit.
    Under ``torch.compile`` the compiler fuses the plain path itself; the fused path's ``out=``
    views into scratch buffers are what Inductor cannot lower (it failed on CUDA, DEVICE.md).
    """
    if module.training or torch.is_grad_enabled() or torch.compiler.is_compiling():
        return False
    return not autocast_enabled()


class Workspace:
    """Named scratch buffers reused across the chunks of one fused forward.

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
