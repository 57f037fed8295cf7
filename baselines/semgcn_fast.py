"""SemGCN's folded evaluation path: one GEMM per layer over every frame of a chunk.

Per frame, a semantic graph convolution is ``diag(s) X W0 + N X W1 + b`` (``X`` the
``(J, C_in)`` joint features, ``s`` the soft-maxed self weights, ``N`` the soft-maxed
neighbour weights) and the batch norm after it is an affine map per channel. At evaluation
both are constant, so a layer folds into

- a channel GEMM ``(frames * J, C_in) @ [W0 | W1]`` (batch-norm scale folded into the
  columns, its shift and the bias into one bias), whose output holds each joint's self and
  neighbour features side by side, then
- ``out = s * self + b`` (one element-wise pass, the bias with it), and
- ``out += N @ neighbour`` per frame (a batched GEMM with ``N`` broadcast over frames).

The self weights are a diagonal: as a row scaling they cost one pass, where a ``[diag(s) | N]``
mixing GEMM spent half its multiply-adds on zeros (that version ran about 5% slower per layer).
The plain path's transposes around each batch norm, its separate ``mul``/``add``/``bmm``
passes and fresh intermediates all go: a chunk of frames runs through the whole network in
scratch buffers that stay in cache, ReLUs and residual sums in place, on one single-threaded
stream per core, each stream taking the next chunk as it frees up (:func:`~gastbench.fastpath.share_chunks`).

With non-local layers the network runs in the grouped joint order throughout (the graph
mixings are permuted to it once per forward); the input is reordered once and the output
restored once, where the plain path reorders around every non-local block. A non-local
block folds its output batch norm and the mean over pooled keys (``1 / K``) into its last
1x1 convolution.

Everything is re-derived from the parameters on every call (:mod:`gastbench.fastpath`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from gastbench.cpu_gemm import linear, onednn_chosen
from gastbench.fastpath import Workspace, bias_of, bn_affine, chunk_rows, cpu_streams, share_chunks

if TYPE_CHECKING:
    from .semgcn import GraphNonLocal, SemGCN, SemGraphConv

__all__ = ["FoldedGraphConv", "FoldedNonLocal", "FoldedResidual", "fold_semgcn", "forward_folded"]


class FoldedGraphConv(NamedTuple):
    """A :class:`SemGraphConv` (and the batch norm after it) folded for one eval forward."""

    weight: torch.Tensor  # (C_in, 2 C_out): [W0 | W1], batch-norm scale folded into both halves
    bias: torch.Tensor  # (C_out,)
    self_weight: torch.Tensor  # (J, 1): each joint's weight on its own features
    neighbour: torch.Tensor  # (J, J): the weights on the other joints' features (zero diagonal)
    relu: bool


class FoldedNonLocal(NamedTuple):
    """A :class:`GraphNonLocal` block folded for one eval forward (input in grouped joint order)."""

    proj_weight: torch.Tensor  # (C, P): values g, keys phi, the query term w_theta . theta, zero columns to P
    proj_bias: torch.Tensor  # (P,), P = 2C' + 1 rounded up to 16 (an odd GEMM width ran ~9% slower)
    key_weight: torch.Tensor  # (C',): w_phi, the keys' half of the pairwise projection
    out_weight: torch.Tensor  # (C', C): 1x1 conv, output batch norm and 1 / K folded in
    out_bias: torch.Tensor  # (C,)
    inter: int
    sub_sample: int


class FoldedResidual(NamedTuple):
    """A residual block: ``x + second(first(x))``."""

    first: FoldedGraphConv
    second: FoldedGraphConv


_Step = FoldedGraphConv | FoldedNonLocal | FoldedResidual


def fold_graph_conv(
    conv: SemGraphConv, bn: nn.BatchNorm1d | None, order: torch.Tensor | None, relu: bool
) -> FoldedGraphConv:
    """Fold one graph convolution, its batch norm (if any) and the joint order it runs in."""
    self_weight, neighbour = conv.softmax_adjacency()
    self_weight = self_weight[:, 0]
    if order is not None:
        self_weight, neighbour = self_weight[order], neighbour[order][:, order]
    w0, w1 = conv.W[0], conv.W[1]
    bias = conv.bias if conv.bias is not None else w0.new_zeros(w0.shape[1])
    if bn is not None:
        scale, shift = bn_affine(bn)
        w0, w1, bias = w0 * scale, w1 * scale, bias * scale + shift
    return FoldedGraphConv(torch.cat([w0, w1], dim=1), bias, self_weight.unsqueeze(1), neighbour, relu)


def fold_non_local(block: GraphNonLocal, joints: int) -> FoldedNonLocal:
    """Fold one non-local block for ``joints`` input joints (their pooled count is the mean's divisor)."""
    c, ci, s = block.in_channels, block.inter_channels, block.sub_sample
    g, theta, phi = block.projection("g"), block.projection("theta"), block.projection("phi")
    w_theta, w_phi = block.project_conv.weight.view(2, ci)
    proj_weight = torch.cat(
        [g.weight.view(ci, c), phi.weight.view(ci, c), (w_theta @ theta.weight.view(ci, c)).unsqueeze(0)]
    ).t()
    proj_bias = torch.cat([bias_of(g), bias_of(phi), (w_theta @ bias_of(theta)).view(1)])
    keys = joints // s if s > 1 else joints
    scale, shift = bn_affine(block.out_bn)
    out_weight = (block.out_conv.weight.view(c, ci) * (scale[:, None] / keys)).t()  # (C', C)
    out_bias = bias_of(block.out_conv) * scale + shift
    pad = -proj_bias.shape[0] % 16
    proj_weight, proj_bias = F.pad(proj_weight, (0, pad)), F.pad(proj_bias, (0, pad))
    return FoldedNonLocal(proj_weight.contiguous(), proj_bias, w_phi, out_weight, out_bias, ci, s)


def fold_semgcn(model: SemGCN) -> tuple[list[_Step], FoldedGraphConv, torch.Tensor | None]:
    """``(steps, head, grouped order)``: the whole network folded for one eval forward."""
    from .semgcn import _GraphConv, _GraphNonLocal, _ResGraphConv

    order = None
    for module in model.modules():
        if isinstance(module, _GraphNonLocal):
            order = module.grouped_order
            break

    def conv(layer: _GraphConv) -> FoldedGraphConv:
        return fold_graph_conv(layer.gconv, layer.bn, order, relu=True)

    steps: list[_Step] = []
    for module in [*model.gconv_input, *model.gconv_layers]:
        if isinstance(module, _GraphConv):
            steps.append(conv(module))
        elif isinstance(module, _ResGraphConv):
            steps.append(FoldedResidual(conv(module.gconv1), conv(module.gconv2)))
        elif isinstance(module, _GraphNonLocal):
            if order is None or not torch.equal(module.grouped_order, order):
                raise ValueError("semgcn: every non-local layer must use one joint grouping")
            steps.append(fold_non_local(module.non_local, model.input_layout.num_joints))
        else:  # a module this fold does not know: the plain path would run it, so must this one
            raise TypeError(f"semgcn fold: unexpected layer {type(module).__name__}")
    return steps, fold_graph_conv(model.gconv_output, None, order, relu=False), order


def _gemm(
    x: torch.Tensor, weight: torch.Tensor, ws: Workspace, name: str, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """``x @ weight (+ bias)``: through oneDNN where it is chosen (a fresh tensor: its op writes no
    given buffer), else torch's GEMM into scratch buffer ``name``."""
    if onednn_chosen():
        return linear(x, weight.t(), bias)
    out = ws.take(name, x.shape[0], weight.shape[1])
    return torch.mm(x, weight, out=out) if bias is None else torch.addmm(bias, x, weight, out=out)


def _graph_conv(f: FoldedGraphConv, x: torch.Tensor, out: torch.Tensor, ws: Workspace) -> torch.Tensor:
    """``x (n, J, C_in) -> out (n, J, C_out)``."""
    n, joints, c_in = x.shape
    c_out = f.bias.shape[0]
    both = _gemm(x.view(n * joints, c_in), f.weight, ws, "gconv.both").view(n, joints, 2 * c_out)
    torch.addcmul(f.bias, both[:, :, :c_out], f.self_weight, out=out)
    out.baddbmm_(f.neighbour.expand(n, joints, joints), both[:, :, c_out:])
    return out.relu_() if f.relu else out


def _non_local(f: FoldedNonLocal, x: torch.Tensor, out: torch.Tensor, ws: Workspace) -> torch.Tensor:
    """``x (n, J, C) -> out (n, J, C)`` in grouped joint order, residual included."""
    n, joints, c = x.shape
    ci, s = f.inter, f.sub_sample
    width = f.proj_bias.shape[0]
    proj = _gemm(x.view(n * joints, c), f.proj_weight, ws, "nl.proj", bias=f.proj_bias).view(n, joints, width)
    query = proj[:, :, 2 * ci]  # (n, J)
    values_keys = proj[:, :, : 2 * ci]
    if s > 1:  # max-pool each group of s consecutive joints (MaxPool1d drops a remainder)
        k = joints // s
        groups = values_keys[:, : k * s].reshape(n, k, s, 2 * ci)
        pooled = torch.maximum(groups[:, :, 0], groups[:, :, 1], out=ws.take("nl.pooled", n, k, 2 * ci))
        for member in range(2, s):  # an element-wise maximum: amax's reduction setup costs more here
            pooled = torch.maximum(pooled, groups[:, :, member], out=pooled)
        values_keys = pooled
    values, keys = values_keys[..., :ci], values_keys[..., ci:]
    pairwise = (query.unsqueeze(2) + (keys @ f.key_weight).unsqueeze(1)).relu_()  # (n, J, K)
    y = torch.bmm(pairwise, values, out=ws.take("nl.y", n, joints, ci))
    if onednn_chosen():  # the residual add fused into the GEMM
        return linear(y.view(n * joints, ci), f.out_weight.t(), f.out_bias, residual=x.view(n * joints, c)).view(
            n, joints, c
        )
    # the residual and the bias first, then the GEMM accumulates onto them: one pass fewer than a
    # bias-initialised GEMM followed by the residual sum
    torch.add(x, f.out_bias, out=out)
    out.view(n * joints, c).addmm_(y.view(n * joints, ci), f.out_weight)
    return out


def _run_chunk(steps: list[_Step], head: FoldedGraphConv, x: torch.Tensor, out: torch.Tensor, ws: Workspace) -> None:
    n, joints, _ = x.shape
    h = x
    current = "h.a"
    for step in steps:
        other = "h.b" if current == "h.a" else "h.a"
        if isinstance(step, FoldedResidual):
            width = step.first.bias.shape[0]
            mid = _graph_conv(step.first, h, ws.take("h.mid", n, joints, width), ws)
            y = _graph_conv(step.second, mid, ws.take(other, n, joints, step.second.bias.shape[0]), ws)
            h = y.add_(h)
        elif isinstance(step, FoldedNonLocal):
            h = _non_local(step, h, ws.take(other, n, joints, h.shape[2]), ws)
        else:
            h = _graph_conv(step, h, ws.take(other, n, joints, step.bias.shape[0]), ws)
        current = other
    _graph_conv(head, h, out, ws)


def forward_folded(model: SemGCN, x: torch.Tensor) -> torch.Tensor:
    """The folded eval forward ``(B, T, J, 2) -> (B, T, J, 3)`` (see the module doc)."""
    batch, frames, joints, _ = x.shape
    steps, head, order = fold_semgcn(model)
    flat = x.reshape(batch * frames, joints, 2)
    if order is not None:
        flat = flat.index_select(1, order)
    flat = flat.contiguous()
    total = flat.shape[0]
    out = flat.new_empty(total, joints, 3)
    # oneDNN's GEMMs reach their rate on taller blocks than torch's BLAS: twice the rows per chunk
    # ran 1.08-1.11x faster there (2-core Zen 5 VM), while half or twice again ran slower
    step = chunk_rows(joints, 2 * model.hidden, flat.device, budget_bytes=(2 << 20) if onednn_chosen() else (1 << 20))

    def worker() -> Callable[[int, int], None]:
        ws = Workspace(flat)
        return lambda a, b: _run_chunk(steps, head, flat[a:b], out[a:b], ws)

    share_chunks(total, step, cpu_streams(flat.device), worker)
    if order is not None:
        out = out.index_select(1, torch.argsort(order))
    return out.view(batch, frames, joints, 3)
