"""Counting a forward's floating-point operations, in-place matrix products included.

``torch.utils.flop_counter.FlopCounterMode`` charges an operator by its overload packet, and its
registry holds the out-of-place products only (``mm``, ``addmm``, ``bmm``, ``baddbmm``, the
convolutions). An in-place product (``addmm_``, ``baddbmm_``) is a packet of its own and counts as
nothing: GAST-Net's plain temporal convolution accumulates its taps with ``addmm_``, so a plain
counter charged it one tap in three (188.0 instead of 210.3 MFLOP per frame for gast-t27, which
the family benchmark then read as 11% less work than the model does). :func:`flop_counter` is
torch's counter with those products registered, charged like their out-of-place twins.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["IN_PLACE_PRODUCTS", "flop_counter"]

_aten = torch.ops.aten


def _matrix_product_flops(a_shape: Any, b_shape: Any, *args: Any, **kwargs: Any) -> int:
    """2 x the multiply-adds of ``a @ b`` (batched or not): ``(..., m, k) @ (..., k, n)``."""
    *batch, m, k = a_shape
    n = b_shape[-1]
    return 2 * m * k * n * (batch[0] if batch else 1)


def _added_product_flops(self_shape: Any, a_shape: Any, b_shape: Any, *args: Any, **kwargs: Any) -> int:
    """``addmm_``, ``baddbmm_``, ``addbmm``: the product's FLOPs (the addition is not charged, as torch does)."""
    return _matrix_product_flops(a_shape, b_shape)


#: Matrix products torch's counter does not know, charged as their out-of-place twins are
#: (the counter hands these formulas shapes, not tensors).
IN_PLACE_PRODUCTS: dict[Any, Any] = {
    _aten.addmm_: _added_product_flops,
    _aten.baddbmm_: _added_product_flops,
    _aten.addbmm: _added_product_flops,
    _aten.addbmm_: _added_product_flops,
}


def flop_counter(*, display: bool = False) -> FlopCounterMode:
    """A ``FlopCounterMode`` (2 FLOPs per multiply-add) that also charges in-place matrix products."""
    return FlopCounterMode(display=display, custom_mapping=IN_PLACE_PRODUCTS)
