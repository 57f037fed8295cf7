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

The helpers themselves live in :mod:`gastbench.fastpath`, shared with the baselines' folded paths.
"""

from __future__ import annotations

from ..fastpath import Workspace, autocast_enabled, use_fast_path

__all__ = ["Workspace", "autocast_enabled", "use_fast_path"]
