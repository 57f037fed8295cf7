"""Counting a forward's floating-point operations, and what one output frame of a lifter costs.

``torch.utils.flop_counter.FlopCounterMode`` charges an operator by its overload packet, and its
registry holds the out-of-place products only (``mm``, ``addmm``, ``bmm``, ``baddbmm``, the
convolutions) and the accelerators' fused attention kernels. Two kinds of work it charged nothing:

- in-place products (``addmm_``, ``baddbmm_``) are packets of their own: GAST-Net's plain temporal
  convolution accumulates its taps with ``addmm_``, so a plain counter charged it one tap in three
  (188.0 instead of 210.3 MFLOP per frame for gast-t27);
- the CPU's fused attention (``_scaled_dot_product_flash_attention_for_cpu`` and its backward), which
  every timm attention block runs here: the benchmarks used to switch timm's kernel off to count the
  same products as matmuls, and the site, which did not, charged PoseFormer's attention nothing.

:func:`flop_counter` is torch's counter with those registered, each charged like the products it
computes. :func:`flops_per_frame` is the one per-frame figure every table, benchmark and page quotes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch.utils.flop_counter import FlopCounterMode

if TYPE_CHECKING:
    from .lifter import Lifter

__all__ = ["EXTRA_FORMULAS", "FLOP_FRAMES", "flop_counter", "flops_per_frame"]

_aten = torch.ops.aten

#: Output-frame counts of the two forwards whose FLOP difference is the cost of one more frame.
FLOP_FRAMES = (1, 2)


def _matrix_product_flops(a_shape: Any, b_shape: Any, *args: Any, **kwargs: Any) -> int:
    """2 x the multiply-adds of ``a @ b`` (batched or not): ``(..., m, k) @ (..., k, n)``."""
    *batch, m, k = a_shape
    n = b_shape[-1]
    return 2 * m * k * n * (batch[0] if batch else 1)


def _added_product_flops(self_shape: Any, a_shape: Any, b_shape: Any, *args: Any, **kwargs: Any) -> int:
    """``addmm_``, ``baddbmm_``, ``addbmm``: the product's FLOPs (the addition is not charged, as torch does)."""
    return _matrix_product_flops(a_shape, b_shape)


def _attention_flops(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, **kwargs: Any) -> int:
    """``softmax(q k^T) v`` over ``(B, H, L, E)`` heads: its two products (softmax and scaling not charged)."""
    *batch, queries, width = query_shape
    keys, value_width = key_shape[-2], value_shape[-1]
    batched = 1
    for size in batch:
        batched *= size
    return 2 * batched * queries * keys * (width + value_width)


def _attention_backward_flops(
    grad_shape: Any, query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, **kwargs: Any
) -> int:
    """The backward's four products (dP = dO v^T, dV = P^T dO, dQ = dS k, dK = dS^T q): twice the forward's,
    what autograd through the unfused matmuls computes."""
    return 2 * _attention_flops(query_shape, key_shape, value_shape)


#: Kernels torch's counter does not know, each charged as the products it computes (the counter
#: hands these formulas shapes, not tensors).
EXTRA_FORMULAS: dict[Any, Any] = {
    _aten.addmm_: _added_product_flops,
    _aten.baddbmm_: _added_product_flops,
    _aten.addbmm: _added_product_flops,
    _aten.addbmm_: _added_product_flops,
    _aten._scaled_dot_product_flash_attention_for_cpu: _attention_flops,
    _aten._scaled_dot_product_flash_attention_for_cpu_backward: _attention_backward_flops,
}


def flop_counter(*, display: bool = False) -> FlopCounterMode:
    """A ``FlopCounterMode`` (2 FLOPs per multiply-add) that also charges the kernels of :data:`EXTRA_FORMULAS`."""
    return FlopCounterMode(display=display, custom_mapping=EXTRA_FORMULAS)


def _forward_flops(lifter: Lifter, frames: int) -> int:
    device = next(lifter.parameters()).device
    x = torch.zeros(1, frames, lifter.input_layout.num_joints, 2, device=device)
    counter = flop_counter()
    # Autograd on: the folded eval paths' GEMMs (oneDNN's fused op, OpenBLAS through ctypes) are invisible
    # to torch's counter; with autograd recording every model takes its plain graph, the same function.
    with torch.enable_grad(), counter:
        lifter(x, mode="dilated")
    return int(counter.get_total_flops())


def flops_per_frame(lifter: Lifter) -> float:
    """Floating-point operations (a multiply-add = 2) one more output frame costs when a whole sequence is
    lifted without flip, counted by :func:`flop_counter` on the lifter's plain graph in eval mode.

    A window lifter is counted at two lengths ``FLOP_FRAMES`` output frames apart and charged the
    difference per frame: a single window would charge each frame the ``RF - 1`` frames of context
    every sequence pays only once (the papers' "FLOPs per frame", e.g. VideoPose3D's about twice its
    parameter count). A sequence-to-sequence lifter lifts a clip of ``clip_frames`` frames at once, so
    a frame costs one clip's forward over its frames. The lifter's training flag is restored.
    """
    was_training = lifter.training
    lifter.eval()
    try:
        if lifter.clip_frames is not None:
            return _forward_flops(lifter, lifter.clip_frames) / lifter.clip_frames
        low, high = FLOP_FRAMES
        frames = lifter.receptive_field - 1
        return (_forward_flops(lifter, frames + high) - _forward_flops(lifter, frames + low)) / (high - low)
    finally:
        lifter.train(was_training)
