"""When GAST-Net takes its fused eval path, and why that path keeps no state between calls.

The fused path serves eval-mode forwards with autograd off: batch norms folded into the
weights, graph kernels softmaxed once per forward, 1x1 convs as GEMMs in a channels-last
layout. It re-derives those tensors on EVERY forward instead of caching them. A cache
keyed on parameter identity or version counters goes stale under edits it cannot see
(``p.data.mul_(...)`` bumps no version counter), while re-deriving costs one pass over
the weights (~7 M floats for gast-t27, a few milliseconds), well under 1% of a forward
over an evaluation chunk. So no weight change, by any route, can leave the path stale.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["autocast_enabled", "use_fast_path"]


def autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (any of cpu/cuda when None)."""
    kinds = (device_type,) if device_type else ("cpu", "cuda")
    try:
        return any(torch.is_autocast_enabled(kind) for kind in kinds)
    except TypeError:  # torch < 2.4 takes no device type
        return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


def use_fast_path(module: nn.Module) -> bool:
    """True when ``module`` may take the fused path: eval mode, no autograd recording, no autocast.

    Under autocast the plain path runs instead: the fused path accumulates GEMMs in place into
    a float32 buffer (``addmm_``), which autocast does not cast, so bf16 operands would not fit.
    """
    if module.training or torch.is_grad_enabled():
        return False
    return not autocast_enabled()
