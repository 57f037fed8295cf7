"""Eval-time caching of tensors derived from parameters (softmaxed kernels, folded BN).

A derived tensor is rebuilt whenever a parameter it reads changes: the key holds each
parameter's storage address and in-place version counter, which ``load_state_dict``,
optimizer steps and ``.to()`` all bump or replace. Caching only happens when no
gradient is recorded, so training always takes the differentiable path.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

__all__ = ["CachedModule", "use_cache"]


def use_cache(module: nn.Module) -> bool:
    """True when ``module`` may serve derived tensors from its cache (eval, no autograd)."""
    return not module.training and not torch.is_grad_enabled()


class CachedModule(nn.Module):
    """Module mixin holding derived tensors keyed by the parameters they were built from."""

    def __init__(self) -> None:
        super().__init__()
        self._derived: dict[str, tuple[tuple, object]] = {}

    def cached(self, name: str, params: tuple[torch.Tensor, ...], build: Callable[[], object]) -> object:
        """``build()``, memoised under ``name`` while ``params`` are unchanged and caching is allowed."""
        if not use_cache(self):
            return build()
        key = tuple((p.data_ptr(), p._version, p.device, p.dtype) for p in params)
        hit = self._derived.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = build()
        self._derived[name] = (key, value)
        return value

    def clear_cache(self) -> None:
        self._derived.clear()

    def train(self, mode: bool = True) -> "CachedModule":
        self._derived.clear()
        return super().train(mode)
