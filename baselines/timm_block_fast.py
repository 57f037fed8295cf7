"""The evaluation forward of timm's transformer ``Block`` with its linear layers through :mod:`gastbench.cpu_gemm`.

PoseFormer, MixSTE and MotionBERT are stacks of timm's pre-norm ``Block`` (attention, then MLP,
each with a residual add). Their evaluation is GEMM-bound, and on CPUs where oneDNN's kernels
outrun torch's BLAS (:mod:`gastbench.cpu_gemm`) the four linear layers of a block go through
oneDNN, with the MLP's GELU and both residual adds fused into the GEMMs that precede them (one
pass less over the widest activations for each). Attention stays torch's
``scaled_dot_product_attention``, the layer norms torch's.

:func:`run_block` takes this path only where the folded paths may run
(:func:`~gastbench.fastpath.use_fast_path`: eval mode, autograd off, no autocast, not compiled)
and only for the block layout the three families build (no layer scale, query/key norms, gate or
MLP norm; exact GELU); anything else runs ``block(x)`` as it is. Both compute the same function
(tests compare them to 1e-5 m).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from gastbench.cpu_gemm import linear
from gastbench.fastpath import chunk_rows, use_fast_path

__all__ = ["run_block"]

_CHUNK_BYTES = 2 << 20


class _Parts(NamedTuple):
    """The layers of a timm ``Block`` that the fast forward reads, typed."""

    norm1: nn.LayerNorm
    qkv: nn.Linear
    heads: int
    proj: nn.Linear
    norm2: nn.LayerNorm
    fc1: nn.Linear
    fc2: nn.Linear


def _identity(module: object) -> bool:
    return module is None or isinstance(module, nn.Identity)


def _parts(block: nn.Module) -> _Parts | None:
    """``block``'s layers when it is the plain pre-norm layout :func:`_fast_forward` computes (timm 1.x
    ``Block``: no layer scale, query/key norms, gate or MLP norm; exact GELU), else None."""
    attn, mlp = getattr(block, "attn", None), getattr(block, "mlp", None)
    parts = (
        getattr(block, "norm1", None), getattr(attn, "qkv", None), getattr(attn, "num_heads", None),
        getattr(attn, "proj", None), getattr(block, "norm2", None), getattr(mlp, "fc1", None), getattr(mlp, "fc2", None),
    )  # fmt: skip
    norm1, qkv, heads, proj, norm2, fc1, fc2 = parts
    act = getattr(mlp, "act", None)
    plain = (
        isinstance(norm1, nn.LayerNorm)
        and isinstance(norm2, nn.LayerNorm)
        and all(isinstance(layer, nn.Linear) for layer in (qkv, proj, fc1, fc2))
        and isinstance(heads, int)
        and all(_identity(getattr(block, name, None)) for name in ("ls1", "ls2"))
        and all(_identity(getattr(attn, name, None)) for name in ("q_norm", "k_norm", "norm", "gate"))
        and _identity(getattr(mlp, "norm", None))
        and isinstance(act, nn.GELU)
        and act.approximate == "none"
    )
    return _Parts(*parts) if plain else None  # type: ignore[arg-type]


def _fast_forward(p: _Parts, x: torch.Tensor) -> torch.Tensor:
    batch, tokens, _ = x.shape
    qkv = linear(p.norm1(x), p.qkv.weight, p.qkv.bias)
    q, k, v = qkv.view(batch, tokens, 3, p.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
    mixed = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, tokens, -1)
    x = linear(mixed, p.proj.weight, p.proj.bias, residual=x)
    hidden = linear(p.norm2(x), p.fc1.weight, p.fc1.bias, activation="gelu")
    return linear(hidden, p.fc2.weight, p.fc2.bias, residual=x)


def run_block(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``block(x)`` for a timm ``Block`` on ``(B, N, C)`` tokens, through the fast forward where it applies (module doc).

    The fast forward takes the ``B`` sequences a few at a time (about ``_CHUNK_BYTES`` of MLP
    activations per chunk): every intermediate of a chunk then stays in the core's cache, where
    whole-batch intermediates (34 MB for MotionBERT-Lite's MLP over a 243-frame clip and its
    mirror) go to memory and back; on the 2-core Zen 5 VM the MLP ran 1.35x faster so.
    """
    parts = _parts(block) if use_fast_path(block) else None
    if parts is None:
        return block(x)
    sequences, tokens, _ = x.shape
    step = chunk_rows(tokens, parts.fc1.out_features, x.device, budget_bytes=_CHUNK_BYTES)
    if step >= sequences:
        return _fast_forward(parts, x)
    out = torch.empty_like(x)
    for a in range(0, sequences, step):
        out[a : a + step] = _fast_forward(parts, x[a : a + step])
    return out
